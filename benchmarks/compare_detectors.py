"""Our trained models against dlib's 68-point predictor and MediaPipe Face Mesh.

Both detectors run on the original photos of the person-disjoint YouTube-Faces
test split and of the MTFL test set, find the face themselves, and are scored
in the 96x96 crop of that face (see landmarklib/offtheshelf.py). Our models
see the crops. Faces a detector misses are counted and left out of *every*
row of the table, so all rows are scored on the same faces.

Two environments (MediaPipe 0.10.14 needs numpy < 2, TensorFlow 2.21 numpy 2):

    make detectors-venv                                   # once
    .venv-detectors/bin/python benchmarks/compare_detectors.py --predict
    .venv/bin/python benchmarks/compare_detectors.py [--profile cpu] [--flip]

The second step runs the first itself when its output is missing and
.venv-detectors exists. The table is also written to
build/benchmarks/compare_detectors.txt.

The test videos of the real-pipeline evaluation too (``--videos``): step 2
makes them (``realworld_videos.scenario_videos`` in build/realworld/videos, as
04_evaluate does), step 1 runs dlib and MediaPipe Face Mesh in video mode on
every frame (largest face, as the demo picks it) and writes one CSV per video
and detector beside it, which 04_evaluate's real-pipeline table and step 2
score against the videos' true keypoints.
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

DETECTOR_PYTHON = ROOT / ".venv-detectors" / "bin" / "python"
VIDEO_FOLDER = ROOT / "build" / "realworld" / "videos"   # as 04_evaluate makes them


def run_detectors(limit=None):
    """Step 1 (detector environment): keypoints of both detectors on each test split."""
    from landmarklib import offtheshelf
    from landmarklib.data import load_dataset
    from landmarklib.core.files import atomic_path

    faces = load_dataset("faces15")
    detectors = [offtheshelf.DlibDetector(), offtheshelf.MediaPipeDetector()]
    for split in offtheshelf.SPLITS:
        rows = np.flatnonzero(faces.meta["split"].to_numpy() == split)[:limit]
        paths, points = offtheshelf.source_annotations(faces.meta.iloc[rows])
        arrays = {"rows": rows, "files": faces.meta["file"].to_numpy()[rows].astype(str)}
        for detector in detectors:
            start = time.perf_counter()
            arrays[detector.name] = offtheshelf.predict_crops(detector, paths, points)
            arrays[detector.name + " ms"] = np.array(
                1000 * (time.perf_counter() - start) / len(rows))
        path = offtheshelf.predictions_path(split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
        print(f"{split}: {len(rows)} faces -> {path}")


def run_detectors_on_videos(folder):
    """Step 1 (detector environment): every frame of every test video in `folder`."""
    from landmarklib import offtheshelf
    from landmarklib.core.files import atomic_path, write_json

    truths = sorted(Path(folder).glob("*_truth.npy"))
    if not truths:
        raise SystemExit(f"{folder}: no test videos (*_truth.npy); step 2 makes them")
    for truth in truths:
        video = truth.with_name(truth.name[:-len("_truth.npy")] + ".mp4")
        for detector in (offtheshelf.DlibDetector(), offtheshelf.MediaPipeDetector(video=True)):
            table, ms = offtheshelf.predict_video(detector, video)
            path = offtheshelf.detector_csv(video, detector.name)
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
            write_json({"truth": offtheshelf.truth_digest(truth), "ms_per_frame": ms},
                       path.with_suffix(".json"))
            print(f"{video.name}: {detector.name} found a face in {len(table)} frames, "
                  f"{ms:.1f} ms per frame")


def score_videos(folder, predicted=False):
    """Step 2 (project environment): the detectors' scores per test-video scenario, or None."""
    import pandas as pd

    from landmarklib import offtheshelf, realworld, realworld_videos

    videos = realworld_videos.scenario_videos(folder)
    rows = []
    for scenario, made in videos.items():
        for name, scored in offtheshelf.video_tables(made).items():
            rows.append({"scenario": scenario, "method": name,
                         **realworld.pooled_video_scores(scored)})
    if not rows:
        if predicted or not DETECTOR_PYTHON.exists():
            return None
        subprocess.run([str(DETECTOR_PYTHON), __file__, "--predict", "--videos", str(folder)],
                       check=True)
        return score_videos(folder, predicted=True)
    return pd.DataFrame(rows).drop(columns=["fps"])


def score(profile, flip):
    """Step 2 (project environment): one row per detector and trained model."""
    import os

    import pandas as pd

    import landmarklib as lm

    load = os.getloadavg()[0]

    runs = lm.evaluate.load_runs(profile, train_missing=False)
    if not runs:
        print(f"no trained {profile} runs in models/: train them first "
              f"(python -m landmarklib train --version v4 --profile {profile})")
    table = lm.offtheshelf.comparison(runs, flip=flip)
    with pd.option_context("display.width", 120, "display.precision", 2):
        text = table.to_string(index=False)
    text += ("\nfaces: those every detector found (missed: the detector's misses); "
             "ms_per_face: detectors on the whole photo with face search, one process; "
             "models on the 96x96 crop, batch 256\n")
    print(text)
    out = lm.config.BUILD / "benchmarks" / "compare_detectors.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    # the README's "detectors" block is written from these rows (make readme)
    lm.readme.write_benchmark_output("compare_detectors", text, load,
                                     records=None if table is None else table.to_dict("records"))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predict", action="store_true",
                        help="step 1: run the detectors (in .venv-detectors)")
    parser.add_argument("--limit", type=int, help="step 1: only the first N faces per split")
    parser.add_argument("--profile", default="cpu", help="step 2: which trained runs to score")
    parser.add_argument("--flip", action="store_true", help="step 2: models with flip TTA")
    parser.add_argument("--videos", nargs="?", const=str(VIDEO_FOLDER),
                        help="the test videos (default build/realworld/videos) instead of photos")
    args = parser.parse_args()
    if args.predict:
        return run_detectors_on_videos(args.videos) if args.videos else run_detectors(args.limit)
    if args.videos:
        table = score_videos(args.videos)
        print("no detector environment: make detectors-venv" if table is None
              else table.round(2).to_string(index=False))
        return None
    from landmarklib import offtheshelf
    from landmarklib.data import load_dataset

    if not offtheshelf.predictions_current(load_dataset("faces15", progress=False)):
        if not DETECTOR_PYTHON.exists():
            print("compare_detectors: skipped; dlib and MediaPipe live in their own "
                  "environment: run `make detectors-venv` first")
            return
        subprocess.run([str(DETECTOR_PYTHON), __file__, "--predict"], check=True)
    score(args.profile, args.flip)


if __name__ == "__main__":
    main()
