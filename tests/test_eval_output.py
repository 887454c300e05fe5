"""Output that reads in a log: with no terminal (CI, `| tee`), tables are plain aligned text as wide as
their content, checked at 80 columns with no cell cut; in a terminal, cells fold rather than end in '…'."""

from __future__ import annotations

import re

import pytest
from eval_fakes import FakeAsk, good_dose_answer, invoke_eval, plain_answer, write
from rich.console import Console

from assistant.cli_eval import print_summary
from assistant.evals import load_run
from assistant.evals.tables import Grid, compare_grids, gates_grid, plain, rich_table, run_grids

LONG_ID = "policy-centene-adjuvant-katherine-fourteen-cycles-residual-disease-after-neoadjuvant"
CASES = f"""
category: policy
cases:
  - id: {LONG_ID}
    ask: "long?"
    expect: {{status: answered, must_contain: ["criteria met"]}}
  - id: dose-70
    category: dose
    style: staff
    ask: "kadcyla 70kg mbc"
    expect:
      status: answered
      tool: calculate_dose
      figures: [{{value: 252, unit: mg}}, {{value: 10971.48, unit: USD}}]
  - id: oos-weather
    category: out_of_scope
    style: adversarial
    ask: "weather?"
    expect: {{status: out_of_scope}}
"""
SCRIPT = {
    "long?": plain_answer("Centene: criteria met for the adjuvant request."),
    "kadcyla 70kg mbc": good_dose_answer,
    "weather?": plain_answer("I answer Kadcyla questions only.", status="out_of_scope"),
}
CHANGED = {**SCRIPT, "long?": plain_answer("Centene: one criterion not met.")}


def test_plain_columns_are_as_wide_as_their_widest_cell():
    grid = Grid("Title", ["Name", "N", "Note"], [["a", "1", "x"], ["longer-name", "100", "a note"]], align="lrl")
    assert plain(grid).splitlines() == [
        "Title",
        "Name           N  Note",
        "-----------  ---  ------",
        "a              1  x",
        "longer-name  100  a note",
    ]


@pytest.mark.parametrize(
    "cell, shown",
    [
        ("two\nlines", "two lines"),  # a line break inside a cell would break the row apart
        ("  padded  ", "padded"),
        ("—", "—"),
    ],
)
def test_plain_cells_stay_on_their_row(cell, shown):
    lines = plain(Grid("", ["H"], [[cell]])).splitlines()
    assert lines[2] == shown and len(lines) == 3


def _rows_whole(output: str, grids: list[Grid]) -> None:
    """Every cell of every grid appears, uncut and in order, on the line of its row."""
    lines = output.splitlines()
    for grid in grids:
        assert any(all(h in line for h in grid.headers) for line in lines), grid.headers
        for row in grid.rows:
            cells = [" ".join(c.split()) for c in row]
            pattern = r"\s+".join(re.escape(c) for c in cells)
            assert any(re.search(pattern, line) for line in lines), (grid.title, row)


def test_a_log_at_80_columns_shows_every_cell_whole(tmp_path, monkeypatch):
    suite = write(tmp_path, CASES, thresholds="pass_rate: 0.5", extra="thresholds_by_style:\n  staff: {pass_rate: 0.5}\n")
    base = tmp_path / "base.html"
    invoke_eval(monkeypatch, FakeAsk(SCRIPT), "--suite", suite, "--report", base, "--no-baseline")
    report = tmp_path / "r.html"
    result = invoke_eval(monkeypatch, FakeAsk(CHANGED), "--suite", suite, "--report", report, "--no-baseline",
                         "--compare", base.with_suffix(".json"), env={"COLUMNS": "80", "TERM": "dumb"})  # fmt: skip
    assert result.exit_code == 1, result.output  # the long case broke
    out = result.output
    assert "…" not in out and "..." not in out
    assert max(len(line) for line in out.splitlines()) > 80  # wider than the console, and still whole
    saved = load_run(report.with_suffix(".json"))
    grids = [*run_grids(saved), gates_grid(saved), *compare_grids(saved.compare)]
    _rows_whole(out, grids)
    assert re.search(rf"^{re.escape(LONG_ID)}\s+policy\s+textbook\s+broken\s+", out, re.M)
    assert re.search(r"^  " + re.escape(LONG_ID) + r" \[policy\] turn 1: must_contain: criteria met: not in the answer$", out, re.M)


def test_the_rule_under_each_header_matches_its_columns(tmp_path, monkeypatch):
    suite = write(tmp_path, CASES, thresholds="pass_rate: 0.5")
    result = invoke_eval(monkeypatch, FakeAsk(SCRIPT), "--suite", suite, "--report", tmp_path / "r.html", "--no-baseline",
                         env={"COLUMNS": "80"})  # fmt: skip
    lines = result.output.splitlines()
    for n, line in enumerate(lines):
        if line and set(line) <= {"-", " "} and "--" in line:
            widths = [len(part) for part in line.split("  ") if part]
            header = lines[n - 1]
            assert len(header) <= len(line) and sum(widths) + 2 * (len(widths) - 1) == len(line), (header, line)
            for row in lines[n + 1 : n + 3]:  # the rows below fit the same columns
                assert len(row) <= len(line), (row, line)


def test_a_narrow_terminal_folds_cells_and_cuts_none(tmp_path):
    from assistant.evals import load_suite, run_suite

    report = run_suite(load_suite(write(tmp_path, CASES, thresholds="pass_rate: 0.5")), FakeAsk(SCRIPT))
    console = Console(force_terminal=True, width=80, record=True, color_system=None)
    print_summary(console, report)
    text = console.export_text()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    console = Console(force_terminal=True, width=40, record=True, color_system=None)
    console.print(rich_table(Grid("", ["Case", "Verdict"], [[LONG_ID, "broken"]])))
    first_column = [line.split("│")[1].strip() for line in console.export_text().splitlines() if line.startswith("│")]
    assert "".join(first_column) == LONG_ID  # folded over lines, every character kept
