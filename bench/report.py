"""This module contains the report: the side-by-side table, the targets, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The targets.
CPU_RATIO_TARGET = 1.5
STEP_P99_ROUND_TRIPS = 2.0
CARD_P99_SLACK_SECONDS = 0.5
MEMORY_TARGET_BYTES = 4096
BOTS = ("ours", "baseline")

Run = dict[str, Any]
Row = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets, as this run measured it."""

    name: str
    measured: str
    met: bool | None  # None: not measured in this run

    def line(self) -> str:
        mark = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"- [{mark}] {self.name}: {self.measured}"


def machine() -> dict[str, str]:
    """What the run ran on: cores available, CPU model, Python."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(run: Run, directory: Path) -> Path:
    """Writes the run to `directory/<UTC timestamp>.json`; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    return path


# -- formatting -------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ms(value: float | None, bound: bool = False) -> str:
    if value is None:
        return "–"
    ms = value * 1000
    text = f"{ms:,.0f}" if ms >= 10 else f"{ms:.1f}"
    return f"≥{text}" if bound else text


def _ratio(ours: float | None, base: float | None, ours_bound: bool, base_bound: bool) -> str:
    """ours ÷ baseline; a lower bound on one side makes the ratio a bound (or unknown)."""
    if ours is None or base is None or base == 0:
        return "–"
    if ours_bound and base_bound:
        return "?"
    ratio = ours / base
    text = f"{ratio:.2f}" if ratio < 100 else f"{ratio:,.0f}"
    if ours_bound:
        return f"≥{text}"
    if base_bound:
        return f"≤{text}"
    return text


def _pct_cell(p: dict[str, Any] | None) -> str:
    if not p or not p.get("count"):
        return "–"
    bounds = p["bound"]
    return " / ".join(_ms(p[k], b) for k, b in zip(("p50", "p90", "p99"), bounds, strict=True))


def _pct_ratio(ours: dict[str, Any] | None, base: dict[str, Any] | None) -> str:
    if not ours or not base or not ours.get("count") or not base.get("count"):
        return "–"
    return " / ".join(
        _ratio(ours[k], base[k], ours["bound"][i], base["bound"][i])
        for i, k in enumerate(("p50", "p90", "p99"))
    )


def _row(name: str, ours: Any, base: Any, fmt: Any, ratio: bool = True) -> Row:
    cell_o = fmt(ours) if ours is not None else "–"
    cell_b = fmt(base) if base is not None else "–"
    return (name, cell_o, cell_b, _ratio(ours, base, False, False) if ratio else "")


def _by_bot(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["bot"]: r for r in results}


# -- the table --------------------------------------------------------------------------------


def load_title(load: dict[str, Any]) -> str:
    """A phase's heading: customers, how long, and any added latency."""
    customers = load["customers"]
    parts = [f"{customers:,} concurrent customer{'s' if customers != 1 else ''}"]
    if load.get("conversations"):
        parts.append(f"{load['conversations']} complaint each")
    elif load.get("duration"):
        parts.append(f"{load['duration']:g} s")
    if load.get("api_latency"):
        parts.append(f"Bot API +{load['api_latency'] * 1000:.0f} ms")
    if load.get("backend_latency"):
        parts.append(f"backend +{load['backend_latency']:g} s")
    if load.get("think"):
        parts.append(f"think ~{load['think']:g} s")
    return ", ".join(parts)


def phase_rows(results: Sequence[dict[str, Any]]) -> list[Row]:
    """The rows of one load, ours beside the baseline."""
    bots = _by_bot(results)
    o, b = bots.get("ours", {}), bots.get("baseline", {})
    load = (o or b)["load"]

    def get(r: dict[str, Any], key: str) -> Any:
        return r.get(key) if r else None

    def busy(r: dict[str, Any], key: str) -> float | None:
        return r[key] / r["elapsed"] * 100 if r and r.get("elapsed") else None

    cpu_o, cpu_b = get(o, "cpu_seconds_per_update"), get(b, "cpu_seconds_per_update")
    rows: list[Row] = [
        (f"**{load_title(load)}**", "", "", ""),
        _row(
            "complete conversations/s",
            get(o, "conversations_per_second"),
            get(b, "conversations_per_second"),
            _num,
        ),
        _row("updates/s", get(o, "updates_per_second"), get(b, "updates_per_second"), _num),
        _row("complaints completed", get(o, "completed"), get(b, "completed"), str, False),
        _row(
            "bot CPU per update (ms)",
            cpu_o * 1000 if cpu_o is not None else None,
            cpu_b * 1000 if cpu_b is not None else None,
            lambda v: _num(v, 2),
        ),
        _row("bot CPU busy (% of a core)", busy(o, "bot_cpu"), busy(b, "bot_cpu"), _num, False),
        _row(
            "harness CPU busy (% of a core)",
            busy(o, "harness_cpu"),
            busy(b, "harness_cpu"),
            _num,
            False,
        ),
        (
            "update → first reply p50 / p90 / p99 (ms)",
            _pct_cell(get(o, "step_first_reply")),
            _pct_cell(get(b, "step_first_reply")),
            _pct_ratio(get(o, "step_first_reply"), get(b, "step_first_reply")),
        ),
        (
            "Submit → card p50 / p90 / p99 (ms)",
            _pct_cell(get(o, "submit_to_card")),
            _pct_cell(get(b, "submit_to_card")),
            _pct_ratio(get(o, "submit_to_card"), get(b, "submit_to_card")),
        ),
    ]
    failed = [f"{r['bot']}: {r['failed']}" for r in (o, b) if r and r.get("failed")]
    if failed:
        rows.append(
            (
                "conversations cut off at the phase's end",
                str(o.get("failed", "–")) if o else "–",
                str(b.get("failed", "–")) if b else "–",
                "",
            )
        )
    return rows


def calls_rows(run: Run) -> list[Row]:
    """Bot API calls per completed complaint, over the throughput phases."""
    totals: dict[str, dict[str, int]] = {bot: {} for bot in BOTS}
    completed = dict.fromkeys(BOTS, 0)
    for result in run.get("throughput", []):
        for method, count in result["calls"].items():
            totals[result["bot"]][method] = totals[result["bot"]].get(method, 0) + count
        completed[result["bot"]] += result["completed"]

    def per(bot: str, method: str | None = None) -> float | None:
        if not completed[bot]:
            return None
        calls = totals[bot]
        count = sum(calls.values()) if method is None else calls.get(method, 0)
        return count / completed[bot]

    rows: list[Row] = [
        ("**Bot API calls per completed complaint** (throughput phases)", "", "", ""),
        _row("all methods", per("ours"), per("baseline"), lambda v: _num(v, 2)),
    ]
    methods = sorted(set(totals["ours"]) | set(totals["baseline"]))
    rows += [
        _row(f"{method}", per("ours", method), per("baseline", method), lambda v: _num(v, 2))
        for method in methods
    ]
    return rows


def memory_rows(results: Sequence[dict[str, Any]]) -> list[Row]:
    """Resident memory with many drafts open."""
    bots = _by_bot(results)
    o, b = bots.get("ours"), bots.get("baseline")
    target = (o or b or {}).get("target", 0)
    rows: list[Row] = [
        (f"**{target:,} conversations left open (a third at each of 3 steps)**", "", "", "")
    ]
    mib = 1024 * 1024

    def get(r: dict[str, Any] | None, key: str) -> Any:
        return r.get(key) if r else None

    rows.append(
        _row(
            "VmRSS before (MiB)",
            _div(get(o, "rss_before"), mib),
            _div(get(b, "rss_before"), mib),
            _num,
        )
    )
    for index in range(max(len(get(o, "milestones") or []), len(get(b, "milestones") or []))):
        mo, mb = _milestone(o, index), _milestone(b, index)
        opened = (mo or mb or (0, 0))[0]
        rows.append(
            _row(
                f"VmRSS with {opened:,} open (MiB)",
                _div(mo[1], mib) if mo else None,
                _div(mb[1], mib) if mb else None,
                _num,
            )
        )
    rows.append(
        _row(
            "bytes per open conversation",
            get(o, "bytes_per_conversation"),
            get(b, "bytes_per_conversation"),
            lambda v: _num(v, 0),
        )
    )
    return rows


def _milestone(result: dict[str, Any] | None, index: int) -> tuple[int, int] | None:
    marks = (result or {}).get("milestones") or []
    if index >= len(marks):
        return None
    opened, rss = marks[index]
    return int(opened), int(rss)


def _div(value: float | None, by: float) -> float | None:
    return None if value is None else value / by


def _grouped(results: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Results grouped by load (ours and baseline side by side), in run order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        key = json.dumps(result["load"], sort_keys=True)
        groups.setdefault(key, []).append(result)
    return list(groups.values())


def render_table(run: Run) -> str:
    """The whole table, Markdown, ours beside the baseline with the ratio."""
    rows: list[Row] = []
    for group in _grouped(run.get("throughput", [])):
        rows += phase_rows(group)
    for group in _grouped(run.get("latency", [])):
        rows += phase_rows(group)
    if run.get("throughput"):
        rows += calls_rows(run)
    if run.get("memory"):
        rows += memory_rows(run["memory"])
    header: Row = ("figure", "ours", "baseline", "ours ÷ baseline")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
        "|"
        + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths))
        + "|",
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- the targets ------------------------------------------------------------------------------


def targets(run: Run) -> list[Target]:
    """The issue's targets against this run's figures."""
    found: list[Target] = []
    ratios = []
    for group in _grouped(run.get("throughput", [])):
        bots = _by_bot(group)
        o, b = bots.get("ours"), bots.get("baseline")
        if o and b and o.get("cpu_seconds_per_update") and b.get("cpu_seconds_per_update"):
            ratios.append(
                (o["load"]["customers"], o["cpu_seconds_per_update"] / b["cpu_seconds_per_update"])
            )
    found.append(
        Target(
            f"CPU per update ≤ {CPU_RATIO_TARGET}x the baseline's (every throughput phase)",
            ", ".join(f"{c:,} customers {r:.2f}x" for c, r in ratios) or "–",
            all(r <= CPU_RATIO_TARGET for _, r in ratios) if ratios else None,
        )
    )
    ours_latency = [r for r in run.get("latency", []) if r["bot"] == "ours"]
    for result in ours_latency:
        load = result["load"]
        api, backend = load["api_latency"], load["backend_latency"]
        step = result["step_first_reply"]
        limit = STEP_P99_ROUND_TRIPS * api
        found.append(
            Target(
                f"{load['customers']} customers, Bot API +{api * 1000:.0f} ms: p99 update → first "
                f"reply < {limit * 1000:.0f} ms",
                f"{_ms(step['p99'], step['bound'][2])} ms",
                _below(step, limit),
            )
        )
        card = result["submit_to_card"]
        limit = backend + CARD_P99_SLACK_SECONDS
        found.append(
            Target(
                f"{load['customers']} customers, backend +{backend:g} s: p99 Submit → card < "
                f"{limit * 1000:.0f} ms",
                f"{_ms(card['p99'], card['bound'][2])} ms",
                _below(card, limit),
            )
        )
    for result in run.get("memory", []):
        if result["bot"] == "ours":
            per = result.get("bytes_per_conversation")
            found.append(
                Target(
                    f"< {MEMORY_TARGET_BYTES:,} bytes of memory per open conversation",
                    f"{_num(per, 0)} bytes",
                    None if per is None else per < MEMORY_TARGET_BYTES,
                )
            )
    calls = {bot: _calls_per_complaint(run, bot) for bot in BOTS}
    if calls["ours"] is not None:
        base = calls["baseline"]
        found.append(
            Target(
                "Bot API calls per complaint no more than the baseline's",
                f"ours {calls['ours']:.2f}, baseline {_num(base, 2)}",
                None if base is None else calls["ours"] <= base + 0.01,
            )
        )
    return found


def _below(percentiles: dict[str, Any], limit: float) -> bool | None:
    value = percentiles.get("p99")
    if value is None:
        return None
    if percentiles["bound"][2]:
        return False if value >= limit else None
    return bool(value < limit)


def _calls_per_complaint(run: Run, bot: str) -> float | None:
    results = [r for r in run.get("throughput", []) if r["bot"] == bot]
    completed = sum(r["completed"] for r in results)
    calls = sum(sum(r["calls"].values()) for r in results)
    return calls / completed if completed else None


def render(run: Run) -> str:
    """The table followed by the targets, as printed at the end of a run."""
    parts = [render_table(run), "", "Targets:", *(t.line() for t in targets(run))]
    return "\n".join(parts)
