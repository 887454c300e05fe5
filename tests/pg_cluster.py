"""A throwaway PostgreSQL cluster on a loopback port (initdb + pg_ctl), for the tests and bench/load.py.

As root (CI), the server runs as the `postgres` user that Debian's package creates; its folder is a fresh
temporary directory, removed when the cluster stops. Listens on 127.0.0.1 only, trust authentication.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest


class Unavailable(RuntimeError):
    """The PostgreSQL server binaries are not on this machine."""


def find_bin(name: str) -> str | None:
    """initdb / pg_ctl: on PATH, or in Debian's /usr/lib/postgresql/<version>/bin (newest version)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, *, durable: bool = False, options: str = ""):
        self.durable = durable  # False: fsync off (tests); True: the server's own defaults (benchmarks)
        self.options = options  # more `-c name=value` settings
        self.dir: Path | None = None
        self.url = ""
        self._prefix: list[str] = []

    def start(self) -> "Cluster":
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not (initdb and pg_ctl):
            raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                              "`make test` installs Debian's postgresql package")
        self.dir = Path(tempfile.mkdtemp(prefix="kadcyla-pg-"))
        if os.geteuid() == 0:  # initdb refuses to run as root
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no `postgres` user to run the server as") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
        data, port = self.dir / "data", free_port()
        self._run([initdb, "-D", str(data), "-U", "assistant", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={self.dir} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        if self.options:
            options += f" {self.options}"
        self._run([pg_ctl, "-D", str(data), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", options, "start"])
        self._pg_ctl = pg_ctl
        self.url = f"postgresql://assistant@127.0.0.1:{port}/postgres"
        return self

    def _run(self, args: list[str]) -> None:
        proc = subprocess.run([*self._prefix, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def create_db(self, name: str | None = None) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._run([self._pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


@pytest.fixture(scope="session")
def pg_cluster():
    """One cluster per test session, stopped at the end."""
    try:
        cluster = Cluster().start()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture()
def pg_url(pg_cluster) -> str:
    """A fresh database in the session's cluster."""
    return pg_cluster.create_db()
