"""tf.distribute: MirroredStrategy over two logical CPUs, two MultiWorkerMirrored
workers on 127.0.0.1, exact metrics and loss across replicas, resume, bad settings.

TensorFlow fixes its devices when it first uses them, so every strategy with
more than one replica runs in a fresh Python process: this file is also the
script those processes run (``python tests/test_distribute.py SCENARIO OUT``).
Each process writes its measurements as JSON; the tests read and check them.
"""
import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve()
# Small runs: 128 images, 2 epochs, a global batch of 8 (16 steps per epoch).
# No warm-up: it puts the peak learning rate into the second of two epochs,
# where per-replica BatchNorm statistics then drive the mirrored run 10 % away
# from the one-device run (measured) instead of the 5 % tolerated below.
SETTINGS = dict(max_images=128, epochs=2, warmup_epochs=0)
GLOBAL_BATCH = 8
LEARNING_RATE = 1e-3
REPLICAS = 2
PROCESS_TIMEOUT = 600  # seconds; a hung worker fails the test instead of the suite (generous for busy machines)
# Mirrored vs one device, same seed, same global batch, same effective learning
# rate. The runs are not identical: BatchNormalization normalises each replica's
# 4 images with their own mean and variance (one device: all 8 together; the
# models do not synchronise it across replicas), and Dropout draws other masks
# for two half batches. Measured on this machine: training metrics per epoch
# differ by up to 2.8 % (epoch 2 loss 11.79 vs 12.13, RMSE 3.41 vs 3.46 px),
# validation and test metrics by up to 0.3 % (val RMSE 3.116 vs 3.110 px).
# For scale: seed 1 instead of 0 on one device moves the epoch 2 training loss
# by 8 % and RMSE by 3 %. Hence these tolerances (relative):
TRAIN_METRICS_RTOL = 0.05
EVAL_METRICS_RTOL = 0.01
# Two workers with one replica each compute what MirroredStrategy does with two
# replicas (the same half batches, the same BatchNormalization groups); only the
# summation order and Dropout's random state differ. Measured: epoch 1 within
# 0.01 %, epoch 2 within 0.9 % (training loss 11.89 vs 11.79).
MULTI_WORKER_RTOL = 0.02


# --- subprocess side --------------------------------------------------------

def _two_logical_cpus():
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)


def _uneven_batch(rng):
    """(y_true, y_pred) of 8 faces; the first half nearly unlabelled, the second complete.

    Means of per-replica means differ clearly from whole-batch means here.
    """
    y_true = rng.uniform(20, 76, (GLOBAL_BATCH, 30)).astype(np.float32)
    y_true[:GLOBAL_BATCH // 2, 4:] = np.nan  # only both eye centres labelled
    y_true[0, :] = np.nan  # one face with no keypoint at all
    y_pred = (y_true + rng.normal(0, 3, y_true.shape)).astype(np.float32)
    y_pred[np.isnan(y_pred)] = 48.0
    y_pred[GLOBAL_BATCH // 2:] += 4.0  # the complete half is also worse
    return y_true, y_pred


def _per_replica(strategy, array):
    halves = np.split(array, strategy.num_replicas_in_sync)
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: halves[ctx.replica_id_in_sync_group])


def _metrics_across_replicas(strategy):
    """Each Keras metric updated on two half batches vs numpy on the whole batch."""
    from landmarklib import metrics

    y_true, y_pred = _uneven_batch(np.random.default_rng(0))
    with strategy.scope():
        keras_metrics = metrics.keras_metrics()
    out = {}
    for metric in keras_metrics:
        strategy.run(metric.update_state,
                     args=(_per_replica(strategy, y_true), _per_replica(strategy, y_pred)))
        out[metric.name] = float(metric.result())
    numpy = metrics.summary(y_true, y_pred)
    return {"keras": out, "numpy": {name: numpy[name] for name in out}}


def _loss_across_replicas(strategy):
    """Loss and gradients of a tiny dense model: two replicas vs the whole batch."""
    import keras
    import tensorflow as tf

    from landmarklib import distribute, metrics

    y_true, _ = _uneven_batch(np.random.default_rng(1))
    x = np.random.default_rng(2).normal(size=(GLOBAL_BATCH, 5)).astype(np.float32)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(30)])
        loss = distribute.GlobalBatchLoss(metrics.masked_mse)

    def step(inputs, targets, wrapped):
        with tf.GradientTape() as tape:
            pred = model(inputs) * 10 + 48
            value = loss(targets, pred) if wrapped else metrics.masked_mse(targets, pred)
        grads = tape.gradient(value, model.trainable_variables)
        context = tf.distribute.get_replica_context()
        return context.all_reduce("sum", value), context.all_reduce("sum", grads)

    out = {}
    for wrapped in (True, False):
        value, grads = strategy.run(tf.function(step), args=(
            _per_replica(strategy, x), _per_replica(strategy, y_true), wrapped))
        first = strategy.experimental_local_results
        out["wrapped" if wrapped else "plain"] = {
            "loss": float(first(value)[0]),
            "grads": [first(g)[0].numpy().ravel().tolist() for g in grads]}
    with tf.GradientTape() as tape:  # one device, whole batch (default strategy)
        value = metrics.masked_mse(y_true, model(x) * 10 + 48)
    out["whole"] = {"loss": float(value), "grads": [
        g.numpy().ravel().tolist() for g in tape.gradient(value, model.trainable_variables)]}
    return out


def _summary(run):
    return {"history": run.history.to_dict("list"), "results": {
        k: run.results[k] for k in ("batch_size", "replicas", "learning_rate", "strategy")},
        "eval": {split: {m: run.results["splits"][split][m] for m in ("rmse", "mae", "nme")}
                 for split in ("val", "test")}}


def scenario_mirrored(out_path):
    """One process, two logical CPUs: metrics, loss, training, resume."""
    _two_logical_cpus()
    from landmarklib import distribute, train

    strategy = distribute.get_strategy("mirrored")  # the one train() will use
    out = {"replicas": strategy.num_replicas_in_sync,
           "metrics": _metrics_across_replicas(strategy),
           "loss": _loss_across_replicas(strategy)}
    folder = Path(out_path).parent
    one = train.train("v2", "smoke", strategy="default", run_dir=folder / "default",
                      batch_size=GLOBAL_BATCH, learning_rate=LEARNING_RATE, verbose=0, **SETTINGS)
    # Same global batch and effective learning rate on two replicas: each replica
    # gets half the batch, and the square-root rule would raise the rate by
    # sqrt(2), so the profile's rate is lowered by as much.
    mirrored = dict(strategy="mirrored", batch_size=GLOBAL_BATCH // REPLICAS,
                    learning_rate=LEARNING_RATE / math.sqrt(REPLICAS), verbose=0, **SETTINGS)
    two = train.train("v2", "smoke", run_dir=folder / "mirrored", **mirrored)
    stopped = train.train("v2", "smoke", run_dir=folder / "resumed", stop_after_epochs=1,
                          **mirrored)
    state = json.loads((folder / "resumed" / "checkpoint" / "state.json").read_text())
    resumed = train.train("v2", "smoke", run_dir=folder / "resumed", **mirrored)
    out.update(default=_summary(one), mirrored=_summary(two), resumed=_summary(resumed),
               stopped_returned=stopped is None, checkpoint_epoch=state["epoch"],
               checkpoint_left=(folder / "resumed" / "checkpoint").exists())
    Path(out_path).write_text(json.dumps(out))


def _first_training_batch(strategy=None):
    """Keypoints of the first global batch of v2's stream (seed 0, no augmentation).

    With a strategy: the part of it that reaches this worker's replica.
    """
    import landmarklib as lm
    from landmarklib import distribute, pipeline

    splits = lm.datasets.load_splits("faces15", max_images=SETTINGS["max_images"])
    ds = pipeline.training_dataset(splits["train"], GLOBAL_BATCH, seed=0)
    if strategy is None:
        return next(iter(ds))[1].numpy()
    ds = distribute.distribute_dataset(strategy, ds)
    _, keypoints = next(iter(strategy.experimental_distribute_dataset(ds)))
    return [k.numpy().tolist() for k in strategy.experimental_local_results(keypoints)]


def scenario_worker(out_path):
    """One MultiWorkerMirrored worker (TF_CONFIG and LANDMARKLIB_MODELS set by the test)."""
    from landmarklib import distribute, train

    strategy = distribute.get_strategy("multi-worker")
    settings = dict(strategy=strategy, batch_size=GLOBAL_BATCH // REPLICAS,
                    learning_rate=LEARNING_RATE / math.sqrt(REPLICAS), verbose=0, **SETTINGS)
    run = train.train("v2", "smoke", **settings)
    out = {"chief": distribute.is_chief(strategy), "replicas": strategy.num_replicas_in_sync,
           "history": run.history.to_dict("list"), "first_batch": _first_training_batch(strategy)}
    # Only the chief's folder holds the finished run now (no shared storage):
    # calling train again must fail on both workers, not leave one waiting.
    try:
        train.train("v2", "smoke", **settings)
        out["second_call"] = "no error"
    except ValueError as err:
        out["second_call"] = str(err)
    Path(out_path).write_text(json.dumps(out))


# --- test side --------------------------------------------------------------

def _run(args, env=None, timeout=PROCESS_TIMEOUT):
    from landmarklib import config

    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          cwd=config.ROOT, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    """Measurements of one two-replica process (about 40 s on 2 cores)."""
    out = tmp_path_factory.mktemp("mirrored") / "out.json"
    done = _run([str(SCRIPT), "mirrored", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_metrics_are_exact_across_replicas(mirrored):
    assert mirrored["replicas"] == REPLICAS
    got, expected = mirrored["metrics"]["keras"], mirrored["metrics"]["numpy"]
    for name in ("mae", "rmse", "nme", "pck"):
        assert got[name] == pytest.approx(expected[name], rel=1e-5), name


@pytest.mark.slow
def test_loss_and_gradients_are_those_of_the_whole_batch(mirrored):
    loss = mirrored["loss"]
    whole, wrapped, plain = loss["whole"], loss["wrapped"], loss["plain"]
    assert wrapped["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    for a, b in zip(wrapped["grads"], whole["grads"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # The unwrapped masked mean would add two per-replica means: a different number.
    assert abs(plain["loss"] - whole["loss"]) > 0.2 * whole["loss"]


@pytest.mark.slow
def test_mirrored_training_matches_one_device(mirrored):
    one, two = mirrored["default"], mirrored["mirrored"]
    assert one["results"]["batch_size"] == two["results"]["batch_size"] == GLOBAL_BATCH
    assert two["results"]["replicas"] == REPLICAS
    assert two["results"]["learning_rate"] == pytest.approx(LEARNING_RATE)
    assert two["results"]["strategy"] == "MirroredStrategy"
    for name in ("loss", "rmse", "mae", "nme"):  # per epoch, reported by fit
        np.testing.assert_allclose(two["history"][name], one["history"][name],
                                   rtol=TRAIN_METRICS_RTOL, err_msg=name)
        np.testing.assert_allclose(two["history"]["val_" + name], one["history"]["val_" + name],
                                   rtol=EVAL_METRICS_RTOL, err_msg="val_" + name)
    for split in ("val", "test"):
        for name, value in one["eval"][split].items():
            assert two["eval"][split][name] == pytest.approx(value, rel=EVAL_METRICS_RTOL)


@pytest.mark.slow
def test_interrupted_mirrored_run_resumes_to_the_same_result(mirrored):
    assert mirrored["stopped_returned"] and mirrored["checkpoint_epoch"] == 1
    assert not mirrored["checkpoint_left"]
    whole, resumed = mirrored["mirrored"], mirrored["resumed"]
    np.testing.assert_allclose(resumed["history"]["loss"], whole["history"]["loss"], rtol=1e-5)
    assert resumed["eval"]["val"]["rmse"] == pytest.approx(whole["eval"]["val"]["rmse"], rel=1e-5)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait_all(processes, timeout):
    """Wait until every process has ended or one has failed; False after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        codes = [process.poll() for process in processes]
        if None not in codes or any(code not in (None, 0) for code in codes):
            return True
        time.sleep(0.5)
    return False


def _stop(process):
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


@pytest.mark.slow
def test_two_workers_train_and_only_the_chief_writes(tmp_path, mirrored):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(REPLICAS)]
    processes, outputs = [], []
    try:
        for index in range(REPLICAS):
            folder = tmp_path / f"worker{index}"
            (folder / "models").mkdir(parents=True)
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(tf_config),
                   "LANDMARKLIB_MODELS": str(folder / "models"), "TF_CPP_MIN_LOG_LEVEL": "2"}
            outputs.append(folder / "out.json")
            with open(folder / "stderr.txt", "w") as stderr:
                processes.append(subprocess.Popen(
                    [sys.executable, str(SCRIPT), "worker", str(outputs[-1])], env=env,
                    stdout=subprocess.DEVNULL, stderr=stderr))
        finished = _wait_all(processes, PROCESS_TIMEOUT)
    finally:  # a worker left alone would wait for its peer forever
        for process in processes:
            _stop(process)
    assert finished, f"the workers were still running after {PROCESS_TIMEOUT} s"
    failed = {index: (tmp_path / f"worker{index}" / "stderr.txt").read_text()[-3000:]
              for index, process in enumerate(processes) if process.returncode != 0}
    assert not failed, "\n".join(f"worker {i} failed:\n{err}" for i, err in failed.items())
    chief, other = (json.loads(p.read_text()) for p in outputs)
    assert chief["chief"] and not other["chief"]
    assert chief["replicas"] == other["replicas"] == REPLICAS
    assert len(chief["history"]["loss"]) == SETTINGS["epochs"]
    assert chief["history"] == other["history"]  # one model, one set of epoch metrics
    for name in ("loss", "rmse", "val_loss", "val_rmse"):
        np.testing.assert_allclose(chief["history"][name], mirrored["mirrored"]["history"][name],
                                   rtol=MULTI_WORKER_RTOL, err_msg=name)
    # --set overrides: the run has its own folder (v2-smoke+batch_size=4+...), the only one
    (run,) = (tmp_path / "worker0" / "models").glob("v2-smoke+*")
    assert {"model.keras", "config.json", "history.csv", "results.json"} <= {
        p.name for p in run.iterdir()}
    assert not (run / "checkpoint").exists()
    assert list((tmp_path / "worker1" / "models").iterdir()) == []  # the other wrote nothing
    for out in (chief, other):
        assert "workers disagree on cached_run" in out["second_call"]
    # Together the two workers saw the first global batch of the one-device stream.
    seen = np.concatenate([chief["first_batch"][0], other["first_batch"][0]])
    np.testing.assert_allclose(seen, _first_training_batch(), rtol=1e-6)


# --- bad settings -------------------------------------------------------------

def test_unknown_strategy_is_refused():
    from landmarklib import distribute

    with pytest.raises(ValueError, match="unknown strategy 'gpus'; choose one of auto, default"):
        distribute.get_strategy("gpus")


@pytest.mark.parametrize("tf_config, message", [
    (None, "needs the TF_CONFIG environment variable"),
    ("{cluster: 1}", "TF_CONFIG is not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', 'TF_CONFIG has no "cluster" object'),
    ('{"cluster": {"worker": ["a:1"]}}', 'TF_CONFIG needs "task"'),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
     r"task index 2 is not in 0\.\.1"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
     "task type 'chief' is not a job of the cluster"),
])
def test_bad_tf_config_is_refused(monkeypatch, tf_config, message):
    from landmarklib import distribute

    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=message):
        distribute.get_strategy("multi-worker")


def test_tpu_without_a_tpu_is_refused(monkeypatch):
    from landmarklib import distribute

    for name in ("TPU_NAME", "COLAB_TPU_ADDR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distribute, "TPU_DEVICE_FILES", ())
    with pytest.raises(ValueError, match="no TPU was found.*Change runtime type > TPU"):
        distribute.get_strategy("tpu")
    assert distribute.get_strategy("auto") is distribute.get_strategy("default")


def test_auto_falls_back_when_the_tpu_cannot_start(monkeypatch, capsys):
    from landmarklib import distribute

    def unusable():
        raise ValueError("TensorFlow could not start it")

    monkeypatch.setattr(distribute, "_tpu_target", lambda: "local")
    monkeypatch.setattr(distribute, "_tpu_strategy", unusable)
    with pytest.raises(ValueError, match="could not start"):
        distribute.get_strategy("tpu")
    assert distribute.get_strategy("auto") is distribute.get_strategy("default")
    assert "not using the TPU: TensorFlow could not start it" in capsys.readouterr().out


@pytest.mark.parametrize("strategy, env, message", [
    ("gpus", {}, "error: --strategy gpus: unknown strategy; choose one of auto"),
    ("multi-worker", {"TF_CONFIG": "not json"}, "error: TF_CONFIG is not valid JSON"),
])
def test_cli_reports_bad_strategy_in_one_line(strategy, env, message):
    done = _run(["-m", "landmarklib", "train", "--version", "v2", "--profile", "smoke",
                 "--strategy", strategy], env={"TF_CPP_MIN_LOG_LEVEL": "3", **env}, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(message), done.stderr
    assert "Traceback" not in done.stderr



# --- Keras internals (training.keras_compat) ---------------------------------------

@pytest.mark.parametrize("version, tested", [("3.12.9", False), ("3.13.2", True), ("3.15.1", True),
                                             ("3.16.0", False), ("4.0.0", False)])
def test_keras_versions_outside_the_tested_range_fail_in_one_line(version, tested):
    from landmarklib.training import keras_compat

    if tested:
        keras_compat.check_keras(version)
        return
    with pytest.raises(keras_compat.UntestedKerasError) as info:
        keras_compat.check_keras(version, what="flatten_layers")
    message = str(info.value)
    assert "\n" not in message and f"Keras {version} is installed" in message
    assert "3.13 to 3.15" in message and "flatten_layers" in message


def test_private_calls_check_the_installed_keras(monkeypatch):
    import keras

    from landmarklib.training import keras_compat

    keras_compat.check_keras()  # the Keras the suite runs with is a tested one
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    monkeypatch.setattr(keras, "__version__", "3.99.0")
    for call in (lambda: keras_compat.flatten_layers(model),
                 lambda: keras_compat.symbolic_build(model, None),
                 lambda: keras_compat.replace_symbolic_build(model, print)):
        with pytest.raises(keras_compat.UntestedKerasError, match="Keras 3.99.0 is installed"):
            call()


def test_flatten_layers_finds_nested_dropout_and_its_random_state():
    import keras

    from landmarklib import train
    from landmarklib.training import keras_compat

    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5, name="inner_dropout")],
                             name="inner")
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="head")])
    names = [layer.name for layer in keras_compat.flatten_layers(outer, include_self=False)]
    assert {"inner", "inner_dropout", "head"} <= set(names) and outer.name not in names
    states = train.seed_states(outer)
    assert list(states) == ["inner_dropout"]
    outer.get_layer("inner").get_layer("inner_dropout")(np.ones((2, 4)), training=True)
    assert train.seed_states(outer) != states   # drawing a mask moved the state
    train.restore_seed_states(outer, states)
    assert train.seed_states(outer) == states


def test_replaced_symbolic_build_is_what_fit_calls():
    import keras

    from landmarklib.training import keras_compat

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    calls = []

    def build(iterator=None, data_batch=None):
        calls.append((iterator is not None, data_batch is not None))
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break
        keras_compat.symbolic_build(model, data_batch)

    keras_compat.replace_symbolic_build(model, build)
    model.fit(np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32"), epochs=1, verbose=0)
    assert calls and calls[0][0] and model.optimizer.built


if __name__ == "__main__":
    {"mirrored": scenario_mirrored, "worker": scenario_worker}[sys.argv[1]](sys.argv[2])
