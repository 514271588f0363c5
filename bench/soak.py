"""This module contains `python -m bench soak`: a steady load, the bot's resources every minute."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.phases import CUSTOMER_IDS, DRAIN_SECONDS, _gather, running_bot
from bench.process import BotProcess
from bench.report import ROOT, commit, machine
from bench.simulator import Customer, Tally, clock

RESULTS = ROOT / "bench" / "results" / "soak"
TASKS_METRIC = "complaint_bot_asyncio_tasks"
MIB = 1024 * 1024
# A figure is flat when its trend over the window (the last two thirds: the first third is
# the warm-up, caches filling and the pool growing) adds less than this, absolute or relative.
FLAT = {"rss_bytes": (1 * MIB, 0.02), "tasks": (2.0, 0.10), "fds": (2.0, 0.10)}


@dataclass(frozen=True, slots=True)
class Sample:
    """The bot's resources at one moment of the soak."""

    minute: float
    rss_bytes: int
    tasks: int | None  # None: /metrics did not answer
    fds: int
    database_bytes: int
    completed: int


def free_port() -> int:
    """A TCP port nothing listens on now (for the bot's METRICS_PORT)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def database_bytes(workdir: Path) -> int:
    """The SQLite database's size on disk, its WAL and shared-memory files included."""
    return sum(p.stat().st_size for p in workdir.glob("bot.sqlite3*") if p.is_file())


async def open_tasks(client: httpx.AsyncClient, url: str) -> int | None:
    """The bot's asyncio tasks, from its /metrics (the gauge is read when scraped)."""
    try:
        response = await client.get(url, timeout=5.0)
    except httpx.HTTPError:
        return None
    for line in response.text.splitlines():
        if line.startswith(TASKS_METRIC + " "):
            return int(float(line.split()[1]))
    return None


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (x, y) points; None with fewer than three."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def verdict(samples: Sequence[Sample]) -> dict[str, Any]:
    """Per figure: its slope per minute over the last two thirds, and flat or growing; overall
    flat only when memory, tasks and files all are. The database grows with the complaints
    filed, as it should, so its growth is reported per complaint and judged by no one."""
    if not samples:
        return {"verdict": "too short to tell", "figures": {}}
    start = samples[-1].minute / 3
    window = [s for s in samples if s.minute >= start]
    span = window[-1].minute - window[0].minute if window else 0.0
    figures: dict[str, Any] = {}
    overall = "flat"
    for name, (absolute, relative) in FLAT.items():
        values: list[tuple[float, float]] = [
            (s.minute, float(v)) for s in window if (v := getattr(s, name)) is not None
        ]
        per_minute = slope(values)
        if per_minute is None:
            figures[name] = {"per_minute": None, "verdict": "too short to tell"}
            overall = "too short to tell" if overall == "flat" else overall
            continue
        mean = sum(v for _, v in values) / len(values)
        added = per_minute * span
        growing = added > max(absolute, relative * mean)
        figures[name] = {
            "per_minute": per_minute,
            "added_over_window": added,
            "verdict": "growing" if growing else "flat",
        }
        if growing:
            overall = "growing"
    first, last = samples[0], samples[-1]
    filed = last.completed - first.completed
    figures["database_bytes"] = {
        "added": last.database_bytes - first.database_bytes,
        "per_complaint": (last.database_bytes - first.database_bytes) / filed if filed else None,
    }
    return {"verdict": overall, "window_from_minute": start, "figures": figures}


def line(sample: Sample) -> str:
    """One sample as printed."""
    tasks = "?" if sample.tasks is None else str(sample.tasks)
    return (
        f"[{sample.minute:6.2f} min] RSS {sample.rss_bytes / MIB:7.1f} MiB, tasks {tasks:>5}, "
        f"fds {sample.fds:4d}, database {sample.database_bytes / MIB:7.2f} MiB, "
        f"complaints {sample.completed:,}"
    )


async def soak(
    args: argparse.Namespace, workdir: Path, emit: Callable[[str], None] = print
) -> dict[str, Any]:
    """Runs the soak; returns its samples and verdict as JSON data."""
    port = free_port()
    # Our bot's status rounds run within the window (with its default of 30 minutes the first
    # one would come at a 30-minute soak's very last sample); --bot-env can still override it.
    rounds = {"STATUS_POLL_MINUTES": f"{args.status_poll_minutes:g}"}
    env = rounds | dict(args.bot_env) | {"METRICS_PORT": str(port)}
    seconds = args.minutes * 60
    samples: list[Sample] = []
    async with (
        running_bot(
            args.bot,
            workdir,
            api_latency=args.api_latency,
            backend_latency=args.backend_latency,
            extra_env=env,
        ) as running,
        httpx.AsyncClient() as client,
    ):
        process = running.process
        if not isinstance(process, BotProcess):
            raise TypeError("the soak runs one process")  # pg2 is not offered
        url = f"http://127.0.0.1:{port}/metrics"
        tally = Tally()
        started = clock()
        until = started + seconds

        async def sample() -> None:
            taken = Sample(
                minute=(clock() - started) / 60,
                rss_bytes=process.rss_bytes(),
                tasks=await open_tasks(client, url) if args.bot == "ours" else None,
                fds=len(os.listdir(f"/proc/{process.pid}/fd")),
                database_bytes=database_bytes(workdir),
                completed=tally.conversations_completed,
            )
            samples.append(taken)
            emit(line(taken))

        async def sampler() -> None:
            await sample()
            while True:
                await asyncio.sleep(args.interval)
                await sample()

        spread = args.think / args.customers if args.think else 0.0
        customers = [
            Customer(running.telegram, CUSTOMER_IDS + i, tally, think_seconds=args.think)
            for i in range(args.customers)
        ]
        watcher = asyncio.ensure_future(sampler())
        try:
            await _gather(
                running,
                [
                    c.run(
                        until=until,
                        stop=until + DRAIN_SECONDS,
                        conversations=None,
                        start_delay=i * spread,
                    )
                    for i, c in enumerate(customers)
                ],
            )
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await sample()
    judged = verdict(samples)
    return {
        "samples": [asdict(s) for s in samples],
        "completed": tally.conversations_completed,
        "failed": tally.conversations_failed,
        "status_poll_minutes": args.status_poll_minutes,
        **judged,
    }


def parser() -> argparse.ArgumentParser:
    """The soak's command line."""
    p = argparse.ArgumentParser(
        prog="python -m bench soak",
        description="Keeps customers at human pace against one bot for a while and prints, every "
        "--interval seconds, its resident memory, open asyncio tasks (ours: from its /metrics), "
        "open file descriptors (/proc/<pid>/fd) and database size; at the end whether each is "
        "flat or growing (slope over the last two thirds).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--minutes", type=float, default=30.0, help="how long (fractions allowed)")
    p.add_argument("--customers", type=int, default=200, help="concurrent customers")
    p.add_argument("--think", type=float, default=3.0, help="mean pause before each step, s")
    p.add_argument("--api-latency", type=float, default=0.1, help="s added to Bot API calls")
    p.add_argument("--backend-latency", type=float, default=0.0, help="s added to backend calls")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between samples")
    p.add_argument(
        "--status-poll-minutes",
        type=float,
        default=5.0,
        help="our bot's STATUS_POLL_MINUTES: its rounds of status checks over every open "
        "complaint run several times within the soak, not once at its end",
    )
    p.add_argument(
        "--bot",
        choices=("ours", "baseline"),
        default="ours",
        help="which bot (the baseline has no /metrics: its tasks show as ?)",
    )
    p.add_argument(
        "--bot-env",
        type=_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for our bot; repeatable",
    )
    p.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    return p


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the soak, prints the samples and the verdict, writes the JSON."""
    args = parser().parse_args(argv)
    if min(args.minutes, args.customers, args.interval, args.status_poll_minutes) <= 0:
        parser().error(
            "--minutes, --customers, --interval and --status-poll-minutes must be positive"
        )
    info = machine()
    revision = commit()
    print(f"# commit {revision}")
    print(
        f"# {info['nproc']} cores, {info['cpu']}, Python {info['python']}, {info['os']}; "
        f"{args.bot}, {args.customers} customers, think ~{args.think:g} s, "
        f"Bot API +{args.api_latency * 1000:.0f} ms, status rounds every "
        f"{args.status_poll_minutes:g} min, {args.minutes:g} min",
        flush=True,
    )
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        result = asyncio.run(soak(args, Path(scratch), lambda text: print(text, flush=True)))
    for name, figure in result["figures"].items():
        if "verdict" in figure:
            per = figure["per_minute"]
            if per is None:
                trend = "–"
            elif name == "rss_bytes":
                trend = f"{per / 1024:+,.0f} KiB/min"
            else:
                trend = f"{per:+,.1f}/min"
            print(f"{name}: {figure['verdict']} ({trend} over the last two thirds)")
    db = result["figures"].get("database_bytes", {})
    if db.get("per_complaint") is not None:
        print(f"database: +{db['per_complaint']:,.0f} bytes per complaint filed (expected)")
    print(f"complaints completed: {result['completed']:,}, customers cut off: {result['failed']}")
    print(f"verdict: {result['verdict']}")
    data = {
        "command": "python -m bench soak " + " ".join(sys.argv[2:] if argv is None else argv),
        "commit": revision,
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **result,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"JSON: {path}")
    return 0
