"""How fast is the video demo? Detector, landmark model, end to end on 640x480.

Times, on a 640x480 synthetic video of one real face (``video.make_test_video``):

* the Haar detector: a full-frame search and a search around a tracked face;
* the 96x96 crop;
* the landmark model on one face (batch 1) called four ways: Keras eagerly,
  a ``tf.function`` with a fixed input signature, the TFLite interpreter and
  onnxruntime, with 2 threads and (in a subprocess) with 1;
* end to end: ``FacePipeline`` on decoded frames, and ``annotate_video``
  (decode + pipeline + drawing + mp4v encoding), in frames per second of
  wall time and per CPU-second of this process (less affected by other
  processes on a shared machine).

Speed does not depend on the weights, so the model is an untrained v4 (the
same network as every CNN version). Each number is a median of repeated runs.
The machine may be shared: the load average at the start is printed with
the table.

Run: ``.venv/bin/python benchmarks/video_speed.py``; the table is printed and
written to build/benchmarks/video_speed.txt. Goal (issue 7): >= 60 frames/s
end to end for one face on 2 cores. See 05_demo, "Speed".
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

import cv2  # noqa: E402

from landmarklib import config, detect, export, models, video  # noqa: E402
from landmarklib.core.files import atomic_path  # noqa: E402
from landmarklib.reporting import readme  # noqa: E402

CORES = 2
FRAMES = 150            # of the benchmark video (5 s at 30 fps)
REPEATS = 50            # timed calls per micro-benchmark
RUNS = 3                # end-to-end runs; the median is reported
GOAL_FPS = 60
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
        "Keras, eager call": video.make_predictor(model, "keras"),
        "tf.function, fixed signature": video.make_predictor(model, "function"),
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


def main():
    limit_cores(CORES)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    folder = Path(tempfile.mkdtemp())
    src = folder / "bench.mp4"
    photos = video.youtube_faces_photos(1, seed=0)
    video.make_test_video(src, photos, frames=FRAMES)
    cap, info = video.open_video(src)
    frames = list(video.read_frames(cap, info["first"]))
    cap.release()
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]

    detector = detect.FaceDetector()
    boxes = [detector.detect(g) for g in grays]
    box = next(b[0] for b in boxes if len(b))
    gray = grays[0]
    frame_box = detect.box_to_frame(box)
    crop = video.crop_frame(gray, frame_box)
    rows = [("detector: full-frame search (640x480 -> 320 wide)",
             median_ms(lambda: detector.detect(gray), 20)),
            ("detector: search around the tracked face", median_ms(
                lambda: detector.detect_near(gray, box))),
            ("crop to 96x96", median_ms(lambda: video.crop_frame(gray, frame_box)))]

    model = models.build(MODEL_VERSION)
    two = landmark_ms(model, CORES, crop)
    one = one_core_landmark_ms()

    tflite = export.TFLitePredictor(export.to_tflite(model), num_threads=CORES)
    pipeline_fps, video_fps, video_cpu_fps = [], [], []
    for _ in range(RUNS):
        pipe = video.FacePipeline(tflite)
        start = time.perf_counter()
        for i, f in enumerate(frames):
            pipe(f, i / 30)
        pipeline_fps.append(len(frames) / (time.perf_counter() - start))
        cpu = time.process_time()
        stats = video.annotate_video(src, tflite, folder / "out.mp4", csv_path=folder / "o.csv")
        video_fps.append(stats["fps"])
        video_cpu_fps.append(stats["frames"] / (time.process_time() - cpu))

    lines = [f"Video demo speed: {platform.processor() or platform.machine()}, {CORES} cores, "
             f"load average {load:.1f} at start, 640x480, one face, model {MODEL_VERSION} "
             f"({model.count_params():,} parameters)", ""]
    lines += [f"{name:58s} {ms:7.2f} ms" for name, ms in rows]
    lines += ["", f"{'landmarks, one face (batch 1)':40s} {'2 threads':>10s} {'1 thread':>10s}"]
    lines += [f"{name:40s} {two[name]:7.2f} ms {one[name]:7.2f} ms" for name in two]
    pf, vf = statistics.median(pipeline_fps), statistics.median(video_fps)
    cf = statistics.median(video_cpu_fps)
    lines += ["",
              f"end to end, FacePipeline on decoded frames (TFLite)       {pf:7.1f} frames/s",
              f"end to end, annotate_video: decode+pipeline+draw+encode   {vf:7.1f} frames/s",
              f"  the same per CPU-second of this process (all threads)    {cf:7.1f} frames/s",
              "  (a lower bound on the speed of an otherwise idle machine)",
              f"goal >= {GOAL_FPS} frames/s end to end: "
              + ("met" if vf >= GOAL_FPS else "NOT met on this run")]
    text = "\n".join(lines) + "\n"
    print(text)
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(text)
    readme.write_benchmark_output("video_speed", text, load)  # for `make readme`


if __name__ == "__main__":
    main()
