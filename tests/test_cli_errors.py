"""The `assistant` entry point: usage errors, bad settings and full disks are one line on stderr and exit 2."""

from __future__ import annotations

import errno
import sys

import pytest

from assistant import cli


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")
    for name in ("CHROMA_PORT", "ASSISTANT_AUDIT", "ASSISTANT_LLM"):
        monkeypatch.delenv(name, raising=False)


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["assistant", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    out, err = capsys.readouterr()
    return done.value.code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and "Traceback" not in err and "╭" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dose", "--bogus"], "No such option: --bogus (see 'assistant dose --help')"),
        (["nosuch"], "No such command 'nosuch'"),
        (["dose", "--weight"], "Option '--weight' requires an argument"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--cycle", "abc"], "Cycle must be a whole number"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--cycle", "0"], "Cycle must be 1 or more"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--cycle", "-1"], "Cycle must be 1 or more"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--mg-per-kg", "0.001"], "0.001 mg/kg is below 1.0 mg/kg"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--date", "9999-12-31"], "more than a year from today"),
        (["dose", "--weight", "70kg", "--indication", "mbc", "--date", "2099-01-01"], "more than a year from today"),
    ],
)  # fmt: skip
def test_usage_and_input_errors_are_one_line_exit_2(monkeypatch, capsys, args, message):
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 2
    assert message in one_line(err)


@pytest.mark.parametrize(
    ("name", "value"), [("CHROMA_PORT", "abc"), ("ASSISTANT_AUDIT", "maybe"), ("ASSISTANT_AUDIT_REQUIRED", "perhaps")]
)
def test_a_bad_setting_is_named_in_one_line(monkeypatch, capsys, name, value):
    monkeypatch.setenv(name, value)
    code, _, err = run(monkeypatch, capsys, "dose", "--weight", "70kg", "--indication", "mbc")
    assert code == 2
    assert f"Bad setting: {name}='{value}' is not valid" in one_line(err)


def test_a_full_disk_is_one_line(monkeypatch, capsys):
    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/prices/2026Q3.json")

    monkeypatch.setattr("assistant.tools.prices.import_asp_file", full)
    monkeypatch.setattr("assistant.cli_dose.import_asp_file", full)
    code, _, err = run(monkeypatch, capsys, "prices", "load", "tests/fixtures/asp_sample.csv")
    assert code == 2
    assert "Cannot write /data/prices/2026Q3.json: No space left on device" in one_line(err)


def test_help_and_success_exit_0(monkeypatch, capsys):
    assert run(monkeypatch, capsys, "--help")[0] == 0
    code, out, _ = run(monkeypatch, capsys, "dose", "--weight", "70kg", "--indication", "mbc")
    assert code == 0 and "252" in out


def test_a_bare_group_still_shows_its_help(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "prices")
    assert code == 2 and "load" in out
