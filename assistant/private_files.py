"""Owner-only files: every file the app writes is 0600 and every folder 0700, whoever calls it.

`owner_only()` sets the process umask (the CLI and the chat page call it first), so files made by libraries
(chroma's index, SQLite's -wal and -shm, exports) are owner-only too. The writers below do not rely on it:
a caller that imports the app as a library still gets owner-only sessions, logs and keys.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def owner_only() -> None:
    """New files 0600 and folders 0700 in this process, whatever they are made by."""
    os.umask(0o077)


def private_dir(path: Path | str) -> Path:
    """The folder, made if missing, owner-only (an existing one is tightened)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def write_private(path: Path | str, data: str | bytes, *, encoding: str = "utf-8") -> None:
    """Write the file whole and owner-only, atomically: a reader sees the old file or the new one."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.chmod(tmp, FILE_MODE)  # os.open's mode is filtered by the umask; an existing tmp keeps its own
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def touch_private(path: Path | str) -> Path:
    """The file, made empty if missing, owner-only: before a library (SQLite) creates it with its own mode."""
    path = Path(path)
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE))
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, FILE_MODE)
    return path


def private_tree(root: Path | str) -> None:
    """Every folder and file under root owner-only (after a library wrote them with its own modes)."""
    root = Path(root)
    if not root.exists():
        return
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, DIR_MODE)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
