"""The de-identifier's word lists, kept between runs: built from the corpus, the data files and the code
(~1.5 s), then read back in a few milliseconds while none of their sources has changed.

marshal, not pickle: the file holds only strings, lists and frozensets, and reading it runs no code. The
file is owner-only under the data dir; a missing, stale or damaged one is rebuilt.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FORMAT = 1


def _key(name: str, sources: Iterable[Path]) -> str:
    h = hashlib.sha256(f"{name}:{FORMAT}:{sys.version_info[:2]}".encode())
    for path in sorted(sources):
        try:
            st = path.stat()
        except OSError:
            continue
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def cached(name: str, sources: Iterable[Path], build: Callable[[], T]) -> T:
    """build(), or what an earlier run built from the same sources."""
    from assistant.private_files import private_dir, write_private
    from assistant.settings import get_settings

    folder = get_settings().data_dir / "cache"
    path = folder / f"{name}-{_key(name, sources)}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    value = build()
    try:
        private_dir(folder)
        for old in folder.glob(f"{name}-*.marshal"):
            old.unlink(missing_ok=True)
        write_private(path, marshal.dumps(value))
    except (OSError, ValueError):
        pass  # a read-only or full data dir: the lists are built again next run
    return value
