"""This module contains `python -m bench report`: bench/RESULTS.md rendered from a run's JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.report import ROOT, TEMPLATE, render_results

RESULTS = ROOT / "bench" / "results"


def newest(directory: Path) -> Path | None:
    """The newest run's JSON in `directory` (the file names are UTC timestamps)."""
    runs = sorted(directory.glob("*.json"))
    return runs[-1] if runs else None


def parser() -> argparse.ArgumentParser:
    """`report [JSON] [--template FILE] [--none]`."""
    p = argparse.ArgumentParser(
        prog="python -m bench report",
        description="Prints bench/RESULTS.md: the template's prose with a run's commit, machine, "
        "table and targets (`make bench` runs the benchmark, then this on its JSON).",
    )
    p.add_argument(
        "json", nargs="?", type=Path, help=f"a run's JSON (default: the newest in {RESULTS})"
    )
    p.add_argument(
        "--template", type=Path, default=TEMPLATE, help="the prose, with {{...}} markers"
    )
    p.add_argument(
        "--none",
        action="store_true",
        help="no run: the note that the figures come from the next `make bench` instead",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Renders RESULTS.md to stdout."""
    args = parser().parse_args(argv)
    template = args.template.read_text()
    if args.none:
        sys.stdout.write(render_results(None, template))
        return 0
    path = args.json or newest(RESULTS)
    if path is None:
        print(f"no run's JSON in {RESULTS}: run `python -m bench` first", file=sys.stderr)
        return 2
    run = json.loads(path.read_text())
    shown = path.resolve()
    shown_text = str(shown.relative_to(ROOT)) if shown.is_relative_to(ROOT) else str(path)
    sys.stdout.write(render_results(run, template, shown_text))
    return 0
