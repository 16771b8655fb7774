"""Training throughput of the model versions on an accelerator, with any Keras backend.

The project trains with TensorFlow (its tf.data pipeline and augmentation).
A GPU machine without TensorFlow can still tell how fast the *network* trains
there: this script builds each version with ``lm.models.build``, compiles it as
``lm.train`` does (AdamW, the masked loss, the masked metrics) and times
``model.fit`` on synthetic batches already in memory (random images, keypoints
with 60 % of rows partial, as in Kaggle's data). No input pipeline and no
augmentation: the numbers are an upper bound for a real run, which adds the
tf.data stream on the host.

    KERAS_BACKEND=jax python benchmarks/gpu_train_speed.py [--versions v4] [--batch 256]
        [--steps 100] [--train-images 10000] [--epochs 100] [--precision float32 mixed_bfloat16]

Prints one row per (version, precision): images/s (median of the timed
repeats), and the minutes that ``epochs`` epochs of ``train-images`` images
would take at that rate (the `full` profile: 100 epochs, batch 256). Also
writes the table to build/benchmarks/gpu_train_speed.md (or --out).
"""
import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPEATS = 3
PARTIAL_ROWS = 0.6     # fraction of rows with only 4 of the 15 keypoints (as in Kaggle's training.csv)


def synthetic_batch(count, seed=0):
    """Images (count, 96, 96, 1) in [0, 1] and keypoints (count, 30) in pixels, NaN = unlabelled."""
    import landmarklib as lm

    rng = np.random.default_rng(seed)
    images = rng.random((count, lm.keypoints.IMAGE_SIZE, lm.keypoints.IMAGE_SIZE, 1), dtype=np.float32)
    keypoints = rng.uniform(20, 76, (count, 2 * lm.keypoints.NUM_KEYPOINTS)).astype(np.float32)
    partial = rng.random(count) < PARTIAL_ROWS
    keypoints[partial, 8:] = np.nan
    return images, keypoints


def training_rate(version, precision, batch, steps, profile_name="full"):
    """Median images/s of ``model.fit`` over `steps` batches, after a warm-up epoch."""
    import keras

    import landmarklib as lm

    keras.mixed_precision.set_global_policy(precision)
    profile = lm.config.get_profile(profile_name, batch_size=batch)
    model = lm.models.build(version)
    optimizer = keras.optimizers.AdamW(learning_rate=profile.learning_rate,
                                       weight_decay=profile.weight_decay)
    loss = lm.versions.get_version(version).loss_name(profile)   # V6: Wing
    model.compile(optimizer=optimizer, loss=lm.metrics.get_loss(loss),
                  metrics=lm.metrics.keras_metrics(profile.pck_threshold))
    images, keypoints = synthetic_batch(batch * steps)
    model.fit(images[:batch * 5], keypoints[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.fit(images, keypoints, batch_size=batch, epochs=1, verbose=0)
        times.append(time.perf_counter() - start)
    keras.mixed_precision.set_global_policy("float32")
    return batch * steps / statistics.median(times)


def device_name():
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax {jax.__version__}: " + ", ".join(d.device_kind for d in jax.devices())
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"tensorflow {tf.__version__}: " + (", ".join(g.name for g in gpus) or "CPU")
    if backend == "torch":
        import torch

        return f"torch {torch.__version__}: " + (torch.cuda.get_device_name() if torch.cuda.is_available()
                                                 else "CPU")
    return backend


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", nargs="+", default=["v4"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100, help="batches per timed repeat")
    parser.add_argument("--train-images", type=int, default=10_000,
                        help="training images per epoch, for the projected minutes")
    parser.add_argument("--epochs", type=int, default=100, help="epochs, for the projected minutes")
    parser.add_argument("--precision", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--out", default="build/benchmarks/gpu_train_speed.md")
    args = parser.parse_args(argv)

    import keras

    rows = []
    for version in args.versions:
        for precision in args.precision:
            rate = training_rate(version, precision, args.batch, args.steps)
            minutes = args.epochs * args.train_images / rate / 60
            rows.append(f"| {version} | {precision} | {args.batch} | {rate:,.0f} | {minutes:.1f} |")
            print(rows[-1], flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = "\n".join([
        f"Keras {keras.__version__}, backend {device_name()}; {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; synthetic in-memory batches, "
        f"no input pipeline or augmentation; median of {REPEATS} repeats of {args.steps} steps",
        "",
        f"| version | precision | batch | training images/s | minutes for {args.epochs} epochs "
        f"of {args.train_images:,} images |",
        "|---|---|---|---|---|",
        *rows, ""])
    print("\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
