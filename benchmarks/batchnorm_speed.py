"""Why V6 has its own batch norm: Keras 3's layer against TensorFlow's fused kernel.

Keras 3's ``BatchNormalization`` computes the batch moments and their gradients
as separate operations; V6's ``training.efficient.BatchNorm`` trains through
``tf.compat.v1.nn.fused_batch_norm`` (the same arithmetic, tested in
tests/test_versions.py). This prints, on this machine:

* ms for one forward and backward pass of each layer in training mode, at the
  input shapes of V6's largest batch norms (batch 64, the cpu profile's);
* V6's training images/s with each layer, on fixed random batches of 64 (no
  input pipeline), each network in a fresh process so neither warms the other.

Medians of several timed repeats after a warm-up. Run:
``.venv/bin/python benchmarks/batchnorm_speed.py``; the table is printed and
saved for the README (``make readme``) in build/benchmarks/.
"""
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from train_speed import fit_rate, median_ms  # noqa: E402  (benchmarks/ is this script's folder)

SHAPES = ((64, 48, 48, 64), (64, 24, 24, 128), (64, 12, 12, 256))  # V6's largest batch norms
BATCH = 64
REPEATS = 7
STEPS = 15          # training steps per timed repeat of the whole network


def layer_ms(layer, shape):
    """Median ms of one training-mode forward and backward pass of `layer` on `shape`."""
    import tensorflow as tf

    x = tf.random.normal(shape)
    layer.build(shape)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, [x] + layer.trainable_variables)

    return median_ms(lambda: step(x), 5, repeats=REPEATS)


def network_rate(keras_layer):
    """V6's training images/s on fixed batches; with Keras's layer if `keras_layer`."""
    import keras
    import tensorflow as tf

    import landmarklib as lm
    from landmarklib.training import efficient

    if keras_layer:
        efficient.BatchNorm = keras.layers.BatchNormalization
    model = lm.train.compile_model(lm.models.build("v6"), lm.config.get_profile("cpu"), 100, 1)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(BATCH, 96, 96, 1)).astype("float32")
    y = rng.uniform(0, 96, size=(BATCH, 30)).astype("float32")
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    return fit_rate(model, data, STEPS, BATCH, repeats=5)


def network_rate_in_subprocess(keras_layer):
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import batchnorm_speed as b; "
            f"print('RATE', b.network_rate({keras_layer}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [s for s in out.stdout.splitlines() if s.startswith("RATE")]
    return float(line[0].split()[1]) if line else float("nan")


def main():
    import keras

    from landmarklib.reporting import readme
    from landmarklib.training import efficient

    load = os.getloadavg()[0]
    lines = [f"machine: {os.cpu_count()} cores, load average {load:.1f}; medians of repeats",
             f"{'what':34} {'Keras BN':>9} {'fused BN':>9} {'ratio':>6}"]
    for shape in SHAPES:
        ours = layer_ms(efficient.BatchNorm(), shape)
        theirs = layer_ms(keras.layers.BatchNormalization(), shape)
        lines.append(f"{'ms fwd+bwd ' + 'x'.join(map(str, shape)):34} {theirs:9.1f} {ours:9.1f} "
                     f"{theirs / ours:6.2f}")
    fused, plain = network_rate_in_subprocess(False), network_rate_in_subprocess(True)
    lines.append(f"{'V6 training images/s, batch 64':34} {plain:9.0f} {fused:9.0f} "
                 f"{fused / plain:6.2f}")
    table = "\n".join(lines)
    print(table)
    readme.write_benchmark_output("batchnorm_speed", table, load,
                                  records=[{"keras_images_per_second": plain,
                                            "fused_images_per_second": fused}])


if __name__ == "__main__":
    main()
