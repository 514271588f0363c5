"""The benchmark harness still drives both bots (one customer, one complaint), and reports.

Speed is not tested here: this only keeps `python -m bench` from rotting.
"""

from __future__ import annotations

from pathlib import Path

from bench.phases import Load, run_burst, run_load
from bench.report import render
from bench.soak import parser as soak_parser
from bench.soak import soak


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
    assert "| Bot API calls per complaint " in table  # a row in the phase itself


async def test_a_burst_of_new_customers_leaves_drafts_open_and_memory_is_read(
    tmp_path: Path,
) -> None:
    result = await run_burst("ours", 6, tmp_path, cap=60)

    assert (result.customers, result.opened, result.failed) == (6, 6, 0)
    assert 0 < result.rss_before <= result.rss_peak
    assert result.rss_after <= result.rss_peak
    assert result.bytes_per_conversation == (result.rss_after - result.rss_before) / 6
    table = render({"burst": [result.as_json()]})
    assert "**Burst: 6 new customers at once, each leaving a draft open**" in table
    assert "bytes per open conversation (after − before) ÷ drafts" in table


async def test_a_few_seconds_of_soak_print_memory_tasks_files_and_database(
    tmp_path: Path,
) -> None:
    options = ["--minutes", "0.1", "--interval", "2", "--customers", "3", "--think", "0.2"]
    # (with a round of status checks within the soak)
    args = soak_parser().parse_args([*options, "--status-poll-minutes", "0.05"])
    printed: list[str] = []

    result = await soak(args, tmp_path, printed.append)

    samples = result["samples"]
    assert len(samples) >= 3  # at the start, every 2 s, at the end
    assert len(printed) == len(samples)
    assert all(s["rss_bytes"] > 0 and s["fds"] > 0 for s in samples)
    # The tasks come from the bot's /metrics: at least its main task and the poller's.
    assert all(s["tasks"] is not None and s["tasks"] >= 2 for s in samples)
    assert samples[-1]["database_bytes"] > 0
    assert result["completed"] > 0 and result["failed"] == 0
    assert result["status_poll_minutes"] == 0.05
    assert result["verdict"] in ("flat", "growing", "too short to tell")
    assert "RSS" in printed[0] and "tasks" in printed[0] and "fds" in printed[0]
