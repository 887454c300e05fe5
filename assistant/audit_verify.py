"""`assistant audit verify`: walk the hash chain and say where it breaks.

Checked for every entry: its number follows the one before (a gap is a deletion), it names the hash of
the entry before (a broken link is a deletion, an insertion or a reordering), its stored JSON still hashes
to its hash (an edit), its HMAC matches with the key (an edit re-hashed by someone without the key), its
time is not before the previous entry's (back-dated), and its columns agree with its JSON. Then the log
must reach the head this data dir last wrote (a truncation), and events the writers recorded about the
log (found truncated, turned off, salt replaced) are reported.
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, Field

from assistant import audit_log
from assistant.audit_log import AuditKeyError, HeadDamaged, Row, load_key, read_head
from assistant.hashing import GENESIS, chain_hash, key_id, same, sign

FUTURE_SLACK = dt.timedelta(minutes=5)
_COLUMN_FIELDS = ("id", "time", "status", "kind", "session", "intent", "question")


class Finding(BaseModel):
    seq: int | None = None
    id: str | None = None
    time: str | None = None
    problem: str

    def line(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "an entry"
        who = f" (id {self.id}, {self.time[:19]}Z)" if self.id and self.time else (f" (id {self.id})" if self.id else "")
        return f"{where}{who}: {self.problem}"


class VerifyReport(BaseModel):
    """The result of walking the chain: ok only when there is no finding."""

    ok: bool
    database: str
    entries: int = Field(description="entries checked")
    first_seq: int | None = None
    last_seq: int | None = None
    signed: int = Field(default=0, description="entries carrying an HMAC")
    key_id: str | None = None
    head: dict | None = Field(default=None, description="what the head file in this data dir records")
    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def verify(since: dt.date | None = None) -> VerifyReport:
    """Check the whole log, or the entries from `since` (UTC) on and their link to the entry before."""
    db = audit_log.database()
    rows = audit_log.rows()
    findings = [Finding(id=r.id, time=r.time, problem="has no place in the chain (no sequence number): inserted "
                        "outside the app?") for r in rows if r.seq is None]
    chained = sorted((r for r in rows if r.seq is not None), key=lambda r: r.seq)
    start = 0
    if since is not None:
        start = next((i for i, r in enumerate(chained) if r.time >= since.isoformat()), len(chained))
    key, key_error = None, None
    try:
        key = load_key()
    except AuditKeyError as exc:
        key_error = str(exc)
    walk = _Walk(key, key_error, first=start == 0)
    for i in range(start, len(chained)):
        walk.check(chained[i], chained[i - 1] if i > 0 else None)
    findings += walk.findings
    if walk.unverifiable is not None:
        r = walk.unverifiable
        why = key_error or "ASSISTANT_AUDIT_KEY_FILE is not set"
        findings.insert(0, Finding(seq=r.seq, id=r.id, time=r.time, problem=f"carries an HMAC (key id {r.key_id}) "
                                   f"that cannot be checked: {why}; {walk.signed} entries from here on are signed"))
    try:
        head = read_head(db)
    except HeadDamaged as exc:
        head = None
        findings.append(Finding(problem=f"{exc}: whether the log was cut short cannot be told"))
    if head is not None:
        findings += _head_findings(head, chained)
    checked = chained[start:]
    return VerifyReport(
        ok=not findings, database=f"{db.kind} {db.address}", entries=len(checked),
        first_seq=checked[0].seq if checked else None, last_seq=checked[-1].seq if checked else None,
        signed=walk.signed, key_id=key_id(key) if key else None,
        head={"seq": head.seq, "hash": head.hash, "time": head.time} if head else None,
        findings=findings, notes=walk.notes,
    )


class _Walk:
    def __init__(self, key: bytes | None, key_error: str | None, first: bool):
        self.key, self.key_error, self.first = key, key_error, first
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.signed = 0
        self.unverifiable: Row | None = None
        self.now = dt.datetime.now(dt.timezone.utc)

    def flag(self, row: Row, problem: str) -> None:
        self.findings.append(Finding(seq=row.seq, id=row.id, time=row.time, problem=problem))

    def check(self, row: Row, before: Row | None) -> None:
        data = self._json(row)
        self._place(row, before)
        if row.hash is None or chain_hash(row.prev_hash or "", row.entry) != row.hash:
            self.flag(row, "its contents do not match its hash: edited after it was written")
        self._signature(row)
        if data is not None:
            self._columns(row, data)
            self._event(row, data)
        if before is not None and row.time < before.time:
            self.flag(row, f"its time {row.time} is before the entry before it ({before.time}): back-dated")
        try:
            if dt.datetime.fromisoformat(row.time) > self.now + FUTURE_SLACK:
                self.flag(row, f"its time {row.time} is in the future")
        except ValueError:
            self.flag(row, f"its time {row.time!r} is not a time")

    def _json(self, row: Row) -> dict | None:
        try:
            data = json.loads(row.entry)
            return data if isinstance(data, dict) else None
        except ValueError:
            self.flag(row, "its stored entry is not JSON")
            return None

    def _place(self, row: Row, before: Row | None) -> None:
        if before is None:
            if self.first and row.seq != 1:
                self.flag(row, f"the log starts at entry {row.seq}: entries 1–{row.seq - 1} are missing (deleted?)")
            elif self.first and row.prev_hash != GENESIS:
                self.flag(row, "the first entry does not start the chain: entries before it were removed?")
            return
        if row.seq != before.seq + 1:
            gap = f"entry {before.seq + 1}" if row.seq == before.seq + 2 else f"entries {before.seq + 1}–{row.seq - 1}"
            self.flag(row, f"{gap} missing before it (deleted?)")
        if not same(row.prev_hash, before.hash):
            self.flag(row, f"does not link to entry {before.seq} (it names hash {str(row.prev_hash)[:12]}…, entry "
                      f"{before.seq} has {str(before.hash)[:12]}…): the first broken link; entries were deleted, "
                      "inserted or reordered here")

    def _signature(self, row: Row) -> None:
        if row.hmac is None:
            if self.key is not None and self.signed:
                self.flag(row, "has no HMAC although the entries before it are signed: rewritten without the key?")
            return
        self.signed += 1
        if self.key is None:
            self.unverifiable = self.unverifiable or row
        elif row.hash is None or not same(sign(self.key, row.hash), row.hmac):
            other = f" (signed by key id {row.key_id}, this key is {key_id(self.key)})" if row.key_id != key_id(self.key) else ""
            self.flag(row, f"its HMAC does not match{other}: edited and re-hashed by someone without the key")

    def _columns(self, row: Row, data: dict) -> None:
        if data.get("seq") != row.seq:
            self.flag(row, f"its JSON says entry {data.get('seq')}: moved (reordered)")
        differ = [f for f in _COLUMN_FIELDS if f in data and data.get(f) != row.columns.get(f)]
        if differ:
            self.flag(row, f"its {', '.join(differ)} column(s) disagree with its JSON: edited")

    def _event(self, row: Row, data: dict) -> None:
        if row.kind != "event":
            return
        event = data.get("event")
        if event in ("truncation_detected", "head_mismatch", "head_damaged"):
            self.flag(row, f"the writer found the log damaged: {data.get('question')}")
        elif event == "audit_off":
            self.notes.append(f"entry {row.seq} ({row.time[:19]}Z): {data.get('question')}")
        elif event:
            self.notes.append(f"entry {row.seq} ({row.time[:19]}Z): {event}: {data.get('question')}")


def _head_findings(head, chained: list[Row]) -> list[Finding]:
    last = chained[-1] if chained else None
    if last is None or last.seq < head.seq:
        return [Finding(seq=head.seq, problem=f"missing: the log ends at entry {last.seq if last else 0}, but this "
                        f"data dir recorded entry {head.seq} (hash {head.hash[:12]}…) in its head file: truncated")]
    at = next((r for r in chained if r.seq == head.seq), None)
    if at is not None and not same(at.hash, head.hash):
        return [Finding(seq=at.seq, id=at.id, time=at.time, problem=f"does not match the head file (hash "
                        f"{head.hash[:12]}… recorded): the log was rewritten from here")]
    return []
