"""How fast the default dataset is converted and loaded from its cache.

Converts the whole default dataset from the source photos into a temporary
cache folder (nothing in data/ is touched), then loads it back from that cache
several times. Goals (issue 2): convert < 2 min on 2 cores, load < 1 s.

    .venv/bin/python benchmarks/data_speed.py

Prints a table and writes it to build/benchmarks/data_speed.txt.
"""
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import landmarklib as lm

DATASET = "faces15"
LOAD_REPEATS = 5
CONVERT_GOAL_S = 120.0
LOAD_GOAL_S = 1.0
OUT = lm.config.BUILD / "benchmarks" / "data_speed.txt"


def cpu_model():
    """The CPU's name from /proc/cpuinfo, or what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def usable_cores():
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def timed(function):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(cache_dir):
    """Convert once into `cache_dir`, then load from it LOAD_REPEATS times."""
    convert_s, faces = timed(lambda: lm.datasets.load_dataset(
        DATASET, progress=False, cache_dir=cache_dir))
    loads = [timed(lambda: lm.datasets.load_dataset(DATASET, progress=False,
                                                    cache_dir=cache_dir))[0]
             for _ in range(LOAD_REPEATS)]
    return {"images": len(faces), "convert_s": convert_s,
            "load_s": statistics.median(loads)}


def table(result):
    """The result as a fixed-width text table with the machine it ran on."""
    verdict = lambda seconds, goal: "ok" if seconds < goal else "TOO SLOW"  # noqa: E731
    rows = [
        ("dataset", DATASET, ""),
        ("images", f"{result['images']:,}", ""),
        ("convert from scratch", f"{result['convert_s']:.1f} s",
         f"goal < {CONVERT_GOAL_S:.0f} s: {verdict(result['convert_s'], CONVERT_GOAL_S)}"),
        (f"load from cache (median of {LOAD_REPEATS})", f"{result['load_s']:.2f} s",
         f"goal < {LOAD_GOAL_S:.0f} s: {verdict(result['load_s'], LOAD_GOAL_S)}"),
        ("cores usable", str(usable_cores()), f"of {os.cpu_count()} on the machine"),
        ("cpu", cpu_model(), ""),
        ("python", platform.python_version(), sys.platform),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows[:5])
    lines = [f"{name:<{width}}  {value:<{value_width}}  {note}".rstrip() for name, value, note in rows]
    return "\n".join(lines) + "\n"


def main():
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="landmarklib-bench-") as cache_dir:
        result = measure(Path(cache_dir))
    text = table(result)
    print(text, end="")
    with lm.files.atomic_path(OUT) as tmp:
        tmp.write_text(text)
    lm.readme.write_benchmark_output("data_speed", text, load)  # for `make readme`
    print(f"(written to {OUT.relative_to(lm.config.ROOT)})")


if __name__ == "__main__":
    main()
