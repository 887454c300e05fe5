"""The local index store under <data dir>/index/: build folders, the CURRENT pointer, and readers' private copies.

A build is written into its own folder (`build-<time>-<id>`); CURRENT, a small JSON file naming the
committed folder with its fingerprint, chunk count, content digest and the sha256 of every file, is
replaced atomically only after the build was read back and verified. Chroma writes to a folder it merely
opens, so a reader never opens the committed folder: under a shared lock on it, the reader copies it to
`.readers/<pid>-<id>/`, checks the copy against CURRENT's checksums, and opens the copy; a pruner deletes a
build only when it can lock it exclusively. Copies of readers that died are removed by the next start.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from assistant.hashing import folder_digests

log = logging.getLogger("assistant.index")

BUILD_NAME = re.compile(r"^build-[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
READERS = ".readers"
_KEYS = {"dir", "fingerprint", "chunks"}
_warned: set[tuple[str, str]] = set()


@dataclass
class IndexState:
    root: Path

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    @property
    def lock_file(self) -> Path:
        return self.root / "index.lock"

    def read(self) -> dict | None:
        """The committed build, or None when there is none, it is unreadable, or it names a folder outside the index."""
        try:
            data = json.loads(self.current_file.read_text())
        except (OSError, ValueError):
            return None
        if not (isinstance(data, dict) and _KEYS <= data.keys()):
            return None
        if self.folder(data.get("dir")) is None:
            seen = (str(self.current_file), str(data.get("dir")))
            if seen not in _warned:  # once, however often it is read
                _warned.add(seen)
                log.warning("Index: CURRENT names %r, which is not a build folder inside %s; ignored (rebuilt)",
                            str(data.get("dir"))[:80], self.root)
            return None
        return data

    def folder(self, name) -> Path | None:
        """The build folder `name` inside the index root, or None if the name could lead anywhere else."""
        if not isinstance(name, str) or not BUILD_NAME.match(name) or ".." in name:
            return None
        path = (self.root / name).resolve()
        return path if path.parent == self.root.resolve() else None

    def new_build(self) -> Path:
        return self.root / f"build-{dt.datetime.now().strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"

    def commit(self, build_dir: Path, fp: str, chunks: int, *, content: str | None = None,
               files: dict[str, str] | None = None, previous: str | None = None) -> dict:
        state = {"dir": build_dir.name, "fingerprint": fp, "chunks": chunks, "content": content, "files": files,
                 "previous": previous, "committed": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        from assistant.private_files import private_tree, write_private

        private_tree(build_dir)  # chroma wrote it with the process umask
        write_private(self.current_file, json.dumps(state))
        return state

    def prune(self, keep: set[str]) -> None:
        """Delete builds other than `keep` (the committed one and the one before it) that no reader is copying, and
        temporary pointer files; run by the writer only, under the writer lock."""
        for path in self.root.glob("build-*"):
            if path.name in keep or not path.is_dir():
                continue
            with dir_lock(path, exclusive=True, wait=False) as locked:
                if locked:
                    shutil.rmtree(path, ignore_errors=True)
        for tmp in self.root.glob("CURRENT.tmp-*"):
            tmp.unlink(missing_ok=True)

    def leftovers(self, keep: set[str]) -> bool:
        """Builds or temporary files a writer would prune."""
        return any(p.name not in keep for p in self.root.glob("build-*")) or any(self.root.glob("CURRENT.tmp-*"))


class dir_lock:
    """flock on a folder itself (nothing is written to take it): shared for readers, exclusive for the pruner."""

    def __init__(self, path: Path, *, exclusive: bool, wait: bool = True):
        self.path, self.exclusive, self.wait = path, exclusive, wait
        self.fd: int | None = None

    def __enter__(self) -> bool:
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        flags = (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fd, flags)
            return True
        except OSError:
            os.close(self.fd)
            self.fd = None
            return False

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def check_files(folder: Path, files: dict[str, str] | None) -> str | None:
    """What differs between a folder and the checksums committed for it (None when it matches or none were kept)."""
    if files is None:
        return None
    found = folder_digests(folder)
    changed = sorted(name for name in files.keys() | found.keys() if files.get(name) != found.get(name))
    if not changed:
        return None
    shown = ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
    return f"{len(changed)} file(s) differ from the committed checksums: {shown}"


class ReaderCopy:
    """A reader's private copy of a committed build, alive while this process holds its lock."""

    def __init__(self, state: IndexState, build: Path):
        self.path = state.root / READERS / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path.mkdir(parents=True)
        self._lock = dir_lock(self.path, exclusive=True)  # held first, so no cleaner takes the copy for a dead one's
        self._lock.__enter__()
        try:
            with dir_lock(build, exclusive=False) as locked:
                if not locked:
                    raise FileNotFoundError(build)
                shutil.copytree(build, self.path, dirs_exist_ok=True)
            from assistant.private_files import private_tree

            private_tree(self.path)  # copytree keeps the build's modes; a build made before 0600 was the rule is 0644
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._lock.__exit__()
        shutil.rmtree(self.path, ignore_errors=True)


def clean_reader_copies(state: IndexState) -> int:
    """Remove the copies of readers that are gone (their folder lock is free); return how many."""
    removed = 0
    for path in (state.root / READERS).glob("*"):
        with dir_lock(path, exclusive=True, wait=False) as free:
            if free:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed
