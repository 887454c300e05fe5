"""`assistant eval --prices FILE` / `--corpus DIR`: the run answers from a temporary data folder holding
the imported quarter or the changed corpus's index; the installed data folder is read, never written."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from eval_fakes import ROOT, FakeAsk, invoke_eval, plain_answer, write

from assistant.corpus import get_corpus
from assistant.models import Citation
from assistant.settings import get_settings

ASP = ROOT / "tests" / "fixtures" / "asp_sample.csv"  # 2026Q3, J9354 $43.105 per 1 MG
CASES = """
category: dose
cases:
  - {id: price-q3, ask: "price in August 2026?", expect: {status: answered}}
"""


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """An installed data folder with a committed index, the encoder, sentence vectors and no imported prices."""
    data = tmp_path / "installed"
    (data / "index" / "build-1").mkdir(parents=True)
    (data / "index" / "build-1" / "chroma.sqlite3").write_bytes(b"index")
    (data / "index" / "build-old").mkdir()  # an older build, still on disk: not copied
    (data / "index" / "build-old" / "chroma.sqlite3").write_bytes(b"old index")
    (data / "index" / "CURRENT").write_text(json.dumps({"dir": "build-1", "fingerprint": "f" * 64, "chunks": 1}))
    (data / "model").mkdir()
    (data / "model" / "encoder.onnx").write_bytes(b"onnx")
    (data / "sentences").mkdir()
    (data / "sentences" / "f.npz").write_bytes(b"npz")
    (data / "audit.sqlite3").write_bytes(b"audit")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    return data


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Seen:
    """A fake ask() that notes the settings and data the run answered from."""

    def __init__(self):
        self.data_dirs: list[Path] = []
        self.corpus_dirs: list[Path] = []
        self.files: list[set[str]] = []

    def __call__(self, question: str, session: str | None = None):
        from assistant.tools.prices import price_on

        settings = get_settings()
        self.data_dirs.append(settings.data_dir)
        self.corpus_dirs.append(settings.corpus_dir)
        self.files.append(set(snapshot(settings.data_dir)))
        price = price_on("J9354", dt.date(2026, 8, 1))
        return plain_answer(f"{price.quarter}: ${price.row.payment_limit} per unit")


def test_prices_run_uses_the_imported_quarter_in_a_temporary_data_folder(tmp_path, monkeypatch, installed):
    before = snapshot(installed)
    ask = Seen()
    report = tmp_path / "out" / "r.html"
    result = invoke_eval(monkeypatch, ask, "--suite", write(tmp_path, CASES), "--report", report, "--no-baseline", "--prices", ASP)
    assert result.exit_code == 0, result.output
    (used,) = ask.data_dirs
    assert used != installed and not used.exists()  # temporary, and removed afterwards
    assert snapshot(installed) == before  # nothing written to the installed folder
    assert {"prices/2026Q3.json", "index/CURRENT", "index/build-1/chroma.sqlite3", "model/encoder.onnx", "sentences/f.npz"} <= ask.files[0]
    assert not any(f.startswith(("index/build-old", "audit")) for f in ask.files[0])
    saved = json.loads(report.with_suffix(".json").read_text())
    assert saved["cases"][0]["turns"][0]["answer"]["answer"] == "2026Q3: $43.105 per unit"
    assert saved["data"]["prices"] == f"{ASP} (2026Q3, J9354 $43.105 per 1 MG)"
    assert f"Changed prices: {ASP} (2026Q3, J9354 $43.105 per 1 MG)" in result.output
    assert "2026Q3, J9354 $43.105" in report.read_text()


def test_without_prices_the_installed_quarters_answer(tmp_path, monkeypatch, installed):
    ask = Seen()
    invoke_eval(monkeypatch, ask, "--suite", write(tmp_path, CASES), "--report", tmp_path / "r.html", "--no-baseline")
    saved = json.loads((tmp_path / "r.json").read_text())
    assert ask.data_dirs == [installed] and "2026Q3" not in saved["cases"][0]["turns"][0]["answer"]["answer"]


def test_a_changed_run_does_not_replace_the_last_report(tmp_path, monkeypatch, installed):
    monkeypatch.chdir(tmp_path)
    invoke_eval(monkeypatch, Seen(), "--suite", write(tmp_path, CASES), "--no-baseline", "--prices", ASP)
    assert (tmp_path / "artifacts" / "eval" / "changed.json").is_file()
    assert not (tmp_path / "artifacts" / "eval" / "report.json").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--prices", "nope.csv"], "Price file nope.csv not found"),
        (["--quarter", "2026Q3"], "--quarter goes with --prices FILE"),
        (["--corpus", "no-such-folder"], "manifest"),
    ],
)
def test_bad_changed_data_exits_2_and_leaves_nothing(tmp_path, monkeypatch, installed, args, says):
    before = snapshot(installed)
    result = invoke_eval(monkeypatch, Seen(), "--suite", write(tmp_path, CASES), "--report", tmp_path / "r.html", *args)
    assert result.exit_code == 2 and result.output.startswith("Error: ") and says in result.output, result.output
    assert snapshot(installed) == before and not (tmp_path / "r.html").exists()


def test_corpus_run_indexes_the_changed_documents_and_scores_against_them(tmp_path, monkeypatch, installed):
    from assistant.evals import sandbox

    changed = tmp_path / "corpus-new"
    shutil.copytree(ROOT / "corpus", changed)
    new_line = "Kadcyla vials are stored at 2°C to 8°C in the new edition."
    guide = changed / "carecost-j9354.txt"
    guide.write_text(guide.read_text(encoding="utf-8") + "\n" + new_line + "\n", encoding="utf-8")
    built = []
    monkeypatch.setattr(sandbox, "build_index", lambda say: built.append((get_settings().data_dir, get_settings().corpus_dir)))

    def ask(question, session=None):
        assert get_corpus().dir == changed.resolve()
        start = get_corpus().text("carecost-j9354").find(new_line)
        return plain_answer(new_line, citations=[Citation(marker=1, doc_id="carecost-j9354", doc_title="t", section="s",
                                                           quote=new_line, start=start, end=start + len(new_line))])  # fmt: skip

    report = tmp_path / "r.html"
    cases = CASES.replace("status: answered", "status: answered, citations: [{doc: carecost-j9354}]")
    result = invoke_eval(monkeypatch, FakeAsk({"price in August 2026?": ask}), "--suite", write(tmp_path, cases),
                         "--report", report, "--no-baseline", "--corpus", changed)  # fmt: skip
    assert result.exit_code == 0, result.output
    ((data_dir, corpus_dir),) = built
    assert corpus_dir == changed.resolve() and data_dir != installed and not data_dir.exists()
    saved = json.loads(report.with_suffix(".json").read_text())
    assert saved["overall"]["citation_validity"]["value"] == 1.0  # the new sentence is exact in the changed corpus
    assert saved["data"]["corpus"].startswith(f"{changed} (5 documents, fingerprint ")
    assert get_corpus().dir == ROOT / "corpus"  # the installed corpus again after the run
