"""The summary table's layout."""

from __future__ import annotations

from qtrade.e2e.summary import table


def test_columns_are_padded_and_numbers_right_aligned() -> None:
    lines = table(
        ["phase", "passed", "time"], [["phase1", "6", "1.00s"], ["e2e", "12", "-"]], {1, 2}
    )
    assert lines == [
        "phase   passed   time",
        "------  ------  -----",
        "phase1       6  1.00s",
        "e2e         12      -",
    ]
