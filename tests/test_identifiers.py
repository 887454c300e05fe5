"""The identifier table (tests/data/identifiers.yaml): every Safe Harbor category, as staff write it.

Row by row through redact(); then all of it planted in questions, a pasted note, session ids and case files,
run through the real entry points (ask() with the audit log and stored sessions, `assistant ask`,
`assistant check-policy`, `assistant narrative`), and no secret may be found in any file under the data dir
afterwards: every file's bytes, and every row of every SQLite database. The clinical words of the same
questions must still be in the stored question (the audit stays useful), and every file written is owner-only.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.redact import redact

from private_data import sqlite_dir  # noqa: F401 - fixture

ROWS = yaml.safe_load((Path(__file__).parent / "data" / "identifiers.yaml").read_text(encoding="utf-8"))["rows"]
SECRETS = sorted({str(s) for row in ROWS for s in row["secrets"]}, key=str.lower)
SAFE_HARBOR = {"name", "address", "date", "age", "phone", "fax", "email", "ssn", "mrn", "plan", "account", "license",
               "vehicle", "device", "url", "ip", "biometric", "photo", "other"}

# the clinical words a question carries around its identifier: each must survive in the stored question
CLINICAL = ["Kadcyla", "252 mg", "70 kg", "J9354", "Centene", "3.6 mg/kg", "HER2+", "IHC 3+", "cycle 2", "2026-06-01",
            "C50.911", "NDC 50242-0088-01", "Oscar", "Humana", "trastuzumab", "pertuzumab", "docetaxel", "LVEF 58%",
            "CPT 96413", "CP.PHAR.229", "154 lb", "q21 days", "Medicaid", "mBC"]


def test_the_table_covers_every_category_with_120_formats():
    assert len(ROWS) >= 120
    assert {row["cat"] for row in ROWS} == SAFE_HARBOR
    assert all(row["secrets"] for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['cat']}" for i, r in enumerate(ROWS)])
def test_each_format_is_redacted(row):
    out = redact(f"{row['text']}; Kadcyla 252 mg J9354 Centene")
    assert not [s for s in row["secrets"] if str(s).lower() in out.lower()], out
    assert "Kadcyla 252 mg J9354 Centene" in out


_PATTERNS = [(s, re.compile(rb"(?<![0-9a-z])" + re.escape(s.lower().encode()) + rb"(?![0-9a-z])")) for s in SECRETS]


def _found(data: bytes) -> list[str]:
    """The secrets in the data as whole words ("6655" inside a hex hash is no SSN)."""
    low = data.lower()
    return [s for s, pattern in _PATTERNS if pattern.search(low)]


def _sqlite_rows(path: Path) -> bytes:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        out = []
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in con.execute(f'SELECT * FROM "{table}"'):
                out.append(json.dumps(row, default=str, ensure_ascii=False))
        return "\n".join(out).encode("utf-8")
    finally:
        con.close()


def _leaks(data_dir: Path) -> dict[str, list[str]]:
    leaks = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        if "index" in path.relative_to(data_dir).parts[:1] or path.relative_to(data_dir).parts[:1] == ("model",):
            continue  # the copied corpus index and model hold no user text
        data = path.read_bytes()
        if path.suffix in (".sqlite3", ".db", ".sqlite"):
            data += _sqlite_rows(path)
        found = _found(data)
        if found:
            leaks[str(path.relative_to(data_dir))] = found
    return leaks


def _questions() -> list[tuple[str, str]]:
    """(session id, question): each row in a dose or policy question, and as a pasted note of 12 rows."""
    out = []
    for i, row in enumerate(ROWS):
        q = (f"{row['text']}. Kadcyla dose for 70 kg, HER2+ mBC, Centene Medicaid, cycle 2 on 2026-06-01?" if i % 2 else
             f"Does Centene cover Kadcyla J9354 for HER2+ mBC after trastuzumab? {row['text']}")
        out.append((row["secrets"][0] if i % 3 == 0 else f"s{i % 7}", q))
    for start in range(0, len(ROWS), 12):
        note = "\n".join(r["text"] for r in ROWS[start:start + 12])
        out.append((f"note {ROWS[start]['text']}", f"Referral note:\n{note}\nWeight 70 kg. Kadcyla 3.6 mg/kg q21 days, "
                                                    "J9354, Centene. Dose?"))
    return out


def _case(path: Path, rows: list[dict], **extra) -> Path:
    case = {"payer": "Centene", "line_of_business": "Commercial", "request_type": "initial", "age": 58,
            "diagnosis": "metastatic breast cancer", "her2_ihc": "3+", "prescriber_oncologist": True,
            "regimen": "single agent", "prior_therapies": ["Herceptin", "pertuzumab", "docetaxel"],
            "line_of_therapy": 2, "dose_mg_per_kg": 3.6, "interval_days": 21, "renewal_date": "2027-01-01",
            "documents": ["her2_pathology", "prior_trastuzumab_taxane", "baseline_lfts", "baseline_lvef", "chart_notes"],
            "note": "; ".join(r["text"] for r in rows)} | extra
    path.write_text(json.dumps(case), encoding="utf-8")
    return path


@pytest.mark.slow
def test_no_identifier_reaches_any_file_under_the_data_dir(sqlite_dir, tmp_path, monkeypatch):
    from assistant import agent
    from assistant.cli import _register_tools, app
    from assistant.session import SessionStore

    _register_tools()  # as `assistant` does before any command
    from assistant.private_files import private_tree

    private_tree(sqlite_dir / "index")  # the fixture's copy of the index, as `assistant index` now writes it
    monkeypatch.setenv("ASSISTANT_AUDIT", "1")
    store = SessionStore(persist=True)
    for session, question in _questions():
        agent.ask(question, session, store=store)

    runner = CliRunner()
    for i, row in enumerate(ROWS[:20]):
        result = runner.invoke(app, ["ask", f"{row['text']} Kadcyla dose for 70 kg?", "--session", row["secrets"][0]])
        assert result.exit_code == 0, result.output
    cases = tmp_path / "cases"
    cases.mkdir()
    for start in range(0, len(ROWS), 24):
        chunk = ROWS[start:start + 24]
        name = re.sub(r"[^\w.-]+", "_", f"{chunk[0]['secrets'][0]}_case.json")
        path = _case(cases / name, chunk)
        result = runner.invoke(app, ["check-policy", "--case", str(path)])
        assert result.exit_code == 0, result.output
        letter = _case(cases / f"letter_{name}", chunk, drug="kadcyla", icd10="C50.911", weight=70, weight_unit="kg",
                       cycle=1, cycles_requested=6)
        result = runner.invoke(app, ["narrative", "--case", str(letter)])
        assert result.exit_code == 0, result.output

    assert (sqlite_dir / "audit.sqlite3").exists() and list((sqlite_dir / "sessions").glob("*.json"))
    assert _leaks(sqlite_dir) == {}
    _assert_owner_only(sqlite_dir)


def _assert_owner_only(data_dir: Path) -> None:
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink() or path == data_dir / "model":  # the fixture's hard-linked copy of the model
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077 and not (path.is_file() and path.stat().st_nlink > 1):  # hard links share the model's mode
            loose.append(f"{path.relative_to(data_dir)} {oct(mode)}")
    assert loose == []


def test_clinical_words_survive_in_the_stored_question():
    """Precision: the clinical content around each planted identifier is still in the redacted question."""
    kept = total = 0
    missing: dict[str, int] = {}
    for row in ROWS:
        question = f"{row['text']}. " + ", ".join(CLINICAL) + "?"
        out = redact(question)
        for word in CLINICAL:
            total += 1
            if word in out:
                kept += 1
            else:
                missing[word] = missing.get(word, 0) + 1
    assert kept / total >= 0.99, missing


def test_plain_clinical_questions_are_stored_unchanged():
    questions = [
        "Kadcyla 252 mg J9354 Centene",
        "What is the Kadcyla dose for a 70 kg patient with HER2+ mBC, cycle 2 on 2026-06-01?",
        "Does Oscar cover Kadcyla after trastuzumab and a taxane? IHC 3+, LVEF 58%.",
        "Will Humana pay for J9354 x 252 units JZ with NDC 50242-0088-01 and CPT 96413?",
        "Centene CP.PHAR.229: adjuvant KATHERINE residual disease, 3.6 mg/kg q21 days x 14 doses",
        "154 lb = 69.85 kg; $10,633.90 per cycle; 3 vials of 100 mg",
        "May I bill JW for the 8 mg wasted? Dx C50.911, Z51.11",
    ]
    changed = [(q, redact(q)) for q in questions if redact(q) != q]
    assert changed == []
