"""Narrative golden files: the letter for each example case, as text and markdown, and as a Word file
read back with python-docx. Regenerate after an intended change with UPDATE_GOLDEN=1 and read the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import typer
from docx import Document
from typer.testing import CliRunner

from assistant.cli_narrative import register
from assistant.letter import build_letter
from assistant.letter.render import docx_lines, to_ascii
from assistant.narrative import build_narrative
from assistant.tools.dose import build_request, calculate_dose

from letter_checks import check_letter

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "evals" / "cases" / "narrative"
GOLDEN = Path(__file__).resolve().parent / "golden" / "narrative"
NAMES = sorted(p.stem for p in CASES.glob("*.json"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def load(name: str) -> dict:
    return json.loads((CASES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=NAMES)
def built(request):
    case = load(request.param)
    return request.param, case, build_letter(case)


def _golden(name: str, body: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8"), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def test_the_example_cases_are_there():
    assert NAMES == ["adjuvant-centene-medicaid-85kg", "mbc-centene-commercial-70kg", "oscar-margenza-exception"]


def test_text_and_markdown_match_their_golden_files(built):
    name, _, letter = built
    _golden(f"{name}.txt", letter.text())
    _golden(f"{name}.md", letter.markdown())
    _golden(f"{name}.staff.txt", letter.staff_text())
    _golden(f"{name}.ascii.txt", letter.text(ascii=True))


def test_docx_reads_back_as_the_text_golden(built, tmp_path):
    name, _, letter = built
    path = letter.docx(tmp_path / f"{name}.docx")
    golden = [line for line in (GOLDEN / f"{name}.txt").read_text(encoding="utf-8").splitlines() if line]
    assert docx_lines(path) == golden
    doc = Document(str(path))
    assert [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")] == [
        "Diagnosis and history", "Request", "Medical necessity", "Requested duration", "Documents enclosed",
        "References"]
    marks = [r for p in doc.paragraphs for r in p.runs if re.fullmatch(r"\[\d+\]", r.text)]
    assert marks and all(r.font.superscript for r in marks)


def test_every_example_letter_passes_the_letter_checks(built):
    _, case, letter = built
    check_letter(case, letter)


def test_expected_figures(built):
    name, case, letter = built
    text = letter.text()
    if name.startswith("mbc"):
        dose = calculate_dose(build_request(weight=70, weight_unit="kg", indication="mbc", mg_per_kg=3.6))
        assert letter.dose.dose_mg.value == dose.dose_mg.value == 252
        for s in ("3.6 mg/kg = 252 mg IV every 21 days", "J9354-JZ 252 units administered", "J9354-JW 8 units discarded",
                  "NDC 50242-0088-01", "NDC 50242-0087-01", "C50.912", "Cycles requested: 8",
                  "Site of care: hospital outpatient infusion center",
                  "6 months or to the member's renewal date, whichever is longer"):
            assert s in text, s
    elif name.startswith("adjuvant"):
        for s in ("3.6 mg/kg = 306 mg IV every 21 days", "J9354-JZ 306 units", "J9354-JW 14 units",
                  "of the 14-cycle adjuvant course", "Requested authorization period: 12 months", "C50.411"):
            assert s in text, s
    else:
        assert letter.dose is None and letter.hcpcs == "J9353" and "J9354" not in text
        assert "up to 12 months" in text and "Margenza (margetuximab-cmkb)" in text and " mg IV" not in text
        assert any("dose calculator covers Kadcyla only" in c for c in letter.checklist)


def test_no_hard_wraps_and_ascii_option(built):
    _, _, letter = built
    text = letter.text()
    assert any(len(line) > 100 for line in text.splitlines())  # a long paragraph stays one line
    ascii_text = letter.text(ascii=True)
    assert ascii_text.isascii() and letter.markdown(ascii=True).isascii()
    assert ascii_text == to_ascii(text)
    assert "≥" not in ascii_text and (">=" in ascii_text or "≥" not in text)


def test_build_narrative_is_the_letter():
    case = load("mbc-centene-commercial-70kg")
    assert build_narrative(case).text() == build_letter(case).text()


def test_ascii_spellings():
    assert to_ascii("70 kg × 3.6 mg/kg — Age ≥ 18 “quoted” café …") == '70 kg x 3.6 mg/kg - Age >= 18 "quoted" cafe ...'


# ---------------------------------------------------------------- the command


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    register(app)

    @app.callback()
    def _root() -> None:  # keeps "narrative" a sub-command
        pass

    return app


def invoke(*args: str):
    return CliRunner().invoke(_app(), ["narrative", *args])


def test_cli_text_to_stdout_staff_notes_to_stderr():
    result = invoke("--case", str(CASES / "mbc-centene-commercial-70kg.json"))
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDEN / "mbc-centene-commercial-70kg.txt").read_text(encoding="utf-8")
    assert "Open items for staff" in result.stderr and "Open items" not in result.stdout


@pytest.mark.parametrize("fmt,suffix", [("text", "txt"), ("markdown", "md")])
def test_cli_out_file(tmp_path, fmt, suffix):
    target = tmp_path / f"letter.{suffix}"
    result = invoke("--case", str(CASES / "mbc-centene-commercial-70kg.json"), "--format", fmt, "--out", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == (GOLDEN / f"mbc-centene-commercial-70kg.{suffix}").read_text("utf-8")
    assert result.stdout == ""


def test_cli_docx_and_ascii(tmp_path):
    target = tmp_path / "letter.docx"
    result = invoke("--case", str(CASES / "mbc-centene-commercial-70kg.json"), "--format", "docx", "--out", str(target),
                    "--ascii")
    assert result.exit_code == 0, result.output
    golden = (GOLDEN / "mbc-centene-commercial-70kg.txt").read_text(encoding="utf-8")
    assert docx_lines(target) == [line for line in to_ascii(golden).splitlines() if line]


def test_cli_ascii_stdout():
    result = invoke("--case", str(CASES / "adjuvant-centene-medicaid-85kg.json"), "--ascii")
    assert result.exit_code == 0 and result.stdout.isascii() and "x 2" in result.stdout


@pytest.mark.parametrize("args,words", [
    (["--format", "html"], "--format must be one of text, markdown, docx"),
    (["--format", "docx"], "give --out PATH"),
])
def test_cli_bad_options_are_one_line_exit_2(args, words):
    result = invoke("--case", str(CASES / "mbc-centene-commercial-70kg.json"), *args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0]


def test_cli_withheld_writes_nothing_and_says_why(tmp_path):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({**load("mbc-centene-commercial-70kg"), "age": 16}), encoding="utf-8")
    target = tmp_path / "letter.docx"
    result = invoke("--case", str(case), "--format", "docx", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert not target.exists()
    assert result.stdout.startswith("LETTER WITHHELD") and "Not met: Age 18 or older" in result.stdout
    assert "nothing written" in result.stderr
