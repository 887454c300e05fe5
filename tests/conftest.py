"""Test-wide guards: no network beyond loopback, offline model loading."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
from hypothesis import settings

# The gate replays the same examples on every run, so a red CI is a regression and not a new draw;
# `make fuzz` (HYPOTHESIS_PROFILE=explore) draws fresh examples to find the next one.
settings.register_profile("gate", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# Tests ask against the shared data dir; only the audit tests (which use their own dirs) turn the log on.
os.environ.setdefault("ASSISTANT_AUDIT", "0")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(RuntimeError):
    pass


def _allowed(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _allowed(address):
        raise NetworkBlocked(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _allowed(address):
        raise NetworkBlocked(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def block_network():
    """Every test runs with sockets limited to loopback."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


# Suites still being finished in a landing, kept out of the gate; none now.
collect_ignore: list[str] = []

# Known agent defects found by tests/test_agent.py and not yet fixed (listed in the closing note).
KNOWN_AGENT_DEFECTS: tuple[str, ...] = ()  # none now; listed here with the reason when there are


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.fspath.basename.startswith("test_agent") and any(k in item.nodeid for k in KNOWN_AGENT_DEFECTS):
            item.add_marker(pytest.mark.xfail(reason="known agent defect, see closing note", strict=False))
