"""How fast is augmentation? Augmented images per second, TensorFlow vs OpenCV.

For each recipe of ``landmarklib.augment`` this times ``augment_batch`` inside
a ``tf.function`` on batches of 256 images (96x96x1) with 15 keypoints, and a
per-image numpy/OpenCV loop doing the work of ``v4`` (``cv2.warpPerspective``
plus keypoints, flip swap, brightness and contrast) as the baseline. Each
number is the median over several timed runs after a warm-up.

Run: ``.venv/bin/python benchmarks/augment_speed.py``; the table is printed
and written to build/benchmarks/augment_speed.txt. See 02_augment, "Speed".
"""
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from landmarklib import augment, config, keypoints as kp  # noqa: E402
from landmarklib.core.files import atomic_path  # noqa: E402
from landmarklib.reporting import readme  # noqa: E402

BATCH_SIZE = 256
RUNS = 7                # timed runs; the median is reported
BATCHES_PER_RUN = 4
GOAL = 5_000            # images/s for v4 (issue 3)
OUTPUT = config.BUILD / "benchmarks" / "augment_speed.txt"


def make_batch(rng):
    """Random images in [0, 1] and keypoints inside the face region."""
    images = rng.uniform(size=(BATCH_SIZE, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1)).astype(np.float32)
    keypoints = rng.uniform(20, 76, size=(BATCH_SIZE, 2 * kp.NUM_KEYPOINTS)).astype(np.float32)
    return images, keypoints


def median_rate(step):
    """Median (images/s, images per CPU-second) of `step()` over RUNS runs.

    Wall-clock speed is what training sees; CPU time (all threads of this
    process) changes less when other programs share the cores.
    """
    step()
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(BATCHES_PER_RUN):
            step()
        wall.append(BATCH_SIZE * BATCHES_PER_RUN / (time.perf_counter() - start))
        cpu.append(BATCH_SIZE * BATCHES_PER_RUN / (time.process_time() - start_cpu))
    return statistics.median(wall), statistics.median(cpu)


def tensorflow_rate(recipe, images, keypoints):
    """images/s of augment_batch(recipe) in a tf.function, a new seed per batch."""
    run = tf.function(lambda x, y, s: augment.augment_batch(x, y, recipe, s))
    x, y = tf.constant(images), tf.constant(keypoints)
    counter = iter(range(10**9))

    def step():
        out_images, _ = run(x, y, tf.constant([0, next(counter)], tf.int64))
        out_images.numpy()

    return median_rate(step)


# --- the per-image numpy/OpenCV baseline (v4) -------------------------------

def opencv_matrix(recipe, rng):
    """One random v4 matrix (input -> output), like augment.transform_matrices."""
    size, c = kp.IMAGE_SIZE, augment.CENTER
    flipped = rng.uniform() < recipe.flip
    m = np.array([[-1, 0, size - 1], [0, 1, 0], [0, 0, 1]], float) if flipped else np.eye(3)
    lo, hi = augment.FRAME
    src = np.float32([[lo, lo], [hi, lo], [hi, hi], [lo, hi]])
    d = recipe.perspective * size
    m = cv2.getPerspectiveTransform(src, src + rng.uniform(-d, d, (4, 2)).astype(np.float32)) @ m
    angle = np.deg2rad(rng.uniform(-recipe.rotation, recipe.rotation))
    scale = rng.uniform(*recipe.scale)
    shift = rng.uniform(-recipe.shift, recipe.shift, 2) * size
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    affine = np.array([[cos, -sin, c + shift[0] - (cos - sin) * c],
                       [sin, cos, c + shift[1] - (sin + cos) * c], [0, 0, 1]])
    return affine @ m, flipped


def opencv_v4(images, keypoints, rng, recipe=augment.V4):
    """Per-image loop: warp, keypoints, NaN outside, swap, brightness & contrast."""
    out_images = np.empty_like(images)
    out_points = np.empty_like(keypoints)
    size, (lo, hi) = kp.IMAGE_SIZE, augment.FRAME
    for i in range(len(images)):
        m, flipped = opencv_matrix(recipe, rng)
        image = cv2.warpPerspective(images[i, ..., 0], m, (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        points = cv2.perspectiveTransform(keypoints[i].reshape(1, -1, 2), m)[0]
        points[((points < lo) | (points > hi)).any(axis=1)] = np.nan
        if flipped:
            points = points[list(kp.FLIP_PERMUTATION)]
        factor = rng.uniform(*recipe.contrast)
        image = image * factor + image.mean() * (1 - factor)
        image += rng.uniform(-recipe.brightness, recipe.brightness)
        out_images[i, ..., 0] = np.clip(image, 0, 1)
        out_points[i] = points.reshape(-1)
    return out_images, out_points


def main():
    load = os.getloadavg()[0]
    rng = np.random.default_rng(config.SEED)
    images, keypoints = make_batch(rng)
    rows = [(name, tensorflow_rate(recipe, images, keypoints))
            for name, recipe in augment.RECIPES.items()]
    baseline = median_rate(lambda: opencv_v4(images, keypoints, rng))
    (v4, v4_cpu), (base, base_cpu) = dict(rows)["v4"], baseline
    lines = [
        f"Augmentation speed: batch {BATCH_SIZE} of 96x96x1 with {kp.NUM_KEYPOINTS} keypoints, "
        f"median of {RUNS} runs x {BATCHES_PER_RUN} batches",
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"TensorFlow {tf.__version__}, OpenCV {cv2.__version__}; load average before: "
        f"{load:.1f} (other work on the cores slows every row alike)",
        "",
        f"{'method':<28}{'images/s':>12}{'ms/batch':>12}{'images/CPU-s':>14}",
    ]
    for name, (rate, cpu_rate) in rows + [("opencv loop (v4 work)", baseline)]:
        label = name if name.startswith("opencv") else f"tf.function {name}"
        lines.append(f"{label:<28}{rate:>12,.0f}{1000 * BATCH_SIZE / rate:>12.1f}"
                     f"{cpu_rate:>14,.0f}")
    lines += ["",
              f"v4: TensorFlow / OpenCV loop = {v4 / base:.2f}x wall clock, "
              f"{v4_cpu / base_cpu:.2f}x per CPU-second; "
              f"goal >= {GOAL:,} images/s: {'met' if v4 >= GOAL else 'NOT met'}"]
    table = "\n".join(lines)
    print(table)
    with atomic_path(OUTPUT) as tmp:
        tmp.write_text(table + "\n")
    readme.write_benchmark_output("augment_speed", table, load)  # for `make readme`


if __name__ == "__main__":
    main()
