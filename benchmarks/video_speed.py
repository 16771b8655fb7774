"""How fast is the video demo? Detector, crop, landmark model, refinement, end to end.

Times, on a 640x480 test video of one real face (``realworld_videos.make_test_video``,
a test-split person moving, zooming and rolling):

* the face detector (``photo.default_detector()``: MTCNN where installed),
  one full 640x480 frame;
* the de-rotated 96x96 crop (``photo.crop_framing``);
* the landmark model on one face (batch 1) called four ways: Keras eagerly,
  a ``tf.function`` with a fixed input signature, the TFLite interpreter and
  onnxruntime, with 2 threads and (in a subprocess) with 1;
* the per-face cost of 1, 2 and 3 passes (crop + TFLite + mapping back and
  re-framing, forced to run every pass);
* end to end: ``tracking.FaceTracker`` on decoded frames, and
  ``annotate_video`` (decode + detect/track + refine + predict + draw + mp4v
  encoding), in frames per second of wall time and per CPU-second of this
  process (less affected by other processes on a shared machine), with how
  many frames ran the detector.

Crop and model speed do not depend on the weights, but the tracker's does
(a model that loses the face sends every frame to the detector), so the end
to end runs use a trained model: ``--model RUN`` (default: the cpu run of the
demo's version, as 04_evaluate chose it on validation people, else the small
test model in build/test-models, else an untrained v4, flagged in the table),
with its framing bias taken out as ``photo.predictor_for_run`` does. Each number is a median of repeated runs. The machine may be
shared: the load average at the start is printed with the table.

Run: ``.venv/bin/python benchmarks/video_speed.py [--model models/heatmap-cpu]``;
the table is printed and written to build/benchmarks/video_speed.txt. Goal
(issue 13): >= 60 frames/s end to end for one face on 2 cores. See 05_demo,
"Speed".
"""
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2

from landmarklib import (config, export, framing_bias, models, realworld_versions, realworld_videos,
                         tracking, video)
from landmarklib.core.files import atomic_path
from landmarklib.inference import photo
from landmarklib.reporting import readme

CORES = 2
FRAMES = 150            # of the benchmark video (5 s at 30 fps)
REPEATS = 50            # timed calls per micro-benchmark
RUNS = 3                # end-to-end runs; the median is reported
GOAL_FPS = 60
TEST_MODELS = (config.BUILD / "test-models" / "v5", config.BUILD / "test-models" / "video")
OUTPUT = config.BUILD / "benchmarks" / "video_speed.txt"
MODEL_VERSION = "v4"


def median_ms(call, repeats=REPEATS):
    """Median milliseconds of `call()` after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def limit_cores(cores):
    """Pin this process to `cores` CPUs and tell OpenCV and TensorFlow so."""
    import tensorflow as tf

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    cv2.setNumThreads(cores)
    tf.config.threading.set_intra_op_parallelism_threads(cores)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def predictors(model, threads):
    """name -> predictor (uint8 crops -> keypoints) for every backend."""
    folder = Path(tempfile.mkdtemp())
    onnx = export.export_onnx(model, folder / "m.onnx")
    return {
        "Keras, eager call": photo.make_predictor(model, "keras"),
        "tf.function, fixed signature": photo.make_predictor(model, "function"),
        "TFLite interpreter": export.TFLitePredictor(export.to_tflite(model), num_threads=threads),
        "onnxruntime": export.ONNXPredictor(onnx, num_threads=threads),
    }


def landmark_ms(model, threads, crop):
    """name -> median ms for one face (batch 1)."""
    batch = crop[None]
    return {name: median_ms(lambda p=p: p(batch)) for name, p in predictors(model, threads).items()}


def one_core_landmark_ms():
    """Run landmark_ms with 1 thread in a fresh process (threads are fixed at TF start)."""
    code = ("import sys; sys.argv=['x']; import benchmarks.video_speed as b; "
            "b.limit_cores(1); import json, numpy as np; from landmarklib import models; "
            "m = models.build(b.MODEL_VERSION); crop = np.full((96, 96), 128, np.uint8); "
            "print('JSON', json.dumps(b.landmark_ms(m, 1, crop)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=config.ROOT, check=True).stdout
    import json

    return json.loads(out.split("JSON", 1)[1])


def forced_passes_ms(gray, framing, predictor, passes):
    """Median ms for one face through `passes` predictions (every pass runs)."""
    def run():
        f = framing
        for _ in range(passes):
            points, _ = photo.predict_framings(gray, [f], predictor)
            f = photo.framing_from_keypoints(points[0])
    return median_ms(run)


def trained_model(path):
    """(keras model, its name, its run folder) from `path`, the demo's cpu run
    (the version 04_evaluate chose), a test model, or an untrained v4 (no folder)."""
    from landmarklib.training.runs import RunStore, load_run

    demo = RunStore().path(realworld_versions.chosen_version("cpu"), "cpu")
    for candidate in ([Path(path)] if path else [demo, *TEST_MODELS]):
        if (candidate / "model.keras").exists():
            run = load_run(candidate)
            return run.model, candidate.name, run.dir
    return models.build(MODEL_VERSION), f"untrained {MODEL_VERSION} (the tracker loses faces)", None


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a run folder (default: the demo's cpu run, a test "
                                        "model or an untrained v4)")
    args = parser.parse_args()
    limit_cores(CORES)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    folder = Path(tempfile.mkdtemp())
    src = folder / "bench.mp4"
    photos = realworld_videos.youtube_faces_photos(1, seed=0)
    realworld_videos.make_test_video(src, photos, frames=FRAMES)
    cap, info = video.open_video(src)
    frames = list(video.read_frames(cap, info["first"]))
    cap.release()
    gray = cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY)

    detector = photo.default_detector()
    face = detector.detect(frames[0])[0]
    framing = photo.first_framing(face)
    rows = [(f"detector ({detector.name}): one full 640x480 frame",
             median_ms(lambda: detector.detect(frames[0]), 5)),
            ("crop to 96x96 (de-rotated)", median_ms(lambda: photo.crop_framing(gray, framing)))]

    model, model_name, run_dir = trained_model(args.model)
    crop = photo.crop_framing(gray, framing)
    two = landmark_ms(model, CORES, crop)
    one = one_core_landmark_ms()

    tflite = export.TFLitePredictor(export.to_tflite(model), num_threads=CORES)
    if run_dir is not None:   # the bias saved in the run, as predictor_for_run opens a run
        tflite.framing_bias = framing_bias.run_bias(run_dir, tflite)
    passes = {k: forced_passes_ms(gray, framing, tflite, k) for k in (1, 2, 3)}
    pipeline_fps, video_fps, video_cpu_fps, detections = [], [], [], []
    for _ in range(RUNS):
        tracker = tracking.FaceTracker(tflite, detector=detector)
        start = time.perf_counter()
        for i, f in enumerate(frames):
            tracker(f, i / 30)
        pipeline_fps.append(len(frames) / (time.perf_counter() - start))
        cpu = time.process_time()
        stats = video.annotate_video(src, tflite, folder / "out.mp4", csv_path=folder / "o.csv",
                                     detector=detector)
        video_fps.append(stats["fps"])
        video_cpu_fps.append(stats["frames"] / (time.process_time() - cpu))
        detections.append(stats["detections"])

    lines = [f"Video demo speed: {platform.processor() or platform.machine()}, {CORES} cores, "
             f"load average {load:.1f} at start, 640x480, one face, model {model_name} "
             f"({model.count_params():,} parameters)", ""]
    lines += [f"{name:58s} {ms:7.2f} ms" for name, ms in rows]
    lines += ["", f"{'landmarks, one face (batch 1)':40s} {'2 threads':>10s} {'1 thread':>10s}"]
    lines += [f"{name:40s} {two[name]:7.2f} ms {one[name]:7.2f} ms" for name in two]
    lines += ["", "per face, crop + TFLite + map back + re-frame, every pass run:"]
    lines += [f"  {k} pass{'es' if k > 1 else '  '}{'':47s} {ms:7.2f} ms" for k, ms in passes.items()]
    pf, vf = statistics.median(pipeline_fps), statistics.median(video_fps)
    cf = statistics.median(video_cpu_fps)
    lines += ["",
              f"end to end, FaceTracker on decoded frames (TFLite)        {pf:7.1f} frames/s",
              f"end to end, annotate_video: decode+track+draw+encode      {vf:7.1f} frames/s",
              f"  the same per CPU-second of this process (all threads)    {cf:7.1f} frames/s",
              "  (a lower bound on the speed of an otherwise idle machine)",
              f"  detector runs per {FRAMES} frames: {statistics.median(detections):.0f}",
              f"goal >= {GOAL_FPS} frames/s end to end: "
              + ("met" if vf >= GOAL_FPS else "NOT met on this run")]
    text = "\n".join(lines) + "\n"
    print(text)
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(text)
    readme.write_benchmark_output("video_speed", text, load)  # for `make readme`


if __name__ == "__main__":
    main()
