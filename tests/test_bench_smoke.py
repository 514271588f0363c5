"""The benchmark harness still drives both bots (one customer, one complaint), and reports.

Speed is not tested here: this only keeps `python -m bench` from rotting.
"""

from __future__ import annotations

from pathlib import Path

from bench.phases import Load, run_load
from bench.report import render


async def test_one_customer_files_a_complaint_with_each_bot_and_the_table_renders(
    tmp_path: Path,
) -> None:
    load = Load("smoke", customers=1, conversations=1, cap=60)
    results = [await run_load(bot, load, tmp_path / bot) for bot in ("ours", "baseline")]

    for result in results:
        assert (result.bot, result.completed, result.failed) == (result.bot, 1, 0)
        assert result.updates_answered == 5  # /complaint, order, problem, category, Submit
        assert result.submit_to_card.count == 1
        assert result.backend_requests == 1
        assert result.calls.get("answerCallbackQuery") == 2
    table = render({"throughput": [result.as_json() for result in results]})
    assert "| complete conversations/s" in table
    assert "Submit → card p50 / p90 / p99 (ms)" in table
    assert "Bot API calls per completed complaint" in table
