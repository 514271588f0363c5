"""This module contains the report: the side-by-side table, the targets, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The targets.
CPU_RATIO_TARGET = 1.0
LONE_REPLY_SLACK_SECONDS = 0.005
STEP_P99_ROUND_TRIPS = 2.0
CARD_P99_SLACK_SECONDS = 0.5
MEMORY_TARGET_BYTES = 4096
ROOT = Path(__file__).resolve().parent.parent
# Where bench/RESULTS.md's prose lives; `python -m bench report` fills in the run.
TEMPLATE = ROOT / "bench" / "RESULTS.template.md"
# What RESULTS.md says where the run goes when there is none yet (nothing is made up).
NO_RUN = (
    "*No run of this code has been rendered here yet: the figures come from the next "
    "`make bench` (which runs `python -m bench`, then `python -m bench report` on its JSON).*"
)
# The columns, in this order (the bots a run has results of), and the ratios shown beside them.
BOTS = ("ours", "pg2", "baseline")
RATIOS = (("ours", "baseline"), ("pg2", "ours"))

Run = dict[str, Any]
Row = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets, as this run measured it."""

    name: str
    measured: str
    met: bool | None  # None: not measured in this run

    def line(self) -> str:
        mark = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"- [{mark}] {self.name}: {self.measured}"


def commit(root: Path = ROOT) -> str:
    """The commit the run ran on (`git rev-parse --short HEAD`), "+dirty" when the work tree has
    changes (the figures are then of code no commit holds); "unknown" outside a git tree."""

    git_path = shutil.which("git")
    if git_path is None:
        return "unknown"

    def git(*args: str) -> str:
        done = subprocess.run(
            [git_path, *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if changed else head


def machine() -> dict[str, str]:
    """What the run ran on: cores available, CPU model, Python, OS."""
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
        "os": f"{platform.system()} {platform.release()}",
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


def _ratio(top: float | None, bottom: float | None, top_bound: bool, bottom_bound: bool) -> str:
    """top ÷ bottom; a lower bound on one side makes the ratio a bound (or unknown)."""
    if top is None or bottom is None or bottom == 0:
        return "–"
    if top_bound and bottom_bound:
        return "?"
    ratio = top / bottom
    text = f"{ratio:.2f}" if ratio < 100 else f"{ratio:,.0f}"
    if top_bound:
        return f"≥{text}"
    if bottom_bound:
        return f"≤{text}"
    return text


def _pct_cell(p: dict[str, Any] | None) -> str:
    if not p or not p.get("count"):
        return "–"
    bounds = p["bound"]
    return " / ".join(_ms(p[k], b) for k, b in zip(("p50", "p90", "p99"), bounds, strict=True))


def _pct_ratio(top: dict[str, Any] | None, bottom: dict[str, Any] | None) -> str:
    if not top or not bottom or not top.get("count") or not bottom.get("count"):
        return "–"
    return " / ".join(
        _ratio(top[k], bottom[k], top["bound"][i], bottom["bound"][i])
        for i, k in enumerate(("p50", "p90", "p99"))
    )


def _by_bot(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["bot"]: r for r in results}


@dataclass(frozen=True, slots=True)
class Layout:
    """The table's columns: the bots of the run side by side, then their ratios."""

    bots: tuple[str, ...]
    ratios: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, run: Run) -> Layout:
        """The bots that have results in `run` (in BOTS order), and the ratios among them."""
        parts = ("throughput", "latency", "burst", "memory")
        seen = {r["bot"] for part in parts for r in run.get(part, [])}
        bots = tuple(bot for bot in BOTS if bot in seen) or ("ours",)
        ratios = tuple((a, b) for a, b in RATIOS if a in bots and b in bots)
        return cls(bots, ratios)

    def header(self) -> Row:
        return ("figure", *self.bots, *(f"{a} ÷ {b}" for a, b in self.ratios))

    def heading(self, title: str) -> Row:
        return (title, *[""] * (len(self.bots) + len(self.ratios)))

    def values(
        self, name: str, values: Mapping[str, Any], fmt: Callable[[Any], str], ratio: bool = True
    ) -> Row:
        """A row of one figure per bot, and (if `ratio`) the ratios of those figures."""
        cells = [fmt(values[bot]) if values.get(bot) is not None else "–" for bot in self.bots]
        ratios = [
            _ratio(values.get(a), values.get(b), False, False) if ratio else ""
            for a, b in self.ratios
        ]
        return (name, *cells, *ratios)

    def percentiles(self, name: str, values: Mapping[str, dict[str, Any] | None]) -> Row:
        """A row of p50 / p90 / p99 per bot, and their ratios."""
        cells = [_pct_cell(values.get(bot)) for bot in self.bots]
        ratios = [_pct_ratio(values.get(a), values.get(b)) for a, b in self.ratios]
        return (name, *cells, *ratios)


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


def phase_rows(results: Sequence[dict[str, Any]], layout: Layout) -> list[Row]:
    """The rows of one load, the bots side by side."""
    bots = _by_bot(results)
    load = next(iter(bots.values()))["load"]

    def each(key: str, scale: float = 1.0) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for bot, r in bots.items():
            value = r.get(key)
            found[bot] = value * scale if value is not None and scale != 1.0 else value
        return found

    def busy(key: str) -> dict[str, float | None]:
        return {
            bot: r[key] / r["elapsed"] * 100 if r.get("elapsed") else None
            for bot, r in bots.items()
        }

    rows: list[Row] = [
        layout.heading(f"**{load_title(load)}**"),
        layout.values("complete conversations/s", each("conversations_per_second"), _num),
        layout.values("updates/s", each("updates_per_second"), _num),
        layout.values("complaints completed", each("completed"), str, ratio=False),
        layout.values(
            "Bot API calls per complaint", each("calls_per_complaint"), lambda v: _num(v, 2)
        ),
        layout.values(
            "bot CPU per update (ms; pg2: both instances)"
            if "pg2" in layout.bots
            else "bot CPU per update (ms)",
            each("cpu_seconds_per_update", 1000),
            lambda v: _num(v, 2),
        ),
    ]
    if any(r.get("database_cpu") is not None for r in bots.values()):
        total = {
            bot: (r["bot_cpu"] + (r.get("database_cpu") or 0.0)) / r["updates_answered"] * 1000
            if r.get("updates_answered")
            else None
            for bot, r in bots.items()
        }
        rows += [
            layout.values(
                "PostgreSQL server CPU per update (ms)",
                each("database_cpu_seconds_per_update", 1000),
                lambda v: _num(v, 2),
                ratio=False,
            ),
            layout.values("bot + database server CPU per update (ms)", total, lambda v: _num(v, 2)),
        ]
    rows += [
        layout.values("bot CPU busy (% of a core)", busy("bot_cpu"), _num, ratio=False),
        layout.values("harness CPU busy (% of a core)", busy("harness_cpu"), _num, ratio=False),
        layout.percentiles("update → first reply p50 / p90 / p99 (ms)", each("step_first_reply")),
        layout.percentiles("Submit → card p50 / p90 / p99 (ms)", each("submit_to_card")),
    ]
    if any(r.get("failed") for r in bots.values()):
        rows.append(
            layout.values(
                "conversations cut off at the phase's end", each("failed"), str, ratio=False
            )
        )
    for method in sorted({m for r in bots.values() for m in r.get("refused") or {}}):
        rows.append(
            layout.values(
                f"{method} calls refused by Telegram (e.g. presses older than 15 s)",
                {bot: (r.get("refused") or {}).get(method, 0) for bot, r in bots.items()},
                str,
                ratio=False,
            )
        )
    return rows


def calls_rows(run: Run, layout: Layout) -> list[Row]:
    """Bot API calls per completed complaint, over the throughput phases."""
    totals: dict[str, dict[str, int]] = {bot: {} for bot in BOTS}
    completed = dict.fromkeys(BOTS, 0)
    for result in run.get("throughput", []):
        for method, count in result["calls"].items():
            totals[result["bot"]][method] = totals[result["bot"]].get(method, 0) + count
        completed[result["bot"]] += result["completed"]

    def per(method: str | None = None) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        for bot in BOTS:
            calls = totals[bot]
            count = sum(calls.values()) if method is None else calls.get(method, 0)
            found[bot] = count / completed[bot] if completed[bot] else None
        return found

    rows: list[Row] = [
        layout.heading("**Bot API calls per completed complaint** (throughput phases)"),
        layout.values("all methods", per(), lambda v: _num(v, 2)),
    ]
    methods = sorted({method for calls in totals.values() for method in calls})
    rows += [layout.values(method, per(method), lambda v: _num(v, 2)) for method in methods]
    return rows


def memory_rows(results: Sequence[dict[str, Any]], layout: Layout) -> list[Row]:
    """Resident memory with many drafts open."""
    bots = _by_bot(results)
    target = next(iter(bots.values()), {}).get("target", 0)
    rows: list[Row] = [
        layout.heading(f"**{target:,} conversations left open (a third at each of 3 steps)**")
    ]
    mib = 1024 * 1024
    rows.append(
        layout.values(
            "VmRSS before (MiB)", {bot: r["rss_before"] / mib for bot, r in bots.items()}, _num
        )
    )
    for index in range(max((len(r.get("milestones") or []) for r in bots.values()), default=0)):
        marks = {bot: _milestone(r, index) for bot, r in bots.items()}
        opened = next((m[0] for m in marks.values() if m), 0)
        rows.append(
            layout.values(
                f"VmRSS with {opened:,} open (MiB)",
                {bot: m[1] / mib if m else None for bot, m in marks.items()},
                _num,
            )
        )
    rows.append(
        layout.values(
            "bytes per open conversation",
            {bot: r.get("bytes_per_conversation") for bot, r in bots.items()},
            lambda v: _num(v, 0),
        )
    )
    return rows


def burst_rows(results: Sequence[dict[str, Any]], layout: Layout) -> list[Row]:
    """Resident memory right after a burst of new customers, each leaving a draft open."""
    bots = _by_bot(results)
    first = next(iter(bots.values()))
    mib = 1024 * 1024
    rows: list[Row] = [
        layout.heading(
            f"**Burst: {first['customers']:,} new customers at once, each leaving a draft open**"
        ),
        layout.values(
            "drafts opened", {b: r["opened"] for b, r in bots.items()}, "{:,}".format, False
        ),
        layout.values("burst took (s)", {b: r["elapsed"] for b, r in bots.items()}, _num, False),
        layout.values(
            "VmRSS before (MiB)", {b: r["rss_before"] / mib for b, r in bots.items()}, _num
        ),
        layout.values(
            "VmRSS peak while it ran (MiB)", {b: r["rss_peak"] / mib for b, r in bots.items()}, _num
        ),
        layout.values(
            "VmRSS after it settled (MiB)", {b: r["rss_after"] / mib for b, r in bots.items()}, _num
        ),
        layout.values(
            "bytes per open conversation (after − before) ÷ drafts",
            {b: r.get("bytes_per_conversation") for b, r in bots.items()},
            lambda v: _num(v, 0),
        ),
    ]
    if any(r.get("failed") for r in bots.values()):
        rows.append(
            layout.values(
                "drafts not opened in time", {b: r["failed"] for b, r in bots.items()}, str, False
            )
        )
    return rows


def _milestone(result: dict[str, Any] | None, index: int) -> tuple[int, int] | None:
    marks = (result or {}).get("milestones") or []
    if index >= len(marks):
        return None
    opened, rss = marks[index]
    return int(opened), int(rss)


def _grouped(results: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Results grouped by load (the bots side by side), in run order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        key = json.dumps(result["load"], sort_keys=True)
        groups.setdefault(key, []).append(result)
    return list(groups.values())


def _grouped_by(results: Iterable[dict[str, Any]], key: str) -> list[list[dict[str, Any]]]:
    """Results grouped by one of their fields, in run order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(result[key], []).append(result)
    return list(groups.values())


def render_table(run: Run) -> str:
    """The whole table, Markdown: the bots side by side, then their ratios."""
    layout = Layout.of(run)
    rows: list[Row] = []
    for group in _grouped(run.get("throughput", [])):
        rows += phase_rows(group, layout)
    for group in _grouped(run.get("latency", [])):
        rows += phase_rows(group, layout)
    if run.get("throughput"):
        rows += calls_rows(run, layout)
    for group in _grouped_by(run.get("burst", []), "customers"):
        rows += burst_rows(group, layout)
    if run.get("memory"):
        rows += memory_rows(run["memory"], layout)
    header = layout.header()
    columns = len(header)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(columns)]
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
    phases = [*_grouped(run.get("throughput", [])), *_grouped(run.get("latency", []))]
    ratios: list[tuple[str, float]] = []
    calls: list[tuple[str, float, float]] = []
    for group in phases:
        bots = _by_bot(group)
        o, b = bots.get("ours"), bots.get("baseline")
        if not o or not b:
            continue
        name = _short(o["load"])
        if o.get("cpu_seconds_per_update") and b.get("cpu_seconds_per_update"):
            ratios.append((name, o["cpu_seconds_per_update"] / b["cpu_seconds_per_update"]))
        if o.get("calls_per_complaint") is not None and b.get("calls_per_complaint") is not None:
            calls.append((name, o["calls_per_complaint"], b["calls_per_complaint"]))
    found.append(
        Target(
            f"CPU per update ≤ {CPU_RATIO_TARGET:g}x the baseline's in every phase",
            ", ".join(f"{c} {r:.2f}x" for c, r in ratios) or "–",
            all(r <= CPU_RATIO_TARGET for _, r in ratios) if ratios else None,
        )
    )
    lone = [
        _by_bot(group)
        for group in _grouped(run.get("throughput", []))
        if group[0]["load"]["customers"] == 1
    ]
    for bots in lone:
        o, b = bots.get("ours"), bots.get("baseline")
        if (
            not o
            or not b
            or not o["step_first_reply"].get("p50")
            or not b["step_first_reply"].get("p50")
        ):
            continue
        ours, base = o["step_first_reply"]["p50"], b["step_first_reply"]["p50"]
        found.append(
            Target(
                f"a lone customer's p50 update → first reply within "
                f"{LONE_REPLY_SLACK_SECONDS * 1000:g} ms of the baseline's",
                f"ours {_ms(ours)} ms, baseline {_ms(base)} ms",
                ours - base <= LONE_REPLY_SLACK_SECONDS,
            )
        )
    # The latency targets, for ours and for pg2 (its lines marked with "pg2:").
    our_latency = [r for r in run.get("latency", []) if r["bot"] in ("ours", "pg2")]
    for result in sorted(our_latency, key=lambda r: r["bot"] != "ours"):
        load = result["load"]
        who = "" if result["bot"] == "ours" else f"{result['bot']}: "
        api, backend = load["api_latency"], load["backend_latency"]
        step = result["step_first_reply"]
        limit = STEP_P99_ROUND_TRIPS * api
        found.append(
            Target(
                f"{who}{load['customers']} customers, Bot API +{api * 1000:.0f} ms: p99 update → "
                f"first reply < {limit * 1000:.0f} ms",
                f"{_ms(step['p99'], step['bound'][2])} ms",
                _below(step, limit),
            )
        )
        card = result["submit_to_card"]
        limit = backend + CARD_P99_SLACK_SECONDS
        found.append(
            Target(
                f"{who}{load['customers']} customers, backend +{backend:g} s: p99 Submit → card "
                f"< {limit * 1000:.0f} ms",
                f"{_ms(card['p99'], card['bound'][2])} ms",
                _below(card, limit),
            )
        )
    for result in run.get("burst", []):
        if result["bot"] == "ours":
            per = result.get("bytes_per_conversation")
            found.append(
                Target(
                    f"≤ {MEMORY_TARGET_BYTES:,} bytes of resident memory per open conversation "
                    f"right after a burst of {result['customers']:,} new customers",
                    f"{_num(per, 0)} bytes",
                    None if per is None else per <= MEMORY_TARGET_BYTES,
                )
            )
    for result in run.get("memory", []):
        if result["bot"] == "ours":
            per = result.get("bytes_per_conversation")
            found.append(
                Target(
                    f"≤ {MEMORY_TARGET_BYTES:,} bytes per open conversation, "
                    f"{result['target']:,} opened 200 at a time",
                    f"{_num(per, 0)} bytes",
                    None if per is None else per <= MEMORY_TARGET_BYTES,
                )
            )
    if calls:
        found.append(
            Target(
                "Bot API calls per complaint ≤ the baseline's at every load",
                ", ".join(f"{name} {o:.2f} vs {b:.2f}" for name, o, b in calls),
                all(o <= b + 0.005 for _, o, b in calls),
            )
        )
    return found


def _short(load: dict[str, Any]) -> str:
    """A phase's name in a target's line: its customers, and "slow" under added latency."""
    slow = ", slow" if load.get("api_latency") or load.get("backend_latency") else ""
    customers = load["customers"]
    return f"{customers:,} customer{'s' if customers != 1 else ''}{slow}"


def _below(percentiles: dict[str, Any], limit: float) -> bool | None:
    value = percentiles.get("p99")
    if value is None:
        return None
    if percentiles["bound"][2]:
        return False if value >= limit else None
    return bool(value < limit)


def header_lines(run: Run) -> list[str]:
    """What the table was measured on: the command, the commit, the machine, when, how long."""
    lines = [f"$ {run['command']}"] if run.get("command") else []
    info = run.get("machine") or {}
    when = run.get("started")
    lines.append(
        f"# commit {run.get('commit') or 'unknown'}" + (f", started {when}" if when else "")
    )
    if info:
        elapsed = run.get("elapsed_seconds")
        lines.append(
            f"# {info.get('nproc', '?')} cores, {info.get('cpu', 'unknown CPU')}, "
            f"Python {info.get('python', '?')}, {info.get('os') or info.get('platform', '?')}"
            + (f"; {elapsed:.0f} s" if elapsed is not None else "")
        )
    return lines


def render(run: Run) -> str:
    """The commit and machine, the table, then the targets, as printed at the end of a run."""
    parts = [
        *header_lines(run),
        "",
        render_table(run),
        "",
        "Targets:",
        *(t.line() for t in targets(run)),
    ]
    return "\n".join(parts)


def render_results(run: Run | None, template: str, json_path: str | None = None) -> str:
    """bench/RESULTS.md: the template's prose with this run (or, without one, a note saying
    the figures come from the next run) in place of its {{run}} marker."""
    if run is None:
        fields = {"run": NO_RUN}
    else:
        info = run.get("machine") or {}
        where = (
            f"Run on {str(run.get('started', '–'))[:10]} at commit "
            f"`{run.get('commit') or 'unknown'}`, on {info.get('nproc', '?')} cores, "
            f"{info.get('cpu', 'unknown CPU')}, Python {info.get('python', '?')}, "
            f"{info.get('os') or info.get('platform', '?')}"
            + (f" (JSON: `{json_path}`)" if json_path else "")
            + ":"
        )
        fields = {
            # The command and machine in a code block (a bare "# ..." would be a heading).
            "run": "\n".join(
                [
                    where,
                    "",
                    "```",
                    *header_lines(run),
                    "```",
                    "",
                    render_table(run),
                    "",
                    "Targets:",
                    "",
                    *(t.line() for t in targets(run)),
                ]
            ),
        }
    text = template
    for name, value in fields.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        left = text[text.index("{{") : text.index("{{") + 30]
        raise ValueError(f"the template has a marker the renderer does not know: {left!r}")
    return text
