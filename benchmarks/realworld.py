"""The real pipeline, measured: test videos and test people's photos, end to end.

For one model (``--model RUN``, default the cpu run of the demo's version, as
04_evaluate chose it on validation people, else the small test model of
build/test-models/v5), prints and writes to build/benchmarks/realworld.md:

* per scenario of ``realworld_videos.SCENARIOS`` (640x480, 150 frames, the last
  15 blank; faces of test-split people at 60-250 px, roll up to +-20 deg,
  motion, blur, a brightness change; ``realworld_videos.SCENARIO_PEOPLE`` videos of
  different test people, the same in every scenario, scored together): detection rate on face frames, false
  detections on blank frames, median / mean NME (% of the eye distance),
  failures (no face or NME > 10 %), jitter, end-to-end frames/s and detector
  runs, through ``video.annotate_video`` (what ``python -m landmarklib video``
  runs), smoothing on (the demo's default) and off, and over all videos together;
* the photo split: YouTube-Faces test people's photos and MTFL testing.txt
  through ``photo.landmarks_in_photo`` (what ``predict-image`` runs), with 1,
  2 and 3 passes (crop from the detector, then re-crops from the keypoints):
  detection rate, median / mean NME in photo pixels, failures.

Goals (issue 13): median NME <= 6 % on videos and photos, detection >= 98 % of
face frames, none on blank frames, >= 60 frames/s with one face on 2 cores.
The machine may be shared: the load average is printed with the tables.

Run: ``.venv/bin/python benchmarks/realworld.py [--model models/heatmap-cpu]
[--photos 200] [--scenarios small medium]``.
"""
import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from landmarklib import (  # noqa: E402
    config, readme, realworld, realworld_versions, realworld_videos, video)
from landmarklib.core.files import atomic_path  # noqa: E402
from landmarklib.inference import photo  # noqa: E402
from landmarklib.training.runs import RunStore  # noqa: E402
from video_speed import limit_cores  # noqa: E402  (benchmarks/ is on sys.path when run)

CORES = 2
# The demo's version, as 04_evaluate chose it on validation people (cpu runs)
DEMO_RUN = RunStore().path(realworld_versions.chosen_version("cpu"), "cpu")
DEFAULT_MODEL = next((p for p in (DEMO_RUN, config.BUILD / "test-models" / "v5")
                      if (p / "model.keras").exists()), DEMO_RUN)
OUTPUT = config.BUILD / "benchmarks" / "realworld.md"
PASSES = (1, 2, 3)


def load_average():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def markdown(frame, digits=2):
    """A DataFrame as a Markdown table."""
    frame = frame.round(digits)
    head = "| " + " | ".join([frame.index.name or ""] + [str(c) for c in frame.columns]) + " |"
    rule = "|" + "---|" * (len(frame.columns) + 1)
    rows = ["| " + " | ".join([str(i)] + [f"{v:g}" if isinstance(v, float) else str(v)
                                          for v in row]) + " |"
            for i, row in zip(frame.index, frame.to_numpy())]
    return "\n".join([head, rule] + rows)


def all_videos(folder):
    """``realworld.video_scores`` over the frames of every video annotated in `folder`
    (the goals are stated over all test videos; the rows above are per scenario)."""
    scored = [(pd.read_csv(folder / f"{src.stem}.csv"), np.load(realworld.truth_path(src)))
              for src in sorted(folder.glob("*_[0-9].mp4"))]
    return realworld.pooled_video_scores(scored)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="a run folder")
    parser.add_argument("--photos", type=int, default=200, help="test photos per source")
    parser.add_argument("--scenarios", nargs="*",
                        help="names of realworld_videos.SCENARIOS (default all)")
    args = parser.parse_args()
    limit_cores(CORES)
    start, load = time.perf_counter(), load_average()
    predictor = photo.predictor_for_run(args.model)
    detector = photo.default_detector()
    folder = Path(tempfile.mkdtemp())
    lines = [f"# Real pipeline: model {args.model}, detector {detector.name}",
             "", f"{platform.machine()}, {CORES} cores, load average {load:.1f} at start", ""]
    for smooth in ("one-euro", "none"):
        table = realworld_videos.evaluate_videos(predictor, folder / smooth, video.annotate_video,
                                                 scenarios=args.scenarios, smooth=smooth,
                                                 detector=detector)
        table.loc["all videos"] = {**all_videos(folder / smooth), "fps": table["fps"].mean(),
                                   "detector runs": table["detector runs"].sum()}
        table.index.name = "video"
        lines += [f"## Test videos, smoothing {smooth}", "", markdown(table), ""]
        print("\n".join(lines[-4:]), flush=True)
    photos = realworld.photos_of_test_people(limit=args.photos)
    for passes in PASSES:
        table = realworld.summarise_photos(realworld.photo_split(
            predictor, photos=photos, detector=detector, passes=passes))
        table.index.name = "photos"
        lines += [f"## Test people's photos, at most {passes} pass(es)", "", markdown(table), ""]
        print("\n".join(lines[-4:]), flush=True)
    lines += [f"load average {load_average():.1f} at end; run time "
              f"{time.perf_counter() - start:.0f} s"]
    text = "\n".join(lines) + "\n"
    print(lines[-1])
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(text)
    readme.write_benchmark_output("realworld", text, load)  # for `make readme`


if __name__ == "__main__":
    main()
