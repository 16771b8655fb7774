"""Training and inference speed of every model version on this machine.

Prints one row per version: parameters, forward MFLOP per image, training
images/s through the real input pipeline (with the version's augmentation),
the GFLOP/s that achieves, and inference ms per face at batch 1 (a traced
tf.function, one thread and all threads; the TFLite interpreter with one thread,
as the demo runs a model) and at batch 256. Medians of several
timed repeats after a warm-up. With --onednn it also compares training speed
with TF_ENABLE_ONEDNN_OPTS=0 and =1 (each in a fresh process).

    python benchmarks/train_speed.py [--versions v2 v4] [--steps 30] [--onednn]

The table is also written to build/benchmarks/train_speed.txt, and with one
record per version to build/benchmarks/train_speed.json (the README's speed
block and V6's goals, ``reporting.goals``, read it).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

BATCH = 64          # the cpu profile's batch size
REPEATS = 5


def forward_flops(model):
    """Multiply-adds x 2 of the Conv2D, DepthwiseConv2D and Dense layers, per image."""
    import keras

    from landmarklib.training.keras_compat import flatten_layers

    total = 0
    for layer in flatten_layers(model, include_self=False):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            h, w, c = layer.output.shape[1:]
            total += 2 * h * w * c * np.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, c_out = layer.output.shape[1:]
            c_in = layer.input.shape[-1]
            total += 2 * h * w * c_out * c_in * np.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def training_rate(version, faces, steps):
    """Images/s of model.fit over `steps` batches of the real training stream."""
    import landmarklib as lm

    spec = lm.models.get_version(version)
    profile = lm.config.get_profile("cpu")
    model = lm.train.compile_model(lm.models.build(version, **_build_kwargs(version)),
                                   profile, steps, 1)
    ds = lm.pipeline.training_dataset(faces, BATCH, augment=None if spec.augment == "none"
                                      else spec.augment)
    return fit_rate(model, ds, steps), model


def fit_rate(model, data, steps, batch=BATCH, repeats=3):
    """Images/s of `model.fit` over `steps` batches of `data`, after 5 warm-up steps."""
    model.fit(data, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        times.append(time.perf_counter() - start)
    return steps * batch / statistics.median(times)


def _build_kwargs(version):
    return {"weights": "none"} if version == "transfer" else {}


def median_ms(call, inner, repeats=REPEATS, warmup=3):
    """Median ms of one `call()`: `warmup` calls, then `repeats` timed loops of `inner` calls."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            call()
        times.append((time.perf_counter() - start) / inner * 1000)
    return statistics.median(times)


def inference_ms(model, batch):
    """Median ms per face of a traced forward pass at `batch`."""
    import tensorflow as tf

    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    x = tf.random.uniform((batch, 96, 96, 1))
    return median_ms(lambda: fn(x), max(1, 200 // batch)) / batch


def one_thread_ms(version):
    """Batch-1 latency on one core, measured in a fresh process (threads fixed at start)."""
    code = (
        "import tensorflow as tf;"
        "tf.config.threading.set_intra_op_parallelism_threads(1);"
        "tf.config.threading.set_inter_op_parallelism_threads(1);"
        "import sys; sys.path.insert(0, 'benchmarks'); import train_speed as t;"
        "import landmarklib as lm;"
        f"m = lm.models.build('{version}', **t._build_kwargs('{version}'));"
        "print('MS', t.inference_ms(m, 1))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [s for s in out.stdout.splitlines() if s.startswith("MS")]
    return float(line[0].split()[1]) if line else float("nan")


def tflite_one_thread_ms(model):
    """Batch-1 ms per face of the model converted to TFLite, interpreter on one thread."""
    from landmarklib import export

    predictor = export.TFLitePredictor(export.to_tflite(model), num_threads=1)
    crop = np.random.default_rng(0).integers(0, 256, (1, 96, 96), dtype=np.uint8)
    return median_ms(lambda: predictor(crop), 20, warmup=5)


def onednn_comparison(steps):
    rows = []
    for flag in ("0", "1"):
        code = ("import sys; sys.path.insert(0, 'benchmarks'); import train_speed as t;"
                "import landmarklib as lm;"
                "faces = lm.datasets.load_splits('faces15')['train'];"
                f"r, _ = t.training_rate('v2', faces, {steps}); print('RATE', r)")
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": flag}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        rate = [s for s in out.stdout.splitlines() if s.startswith("RATE")]
        rows.append((flag, float(rate[0].split()[1]) if rate else float("nan")))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", nargs="+", help="default: every version of the registry")
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per repeat")
    parser.add_argument("--onednn", action="store_true", help="also compare oneDNN off/on")
    args = parser.parse_args()

    import landmarklib as lm

    faces = lm.datasets.load_splits("faces15")["train"]
    header = (f"{'version':9} {'params':>9} {'MFLOP/img':>9} {'train img/s':>11} "
              f"{'GFLOP/s':>8} {'ms b1':>6} {'ms b1 1core':>11} {'TFLite 1core':>12} "
              f"{'ms/face b256':>12}")
    load = os.getloadavg()[0]
    lines = [f"machine: {os.cpu_count()} cores, load average "
             f"{load:.1f}; batch {BATCH}; medians of repeats", header]
    print(lines[0]), print(header)
    records = []
    for version in args.versions or list(lm.models.REGISTRY):
        rate, model = training_rate(version, faces, args.steps)
        flops = forward_flops(model)
        record = {"version": version, "parameters": int(model.count_params()),
                  "mflop_per_image": flops / 1e6, "train_images_per_second": rate,
                  # training ~ 3x the forward pass (forward + two backward products)
                  "gflop_per_second": 3 * flops * rate / 1e9,
                  "ms_batch1": inference_ms(model, 1), "ms_batch1_one_core": one_thread_ms(version),
                  "tflite_ms_one_core": tflite_one_thread_ms(model),
                  "ms_per_face_batch256": inference_ms(model, 256)}
        records.append(record)
        row = (f"{version:9} {record['parameters']:>9,} {flops / 1e6:>9.1f} {rate:>11.0f} "
               f"{record['gflop_per_second']:>8.1f} {record['ms_batch1']:>6.2f} "
               f"{record['ms_batch1_one_core']:>11.2f} {record['tflite_ms_one_core']:>12.2f} "
               f"{record['ms_per_face_batch256']:>12.3f}")
        print(row)
        lines.append(row)
    if args.onednn:
        for flag, rate in onednn_comparison(args.steps):
            line = f"TF_ENABLE_ONEDNN_OPTS={flag}: v2 trains at {rate:.0f} images/s"
            print(line)
            lines.append(line)
    out = lm.config.BUILD / "benchmarks" / "train_speed.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    lm.readme.write_benchmark_output("train_speed", "\n".join(lines), load,  # for `make readme`
                                    records=records)


if __name__ == "__main__":
    main()
