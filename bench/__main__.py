"""This module contains `python -m bench`: the phases in order, the table, the JSON file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.phases import DRAIN_SECONDS, Load, run_burst, run_load, run_memory, start_postgres
from bench.postgres import INSTALL_HINT, PostgresServer, find_binaries
from bench.process import BOTS, ROOT
from bench.report import commit, machine, render, write_json

RESULTS = ROOT / "bench" / "results"


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _bots(text: str) -> list[str]:
    bots = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [bot for bot in bots if bot not in BOTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown bot {unknown[0]!r}; choose from {BOTS}")
    return bots


def default_bots() -> tuple[list[str], str | None]:
    """Every bot, but pg2 only when PostgreSQL is installed; and why pg2 was left out."""
    if find_binaries() is None:
        reason = f"pg2 skipped: PostgreSQL is not installed ({INSTALL_HINT})"
        return [bot for bot in BOTS if bot != "pg2"], reason
    return list(BOTS), None


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def parser() -> argparse.ArgumentParser:
    """The command line: every load parameter, with defaults that finish in under 10 minutes."""
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks `python -m bot` against a plain PTB bot (bench/baseline.py) "
        "over a loopback Bot API and a loopback complaints backend.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--bots",
        type=_bots,
        default=argparse.SUPPRESS,  # the default depends on PostgreSQL: see default_bots()
        help="which bots, comma-separated: ours (`python -m bot`, polling, SQLite), pg2 (two "
        "`python -m bot` in webhook mode on one PostgreSQL database, updates posted to them in "
        "turn; needs PostgreSQL installed), baseline (bench/baseline.py); "
        f"default: {','.join(BOTS)}, without pg2 when PostgreSQL is not installed",
    )
    g = p.add_argument_group("throughput (no added latency)")
    g.add_argument(
        "--customers", type=_numbers, default=[1, 10, 100, 1000], help="concurrent customers"
    )
    g.add_argument(
        "--duration",
        type=float,
        default=8.0,
        help="seconds customers keep starting complaints (phases below --one-complaint-from)",
    )
    g.add_argument(
        "--one-complaint-from",
        type=int,
        default=1000,
        help="from this many customers on, each customer files exactly one complaint",
    )
    g.add_argument("--cap", type=float, default=120.0, help="hard stop of a phase, in seconds")
    g = p.add_argument_group("latency (slow Telegram, slow backend)")
    g.add_argument("--latency-customers", type=_numbers, default=[200], help="0 skips the phase")
    g.add_argument("--api-latency", type=float, default=0.1, help="seconds added to Bot API calls")
    g.add_argument(
        "--backend-latency", type=float, default=1.0, help="seconds added to backend calls"
    )
    g.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="mean pause of a customer before each step (drawn from 0.5x..1.5x)",
    )
    g.add_argument(
        "--latency-duration",
        type=float,
        default=20.0,
        help="seconds customers keep starting complaints in the latency phase",
    )
    g.add_argument(
        "--latency-cap", type=float, default=60.0, help="hard stop of the latency phase, in s"
    )
    g = p.add_argument_group("memory")
    g.add_argument(
        "--burst-customers",
        type=_numbers,
        default=[2000],
        help="new customers arriving at once, each leaving a draft open; resident memory per "
        "open conversation right after the burst settles (e.g. 2000,10000; 0 skips; "
        "pg2 is never measured here)",
    )
    g.add_argument(
        "--burst-cap", type=float, default=150.0, help="hard stop of a burst phase, in s"
    )
    g.add_argument(
        "--memory-conversations",
        type=int,
        default=10_000,
        help="drafts left open, opened 200 at a time (the gentler measure beside the burst); "
        "0 skips (pg2 is never measured here)",
    )
    g.add_argument(
        "--memory-cap", type=float, default=150.0, help="hard stop of the memory phase, in s"
    )
    g = p.add_argument_group("run")
    g.add_argument(
        "--bot-env",
        type=_pair,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for our bot (e.g. SUBMIT_MAX_IN_FLIGHT=64); repeatable",
    )
    g.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    g.add_argument("--keep-workdir", action="store_true", help="keep the bots' logs and data")
    return p


def loads(args: argparse.Namespace) -> tuple[list[Load], list[Load]]:
    """The throughput and latency loads the arguments ask for."""
    throughput = []
    for customers in args.customers:
        if customers >= args.one_complaint_from:
            load = Load(f"throughput-{customers}", customers, conversations=1, cap=args.cap)
        else:
            load = Load(
                f"throughput-{customers}",
                customers,
                duration=args.duration,
                cap=min(args.cap, args.duration + DRAIN_SECONDS),
            )
        throughput.append(load)
    latency = [
        Load(
            f"latency-{customers}",
            customers,
            duration=args.latency_duration,
            api_latency=args.api_latency,
            backend_latency=args.backend_latency,
            think=args.think,
            cap=args.latency_cap,
        )
        for customers in args.latency_customers
        if customers > 0
    ]
    return throughput, latency


class Progress:
    """One line per phase on stderr, so a long run shows where it is."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.started:5.0f} s] {text}", file=sys.stderr, flush=True)


async def run(
    args: argparse.Namespace,
    workdir: Path,
    progress: Progress,
    postgres: PostgresServer | None = None,
) -> dict[str, Any]:
    """Every phase, the bots one after the other; the results as JSON data.

    pg2 gets a fresh database on `postgres` in each phase.
    """
    extra_env = dict(args.bot_env)
    throughput, latency = loads(args)
    result: dict[str, Any] = {"throughput": [], "latency": [], "burst": [], "memory": []}
    for kind, phase_loads in (("throughput", throughput), ("latency", latency)):
        for load in phase_loads:
            for bot in args.bots:
                progress(f"{bot}: {load.label} …")
                phase = await run_load(
                    bot, load, workdir / f"{load.label}-{bot}", extra_env, postgres=postgres
                )
                progress(
                    f"{bot}: {load.label}: {phase.conversations_per_second:.1f} complaints/s, "
                    f"{phase.updates_per_second:.0f} updates/s, {phase.completed} completed, "
                    f"{phase.failed} cut off"
                )
                result[kind].append(phase.as_json())
    for customers in (n for n in args.burst_customers if n > 0):
        for bot in args.bots:
            if bot == "pg2":
                progress("pg2: no burst phase (it measures ours and the baseline only)")
                continue
            progress(f"{bot}: a burst of {customers:,} new customers …")
            burst = await run_burst(
                bot,
                customers,
                workdir / f"burst-{customers}-{bot}",
                cap=args.burst_cap,
                extra_env=extra_env,
            )
            progress(f"{bot}: {burst.bytes_per_conversation or 0:,.0f} bytes per conversation")
            result["burst"].append(burst.as_json())
    if args.memory_conversations > 0:
        for bot in args.bots:
            if bot == "pg2":
                progress("pg2: no memory phase (it measures ours and the baseline only)")
                continue
            progress(f"{bot}: opening {args.memory_conversations:,} conversations …")
            memory = await run_memory(
                bot,
                args.memory_conversations,
                workdir / f"memory-{bot}",
                cap=args.memory_cap,
                extra_env=extra_env,
            )
            progress(f"{bot}: {memory.bytes_per_conversation or 0:,.0f} bytes per conversation")
            result["memory"].append(memory.as_json())
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark, prints the table, writes the JSON; or `report` / `soak`."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["report"]:
        from bench.render import main as report_main

        return report_main(words[1:])
    if words[:1] == ["soak"]:
        from bench.soak import main as soak_main

        return soak_main(words[1:])
    p = parser()
    p.epilog = (
        "Also: `python -m bench report [JSON]` renders bench/RESULTS.md from a run's JSON; "
        "`python -m bench soak --minutes 30` watches the bot's memory, tasks, files and "
        "database under a steady load (each has --help)."
    )
    args = p.parse_args(words)
    # The loopback servers' 4xx answers (Telegram refusing a call) are counted in the table.
    logging.getLogger("tornado.access").setLevel(logging.ERROR)
    progress = Progress()
    if "bots" not in args:
        args.bots, skipped = default_bots()
        if skipped:
            progress(skipped)
    elif "pg2" in args.bots and find_binaries() is None:
        p.error(f"pg2 needs PostgreSQL, which is not installed ({INSTALL_HINT})")
    command = "python -m bench " + shlex.join(words)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    revision = commit()  # before the run: what the figures were measured on
    keep = tempfile.mkdtemp(prefix="bench-") if args.keep_workdir else None
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch, ExitStack() as stack:
        workdir = Path(keep or scratch)
        postgres = None
        if "pg2" in args.bots:
            progress("starting a PostgreSQL server for pg2 …")
            postgres = start_postgres()
            stack.callback(postgres.stop)
        results = asyncio.run(run(args, workdir, progress, postgres))
    data = {
        "command": command.strip(),
        "commit": revision,
        "started": started,
        "elapsed_seconds": round(time.perf_counter() - progress.started, 1),
        "machine": machine(),
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **results,
    }
    path = write_json(data, args.results)
    print(render(data))
    print()
    print(f"JSON: {path}")
    if keep:
        print(f"Logs and data: {keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
