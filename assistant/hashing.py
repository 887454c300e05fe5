"""Hashes for what is stored: canonical JSON, the audit chain link, HMAC, and file and folder digests."""

from __future__ import annotations

import hashlib
import hmac as _hmac
import json
from pathlib import Path
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of the first audit entry


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value: sorted keys, no spaces, UTF-8 kept, so equal values hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def chain_hash(previous: str, entry_json: str) -> str:
    """sha256(previous hash + canonical JSON of the entry), hex."""
    return hashlib.sha256((previous + entry_json).encode("utf-8")).hexdigest()


def sign(key: bytes, digest: str) -> str:
    """HMAC-SHA256 of an entry's chain hash with the audit key, hex."""
    return _hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two hex strings (None equals only None)."""
    if a is None or b is None:
        return a is b
    return _hmac.compare_digest(a, b)


def key_id(key: bytes) -> str:
    """A short public name for a key (which key signed an entry), never the key."""
    return hashlib.sha256(b"kadcyla-audit-key-id\0" + key).hexdigest()[:12]


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def folder_digests(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path (files named in `skip` left out)."""
    return {
        str(path.relative_to(root)): file_sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in skip
    }
