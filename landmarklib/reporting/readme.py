"""The README's tables of numbers, written by code from real runs (``make readme``).

Each table lives between two markers in README.md::

    <!-- begin: results -->
    ...generated...
    <!-- end: results -->

and is rebuilt from the files the runs and benchmarks write
(``reporting.readme_blocks``: results, ablation, climb, goals, detector-crops, detectors,
real-pipeline, report-time, speed, bad-inputs).

A block whose inputs are absent (a fresh clone) is left as it is, and
``update_readme`` says so. ``python -m landmarklib.reporting.readme [--check]``.
"""
import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

from ..core import config
from ..core.files import atomic_path, write_json
from .readme_blocks import (BENCHMARKS, BLOCKS, HEADERS, PLACEHOLDERS, RESULTS_HEADER,
                            ROW_FORMATS, generate, profile_with_runs)

README = config.ROOT / "README.md"
BEGIN, END = "<!-- begin: {} -->", "<!-- end: {} -->"
# lm.readme.<name> for the tests and the benchmarks
__all__ = ["BEGIN", "BENCHMARKS", "BLOCKS", "END", "README", "RESULTS_HEADER", "format_problems",
           "generate", "main", "read_blocks", "replace_blocks", "update_readme",
           "write_benchmark_output"]


# --- README.md -----------------------------------------------------------------------

def read_blocks(text):
    """{name: content} of every marked block of a README text."""
    blocks = {}
    for name in BLOCKS:
        begin, end = BEGIN.format(name), END.format(name)
        if begin in text and end in text:
            blocks[name] = text.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    return blocks


def replace_blocks(text, blocks):
    """`text` with each block of `blocks` (name -> Markdown, None = keep) rewritten.

    Raises ValueError if a block's markers are missing or doubled (a bug of the
    README, which tests/test_readme.py checks).
    """
    for name, content in blocks.items():
        if content is None:
            continue
        begin, end = BEGIN.format(name), END.format(name)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"README: expected one {begin} and one {end}")
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{begin}\n{content}\n{end}{tail}"
    return text


def format_problems(name, content):
    """How a block's content departs from what ``generate`` writes (empty: none)."""
    if name not in HEADERS or content == PLACEHOLDERS.get(name):
        return []
    lines = [line for line in content.splitlines() if line.startswith("|")]
    if not lines or lines[0] != HEADERS[name]:
        return [f"{name}: the table header is not {HEADERS[name]!r}"]
    names, patterns = ROW_FORMATS[name]
    problems = []
    for line in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]  # \| is text
        if len(cells) != names + len(patterns):
            problems.append(f"{name}: {len(cells)} cells in {line!r}")
            continue
        for cell, pattern in zip(cells[names:], patterns):
            if not re.fullmatch(pattern, cell):
                problems.append(f"{name}: cell {cell!r} of {line!r} is not as generated")
    return problems


def update_readme(path=None, profile="cpu", models_dir=None, build_dir=None, check=False,
                  only=None):
    """Rewrite the generated blocks of README.md; returns {name: what happened}.

    Args:
        path: the README (default the checkout's README.md).
        profile: whose runs fill the results tables.
        models_dir, build_dir: see ``generate``.
        check: compare only; nothing is written.
        only: names of the blocks to rewrite (default all of BLOCKS).
    """
    path = Path(path or README)
    text = path.read_text()
    blocks = generate(profile, models_dir, build_dir)
    if only:
        unknown = sorted(set(only) - set(blocks))
        if unknown:
            raise ValueError(f"unknown README block {unknown[0]!r}; expected one of {list(blocks)}")
        blocks = {name: blocks[name] for name in only}
    current = read_blocks(text)
    status = {}
    for name, content in blocks.items():
        if content is None:
            runs_block = name in ("results", "ablation", "climb")
            status[name] = f"kept (no inputs: {'no runs' if runs_block else 'not measured here'})"
        elif current.get(name) == content:
            status[name] = "up to date"
        else:
            status[name] = "differs" if check else "rewritten"
    if not check:
        new = replace_blocks(text, blocks)
        if new != text:
            with atomic_path(path) as tmp:
                Path(tmp).write_text(new)
    return status


def write_benchmark_output(name, text, load_average=None, records=None, folder=None):
    """Save a benchmark's table for the README's blocks: build/benchmarks/<name>.json.

    Args:
        name: the benchmark script's name without .py.
        text: the table it printed.
        load_average: the 1-minute load average when it started (default: now).
        records: machine-readable rows (a list of dicts), if any.
        folder: where to write (default build/benchmarks).
    """
    if load_average is None:
        load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    out = Path(folder or BENCHMARKS) / f"{name}.json"
    write_json({"benchmark": name, "date": time.strftime("%Y-%m-%d"),
                "load_average": round(float(load_average), 2), "text": text,
                "records": records or []}, out)
    return out


def main(argv=None):
    """``python -m landmarklib.reporting.readme [--profile P] [--readme PATH] [--check]
    [--only BLOCK ...]``;
    exits with 1 when --check finds a block that differs from what would be written."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="auto", help="cpu, full, smoke or auto")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    parser.add_argument("--models", default=str(config.MODELS), help="run folders")
    parser.add_argument("--build", default=str(config.BUILD),
                        help="folder of comparison.csv and benchmarks/")
    parser.add_argument("--only", nargs="+", choices=BLOCKS, metavar="BLOCK",
                        help=f"rewrite these blocks only (of {', '.join(BLOCKS)})")
    args = parser.parse_args(argv)
    profile = profile_with_runs(args.models) if args.profile == "auto" else args.profile
    status = update_readme(args.readme, profile, args.models, args.build, check=args.check,
                           only=args.only)
    for name, what in status.items():
        print(f"{args.readme}: {name}: {what}")
    if args.check and "differs" in status.values():
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
