"""The audit log is tamper-evident: `assistant audit verify` finds each tamper an operator could try.

Each test writes a short log (five answers), tampers with it straight in the database, as someone with
access to the data dir or the database server would, and checks that verify exits 1 naming the entry,
while an untouched log exits 0. "Made consistent" means the tamperer also recomputed the chain with the
app's own hashing code: the head file catches that, and with an HMAC key outside the data dir even a
rewrite of the head file is caught. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

import pytest
import typer
from typer.testing import CliRunner

from assistant import audit, audit_log
from assistant.agent import ask
from assistant.cli_audit import register
from assistant.hashing import GENESIS, canonical_json, chain_hash

from private_data import _one_torch_thread, data_dir, pg_cluster, pg_url, sqlite_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

QUESTIONS = ["Is J9354 Enhertu?", "70 kg mBC dose?", "What product is NDC 50242-087-01?", "What is J9355?",
             "Write me a poem"]


@pytest.fixture()
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep sub-command mode."""

    register(app)
    return app


def verify(app, *args: str):
    result = CliRunner().invoke(app, ["audit", "verify", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture()
def key_file(tmp_path, monkeypatch):
    path = tmp_path / "secrets" / "audit.key"  # outside the data dir
    path.parent.mkdir()
    path.write_text(secrets.token_hex(32))
    monkeypatch.setenv("ASSISTANT_AUDIT_KEY_FILE", str(path))
    return path


def write_log() -> list[str]:
    ids = [ask(q).id for q in QUESTIONS]
    assert None not in ids
    return ids


def stored(seq: int) -> dict:
    (raw,) = audit_log.database().query("SELECT entry FROM answers WHERE seq = ?", (seq,))[0]
    return json.loads(raw)


def rewrite(seq: int, change, *, rechain: bool = False, head: bool = False) -> None:
    """Change entry `seq` with change(entry_dict); with `rechain`, recompute its hash and every later one the way
    the app does; with `head`, also rewrite the head file to the new last hash."""
    db = audit_log.database()
    entry = stored(seq)
    change(entry)
    db.execute("UPDATE answers SET entry = ?, time = ? WHERE seq = ?", (canonical_json(entry), entry["time"], seq))
    if not rechain:
        return
    prev = db.query("SELECT hash FROM answers WHERE seq = ?", (seq - 1,))[0][0] if seq > 1 else GENESIS
    for number, text in db.query("SELECT seq, entry FROM answers WHERE seq >= ? ORDER BY seq", (seq,)):
        digest = chain_hash(prev, text)
        db.execute("UPDATE answers SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, number))
        prev = digest
    if head:
        last = db.query("SELECT seq, hash, time FROM answers ORDER BY seq DESC LIMIT 1")[0]
        path = audit_log.head_path(db)
        path.write_text(json.dumps({"seq": last[0], "hash": last[1], "time": last[2]}))


def test_a_clean_log_verifies(data_dir, cli):
    write_log()
    code, out = verify(cli)
    assert code == 0, out
    assert "5 checked, entries 1–5, none signed; head file: entry 5" in out and "OK: every entry is in place" in out


def test_a_signed_clean_log_verifies(data_dir, cli, key_file):
    write_log()
    code, out = verify(cli)
    assert code == 0 and "5 signed (key id" in out, out
    assert {r.hmac is not None for r in audit_log.rows()} == {True}


def test_an_edited_entry_is_named(data_dir, cli):
    write_log()
    rewrite(3, lambda e: e.update(answer="Kadcyla is J9358."))
    code, out = verify(cli)
    assert code == 1, out
    assert f"the first at entry 3 (id {stored(3)['id']}" in out and "do not match its hash: edited" in out


def test_an_edit_made_consistent_is_caught_by_the_head_file(data_dir, cli):
    write_log()
    rewrite(3, lambda e: e.update(answer="Kadcyla is J9358."), rechain=True)  # every hash recomputed
    code, out = verify(cli)
    assert code == 1, out
    assert "entry 5" in out and "does not match the head file" in out and "do not match its hash" not in out


def test_an_edit_made_consistent_everywhere_is_caught_by_the_key(data_dir, cli, key_file):
    write_log()
    rewrite(3, lambda e: e.update(answer="Kadcyla is J9358."), rechain=True, head=True)
    code, out = verify(cli)
    assert code == 1, out
    assert "the first at entry 3" in out and "its HMAC does not match" in out and "do not match its hash" not in out


def test_without_a_key_a_complete_rewrite_is_what_the_key_is_for(data_dir, cli):
    """The limit, stated: chain and head file rewritten by someone with write access verify clean without a key."""
    write_log()
    rewrite(3, lambda e: e.update(answer="Kadcyla is J9358."), rechain=True, head=True)
    assert verify(cli)[0] == 0


def test_a_deleted_entry_is_named(data_dir, cli):
    write_log()
    audit_log.database().execute("DELETE FROM answers WHERE seq = 3")
    code, out = verify(cli)
    assert code == 1, out
    assert "the first at entry 4" in out and "entry 3 missing before it (deleted?)" in out
    assert "does not link to entry 2" in out


def test_a_back_dated_entry_is_named(data_dir, cli):
    write_log()
    earlier = (dt.datetime.fromisoformat(stored(3)["time"]) - dt.timedelta(days=1)).isoformat(timespec="milliseconds")
    rewrite(3, lambda e: e.update(time=earlier), rechain=True, head=True)
    code, out = verify(cli)
    assert code == 1, out
    assert "the first at entry 3" in out and "is before the entry before it" in out and "back-dated" in out


def test_a_truncated_log_is_found(data_dir, cli):
    write_log()
    audit_log.database().execute("DELETE FROM answers WHERE seq >= 4")
    code, out = verify(cli)
    assert code == 1, out
    assert "the first at entry 5: missing: the log ends at entry 3" in out and "truncated" in out


def test_a_log_emptied_and_written_again_keeps_the_gap(data_dir, cli, caplog):
    write_log()
    audit_log.database().execute("DELETE FROM answers")
    audit_log._heads.clear()  # as a fresh process would: it reads the head file
    caplog.set_level(logging.WARNING)
    assert ask("Is J9354 Enhertu?").id
    assert "the log ends at entry 0 but entry 5 was written before" in caplog.text
    assert [r.seq for r in audit_log.rows()] == [6, 7]  # the event, then the answer: numbering goes on after 5
    code, out = verify(cli)
    assert code == 1, out
    assert "the log starts at entry 6: entries 1–5 are missing" in out
    assert "the writer found the log damaged: log ended at entry 0; entry 5 was written before" in out


def test_a_deleted_log_file_is_not_silently_recreated(sqlite_dir, cli):
    write_log()
    for path in sqlite_dir.glob("audit.sqlite3*"):
        path.unlink()
    audit_log._prepared.clear()
    audit_log._heads.clear()
    from assistant import db

    db._dbs.clear()
    assert ask("Is J9354 Enhertu?").id
    code, out = verify(cli)
    assert code == 1 and "entries 1–5 are missing" in out, out


def test_reordered_entries_are_named(data_dir, cli):
    write_log()
    db = audit_log.database()
    db.execute("UPDATE answers SET seq = -2 WHERE seq = 2")
    db.execute("UPDATE answers SET seq = 2 WHERE seq = 3")
    db.execute("UPDATE answers SET seq = 3 WHERE seq = -2")
    code, out = verify(cli)
    assert code == 1, out
    assert "the first at entry 2" in out and "its JSON says entry 3: moved (reordered)" in out


def test_a_missing_key_file_is_named(data_dir, cli, key_file, monkeypatch):
    ids = write_log()
    key_file.unlink()
    code, out = verify(cli)
    assert code == 1, out
    assert f"the first at entry 1 (id {ids[0]}" in out and "carries an HMAC" in out and "cannot be read" in out
    monkeypatch.delenv("ASSISTANT_AUDIT_KEY_FILE")
    code, out = verify(cli)
    assert code == 1 and "ASSISTANT_AUDIT_KEY_FILE is not set" in out, out


def test_a_missing_key_file_stops_recording(data_dir, key_file, monkeypatch, caplog):
    key_file.unlink()
    caplog.set_level(logging.WARNING)
    assert ask("Is J9354 Enhertu?").id is None and "audit key file" in caplog.text
    monkeypatch.setenv("ASSISTANT_AUDIT_REQUIRED", "1")
    refused = ask("Is J9354 Enhertu?")
    assert refused.status == "error" and "cannot be read" in refused.answer


def test_a_key_inside_the_data_dir_is_refused(sqlite_dir, monkeypatch):
    (sqlite_dir / "audit.key").write_text(secrets.token_hex(32))
    monkeypatch.setenv("ASSISTANT_AUDIT_KEY_FILE", str(sqlite_dir / "audit.key"))
    monkeypatch.setenv("ASSISTANT_AUDIT_REQUIRED", "1")
    refused = ask("Is J9354 Enhertu?")
    assert refused.status == "error" and "inside the data dir" in refused.answer


def test_a_short_key_is_refused(sqlite_dir, key_file, monkeypatch):
    key_file.write_text("abc123")
    monkeypatch.setenv("ASSISTANT_AUDIT_REQUIRED", "1")
    assert "at least 32 are needed" in ask("Is J9354 Enhertu?").answer


def test_verify_since_a_date(data_dir, cli):
    write_log()
    today = dt.datetime.now(dt.timezone.utc).date()
    assert verify(cli, "--since", today.isoformat())[0] == 0
    code, out = verify(cli, "--since", (today + dt.timedelta(days=1)).isoformat())
    assert code == 0 and "0 checked" in out
    rewrite(3, lambda e: e.update(answer="edited"))
    assert verify(cli, "--since", today.isoformat())[0] == 1
    bad = verify(cli, "--since", "yesterday")
    assert bad[0] == 2 and "YYYY-MM-DD" in bad[1]


def test_verify_as_json(data_dir, cli):
    write_log()
    rewrite(2, lambda e: e.update(status="answered!"))
    result = CliRunner().invoke(cli, ["audit", "verify", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 1 and report["ok"] is False and report["entries"] == 5
    assert {f["seq"] for f in report["findings"]} == {2}


def test_a_log_written_before_the_chain_is_chained_once(sqlite_dir, cli, caplog):
    """An audit.sqlite3 from before the chain (no seq or hash columns) is numbered and hashed in its own order."""
    import sqlite3

    path = sqlite_dir / audit.DB_NAME
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE answers (id TEXT PRIMARY KEY, time TEXT NOT NULL, session TEXT, intent TEXT, "
                           "status TEXT NOT NULL, planner TEXT, question TEXT NOT NULL, replay_of TEXT, entry TEXT NOT NULL)")
        for n in range(3):
            entry = {"id": f"{n + 0xa0:016x}", "time": f"2026-01-0{n + 1}T00:00:00.000+00:00", "status": "answered",
                     "planner": "deterministic", "question": f"q{n}", "answer": "a", "app_version": "0.1.0"}
            conn.execute("INSERT INTO answers (id, time, status, planner, question, entry) VALUES (?, ?, ?, ?, ?, ?)",
                         (entry["id"], entry["time"], "answered", "deterministic", entry["question"], json.dumps(entry)))
    caplog.set_level(logging.WARNING)
    ask("Is J9354 Enhertu?")
    assert "3 entries written before the hash chain were chained now" in caplog.text
    assert [r.seq for r in audit_log.rows()] == [1, 2, 3, 4]
    assert verify(cli)[0] == 0
    assert audit.get_entry("00000000000000a0").seq == 1
