"""How fast does the inspector redraw? Milliseconds per change, for a 96 px face.

Builds ``lm.widgets.Inspector`` on synthetic faces (MTFL-like attributes, the
15 keypoints) with fake predictions of six models, no frontend attached
(the time is the kernel's: drawing, PNG encoding, the table; the browser's
own drawing is not included), and times, for each situation below, the
median over RUNS repeats of one change:

* a slider step with one / three models ticked;
* a slider step with error lines and keypoint numbers on;
* a refilter (the failure filter toggled: order, slider and grid redone);
* a new grid (worst -> best of GRID_COUNT faces).

The goal (issue 15) is a redraw under about 100 ms on 2 cores.

Run: ``.venv/bin/python benchmarks/inspector_speed.py``; the table is printed
and written to build/benchmarks/inspector_speed.txt, and with the date and the
load average to inspector_speed.json (what ``reporting.readme`` reads).
"""
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from landmarklib import config, widgets
from landmarklib.core.files import atomic_path, write_json
from landmarklib.data import FaceSet

FACES = 500             # faces in the split (as big as the MTFL test set)
MODELS = ("v1", "v2", "v3", "v4", "heatmap", "transfer")
RUNS = 30               # timed repeats of each change; the median is reported
GOAL_MS = 100.0
OUTPUT = config.BUILD / "benchmarks" / "inspector_speed.txt"


def make_inspector(seed=0):
    """An inspector over FACES synthetic faces with six fake models."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (FACES, 96, 96), dtype=np.uint8)
    keypoints = rng.uniform(15, 80, (FACES, 30)).astype(np.float32)
    keypoints[:, :4] = (66, 38, 30, 38)
    meta = pd.DataFrame({"source": "synthetic", "pose": rng.integers(1, 6, FACES),
                         "glasses": rng.integers(1, 3, FACES), "smile": rng.integers(1, 3, FACES),
                         "gender": rng.integers(1, 3, FACES)})
    predictions = {m: keypoints + rng.normal(0, 1 + i, keypoints.shape).astype(np.float32)
                   for i, m in enumerate(MODELS)}
    return widgets.Inspector(FaceSet(images, keypoints, meta), predictions, recipes=[])


def median_ms(change):
    """Median milliseconds of `change(k)` over RUNS calls (after one warm-up)."""
    change(0)
    times = []
    for k in range(1, RUNS + 1):
        start = time.perf_counter()
        change(k)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def slider_step(inspector):
    return lambda k: setattr(inspector.slider, "value", k % (inspector.slider.max + 1))


def measure():
    """Dict situation -> median ms."""
    inspector = make_inspector()
    out = {"slider step, 1 model": median_ms(slider_step(inspector))}
    for name in MODELS[1:3]:
        inspector.checks[name].value = True
    out["slider step, 3 models"] = median_ms(slider_step(inspector))
    inspector.lines_box.value = inspector.labels_box.value = True
    out["slider step, 3 models, lines + numbers"] = median_ms(slider_step(inspector))
    out["failure filter toggled (refilter + grid)"] = median_ms(
        lambda k: setattr(inspector.failures_box, "value", k % 2 == 1))
    out["grid worst <-> best"] = median_ms(
        lambda k: setattr(inspector.grid_kind, "value", ("worst", "best")[k % 2]))
    return out


def main():
    load = os.getloadavg()[0]
    results = measure()
    lines = [f"Inspector redraw, {FACES} faces of 96 px, {len(MODELS)} models; "
             f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
             f"load average {load:.2f} before the run, {os.getloadavg()[0]:.2f} after",
             "", "| change | median ms | goal |", "|---|---|---|"]
    for name, ms in results.items():
        lines.append(f"| {name} | {ms:.1f} | {'ok' if ms < GOAL_MS else 'OVER'} < {GOAL_MS:.0f} |")
    table = "\n".join(lines)
    print(table)
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(table + "\n")
    write_json({"date": time.strftime("%Y-%m-%d"), "load_average": load, "text": table,
                "median_ms": results}, OUTPUT.with_suffix(".json"))


if __name__ == "__main__":
    main()
