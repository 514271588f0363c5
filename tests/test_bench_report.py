"""The benchmark's report: RESULTS.md rendered from a run's JSON, the commit, the soak's verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.render import main as report_main
from bench.report import NO_RUN, TEMPLATE, commit, render_results
from bench.soak import Sample, verdict

FIXTURE = Path(__file__).parent / "fixtures" / "bench_run.json"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


def row(text: str, name: str) -> list[str]:
    """The cells of the first table row named `name`."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == name:
            return cells[1:]
    raise AssertionError(f"no row {name!r}")


def test_results_md_is_the_template_filled_with_the_run(run: dict[str, Any]) -> None:
    template = TEMPLATE.read_text()
    text = render_results(run, template, "bench/results/x.json")

    before, after = template.split("{{run}}")
    assert text.startswith(before) and text.endswith(after)  # the prose, untouched
    assert "{{" not in text
    assert "at commit `abc1234+dirty`, on 2 cores, Test CPU 3000, Python 3.11.7, Linux 6.1" in text
    assert "(JSON: `bench/results/x.json`)" in text
    assert "# commit abc1234+dirty, started 2026-12-01T10:00:00+00:00" in text
    assert "$ python -m bench --customers 1 --latency-customers 200" in text
    # Bot API calls per complaint in every phase: 150 / 20 and 140 / 20; none completed: "–".
    assert row(text, "Bot API calls per complaint") == ["7.50", "7.00", "1.07"]
    slow = text.split("**200 concurrent customers")[1]
    assert row(slow, "Bot API calls per complaint") == ["7.00", "–", "–"]
    # The bursts: (after − before) ÷ drafts, each burst its own block.
    assert row(text, "bytes per open conversation (after − before) ÷ drafts") == [
        "4,096",
        "1,024",
        "4.00",
    ]
    assert row(text, "VmRSS peak while it ran (MiB)") == ["120.0", "53.0", "2.26"]
    assert "**Burst: 10,240 new customers at once" in text
    assert (
        "- [met] ≤ 4,096 bytes of resident memory per open conversation right after a burst "
        "of 2,048 new customers: 4,096 bytes" in text
    )
    assert (
        "- [MISSED] ≤ 4,096 bytes of resident memory per open conversation right after a "
        "burst of 10,240 new customers: 8,192 bytes" in text
    )
    assert (
        "- [MISSED] CPU per update ≤ 1x the baseline's in every phase: "
        "1 customer 1.50x, 200 customers, slow 0.50x" in text
    )
    assert "- [MISSED] Bot API calls per complaint ≤ the baseline's at every load: " in text
    assert "- [met] a lone customer's p50 update → first reply within 5 ms" in text


def test_without_a_run_results_md_says_the_figures_come_from_the_next_run() -> None:
    text = render_results(None, "intro\n\n{{run}}\n\nprose\n")
    assert text == f"intro\n\n{NO_RUN}\n\nprose\n"


def test_a_marker_the_renderer_does_not_know_is_an_error(run: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="table"):
        render_results(run, "{{run}} {{table}}")


def test_the_committed_results_md_is_a_rendering_of_the_template() -> None:
    before, after = TEMPLATE.read_text().split("{{run}}")
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    assert text.startswith(before) and text.endswith(after)


def test_python_m_bench_report_prints_the_rendering(
    run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.md"
    template.write_text("# Results\n\n{{run}}\n")
    assert report_main([str(FIXTURE), "--template", str(template)]) == 0
    printed = capsys.readouterr().out
    assert printed == render_results(run, template.read_text(), "tests/fixtures/bench_run.json")


def test_the_commit_is_marked_dirty_when_the_tree_has_changes(tmp_path: Path) -> None:
    assert commit(tmp_path) == "unknown"  # not a git tree

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("commit", "-qm", "one")
    head = git("rev-parse", "--short", "HEAD")
    assert commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("two")
    assert commit(tmp_path) == f"{head}+dirty"


def samples(rss: list[int], tasks: list[int], fds: list[int]) -> list[Sample]:
    return [
        Sample(float(i), r, t, f, 1000 * i, 10 * i)
        for i, (r, t, f) in enumerate(zip(rss, tasks, fds, strict=True))
    ]


def test_the_soak_is_flat_when_nothing_grows_after_the_first_third() -> None:
    mib = 1024 * 1024
    # The first third climbs (warm-up); then memory wobbles, tasks and files hold.
    rss = [50 * mib, 60 * mib, 70 * mib, 70 * mib, 71 * mib, 70 * mib, 70 * mib, 71 * mib, 70 * mib]
    judged = verdict(samples(rss, [10, 30, 40, 41, 39, 40, 41, 40, 40], [12, 15, 16] + [16] * 6))
    assert judged["verdict"] == "flat"
    assert judged["window_from_minute"] == pytest.approx(8 / 3)
    assert judged["figures"]["database_bytes"] == {"added": 8000, "per_complaint": 100.0}


def test_the_soak_calls_a_steady_climb_growing() -> None:
    mib = 1024 * 1024
    tasks = [40 + 5 * i for i in range(9)]  # a leak: 5 more tasks a minute
    judged = verdict(samples([70 * mib] * 9, tasks, [16] * 9))
    assert judged["verdict"] == "growing"
    assert judged["figures"]["tasks"]["verdict"] == "growing"
    assert judged["figures"]["tasks"]["per_minute"] == pytest.approx(5.0)
    assert judged["figures"]["rss_bytes"]["verdict"] == "flat"


def test_a_soak_too_short_for_a_trend_says_so() -> None:
    assert verdict(samples([1, 2], [1, 2], [1, 2]))["verdict"] == "too short to tell"
