"""Per-version facts live on ``versions.Version``: no module tests a version by its name,
and a run's cache key holds its own version's record only (adding V6 retrains nothing else)."""
import ast
import tempfile
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

import landmarklib as lm
from landmarklib.core import config
from landmarklib.reporting import findings, latex, results
from landmarklib.training import models, runs, versions

PACKAGE = Path(lm.__file__).parent


def test_labels_and_macro_words():
    assert models.get_version("v4").label == "V4"
    assert models.get_version("heatmap").label == "heatmap"
    assert models.get_version("v3").macro_word == "Vthree"
    assert models.get_version("transfer").macro_word == "Transfer"
    for name, spec in models.REGISTRY.items():
        # the report's macros (\VfourTestRmse) and the findings' (\FindVfourTestChange) agree
        assert latex.macro_name(name) == spec.macro_word
        assert results.VERSION_LABELS[name] == findings.version_label(name) == spec.label
    assert findings.version_label("MediaPipe Face Mesh") == "MediaPipe Face Mesh"
    assert models.tex_word("v12") == "Vonetwo"


def test_augmented_follows_the_recipe():
    assert [n for n, s in models.REGISTRY.items() if not s.augmented] == ["v1", "v2"]
    assert all(models.get_version(v).augmented for v in findings.AUGMENTED)
    assert not models.get_version(findings.PLAIN).augmented


def test_epoch_rule_reads_the_profile():
    profile = replace(config.CPU, epochs=9, v1_epochs=4)
    assert models.get_version("v1").epochs(profile) == 4
    assert {models.get_version(v).epochs(profile) for v in models.REGISTRY if v != "v1"} == {9}


def test_unknown_version_names_the_choices():
    with pytest.raises(lm.errors.LandmarkError, match=r"unknown model version 'v9'.*'v5'"):
        models.get_version("v9")


def _version_literal_tests(tree):
    """Line numbers of comparisons like ``version == "v1"`` / ``v in ("v3", "v4")``
    (``spec.builder == "transfer"`` names a builder, not a version)."""
    names = set(models.REGISTRY)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and not any(
                isinstance(side, ast.Attribute) and side.attr == "builder"
                for side in [node.left, *node.comparators]):
            for side in [node.left, *node.comparators]:
                values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
                if any(isinstance(v, ast.Constant) and v.value in names for v in values):
                    found.append(node.lineno)
    return found


def test_no_module_tests_a_version_by_name():
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        lines = _version_literal_tests(ast.parse(path.read_text()))
        if lines:
            offenders[str(path.relative_to(PACKAGE))] = lines
    assert not offenders, f"put the fact on models.Version instead of testing names: {offenders}"


def test_the_check_finds_a_name_test():
    assert _version_literal_tests(ast.parse('e = p.v1_epochs if version == "v1" else p.epochs'))
    assert _version_literal_tests(ast.parse('ok = v in ("v3", "v4")'))
    assert not _version_literal_tests(ast.parse('ok = spec.augment != "none"'))
    assert not _version_literal_tests(ast.parse('ok = spec.builder == "transfer"'))


# --- a run's cache key: its own record, its own builder's module -------------------------

MANIFEST = {"faces": 10}   # stands in for the data manifest: only its equality matters


def _keys(names=("v1", "v4", "heatmap", "v6")):
    return {name: runs.cache_key(name, config.CPU, MANIFEST) for name in names}


def test_adding_a_version_retrains_no_other(monkeypatch):
    before = _keys()
    extra = versions.Version("v7", "cnn", False, "v5", "+ something new", builds_on="v6")
    monkeypatch.setitem(versions.REGISTRY, "v7", extra)
    assert _keys() == before


def test_a_versions_own_record_is_in_its_key_but_not_its_prose(monkeypatch):
    before = _keys()
    v4 = versions.REGISTRY["v4"]
    monkeypatch.setitem(versions.REGISTRY, "v4", replace(v4, description="reworded", builds_on="v2"))
    assert _keys() == before                           # text the report reads: same model
    monkeypatch.setitem(versions.REGISTRY, "v4", replace(v4, augment="v5"))
    after = _keys()
    assert after["v4"] != before["v4"]
    assert {k: v for k, v in after.items() if k != "v4"} == {k: v for k, v in before.items()
                                                             if k != "v4"}


def test_editing_v6s_network_retrains_v6_alone(monkeypatch):
    before = _keys()
    digest = runs.module_digest
    monkeypatch.setattr(runs, "module_digest",
                        lambda name: "edited" if name == "training.efficient" else digest(name))
    after = _keys()
    assert after["v6"] != before["v6"]
    assert {k: after[k] for k in ("v1", "v4", "heatmap")} == {k: before[k] for k in
                                                              ("v1", "v4", "heatmap")}


# --- V6's loss, and what it is built from --------------------------------------------------

def test_v6_trains_with_wing_unless_the_loss_is_set():
    v6, v4 = versions.get_version("v6"), versions.get_version("v4")
    assert v6.loss_name(config.CPU) == "wing"
    assert v6.loss_name(replace(config.CPU, loss="mse"), overrides={"loss": "mse"}) == "mse"
    assert v4.loss_name(config.CPU) == config.CPU.loss == "mse"
    assert set(config.LOSSES) == set(lm.metrics.LOSSES)   # the pre-TensorFlow check knows them all


def test_wing_loss_is_the_papers_and_masked():
    truth = np.array([[10.0, 20.0, np.nan, 40.0]], np.float32)
    pred = np.array([[10.5, 23.0, 99.0, 55.0]], np.float32)
    w, eps = lm.metrics.WING_WIDTH, lm.metrics.WING_CURVATURE
    joint = w - w * np.log(1 + w / eps)
    expected = np.mean([w * np.log(1 + 0.5 / eps), w * np.log(1 + 3.0 / eps), 15.0 - joint])
    assert float(lm.metrics.masked_wing(truth, pred)) == pytest.approx(expected, rel=1e-5)
    # continuous where the log part meets the linear part
    at = np.array([[0.0]], np.float32)
    below = float(lm.metrics.masked_wing(at, at + w - 1e-3))
    above = float(lm.metrics.masked_wing(at, at + w + 1e-3))
    assert above - below == pytest.approx(2e-3, abs=1e-3)


def test_v6_is_small_and_starts_at_the_mean_face():
    mean = np.tile([30.0, 40.0, 66.0, 40.0], 8)[:30]
    model = models.build("v6", mean_keypoints=mean)
    assert model.count_params() < 600_000   # V4 has 3.5 M, the heatmap model 1.4 M
    out = model.predict(np.full((2, 96, 96, 1), 0.5, np.float32), verbose=0)
    assert out.shape == (2, 30)
    assert np.abs(out - mean).max() < 6.0   # the soft-argmax prior: the mean face, untrained
    assert {layer.__class__.__name__ for layer in model.layers} >= {"DepthwiseConv2D", "SoftArgmax"}


def test_a_run_folder_names_a_loss_only_when_it_is_not_the_versions_own():
    name = runs.run_names.run_folder_name
    assert name("v6", "cpu") == name("v6", "cpu", overrides={"loss": "wing"}) == "v6-cpu"
    assert name("v6", "cpu", overrides={"loss": "mse"}) == "v6-cpu+loss=mse"
    assert name("v4", "cpu", overrides={"loss": "mse"}) == "v4-cpu"
    assert name("v4", "cpu", overrides={"loss": "wing"}) == "v4-cpu+loss=wing"
    assert name("v6", config.get_profile("cpu")) == "v6-cpu"   # a Profile that chose no loss


def test_v6_is_registered_and_make_report_trains_it():
    assert "v6" in versions.REGISTRY and "v6" in lm.report.TRAIN_VERSIONS
    assert versions.get_version("v6").builder == "efficient"
    assert versions.REGISTRY["v6"].builds_on == "heatmap"   # the report compares it with heatmap


# --- V6's batch norm: TensorFlow's fused kernel, the Keras layer's arithmetic ---------------

def _bn_pass(layer, x, gamma, beta, training):
    """Outputs, gradients (input, gamma, beta) and moving averages after one call."""
    tf = pytest.importorskip("tensorflow")
    layer.build(x.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(y ** 3)   # not linear in y, so the gradients differ per element
    grads = tape.gradient(loss, [x, layer.gamma.value, layer.beta.value])
    return [np.asarray(t) for t in (y, *grads, layer.moving_mean.value,
                                    layer.moving_variance.value)]


@pytest.mark.parametrize("training", [True, False])
def test_v6_batch_norm_computes_what_the_keras_layer_computes(training):
    tf = pytest.importorskip("tensorflow")
    from landmarklib.training import efficient

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(1.0, 3.0, (8, 12, 12, 16)), tf.float32)
    gamma, beta = rng.uniform(0.5, 2, 16).astype("float32"), rng.normal(0, 1, 16).astype("float32")
    ours = _bn_pass(efficient.BatchNorm(), x, gamma, beta, training)
    keras_ = _bn_pass(keras.layers.BatchNormalization(), x, gamma, beta, training)
    for what, a, b in zip(("output", "d input", "d gamma", "d beta", "moving mean",
                           "moving variance"), ours, keras_):
        scale = max(1.0, float(np.abs(b).max()))
        assert np.abs(a - b).max() <= 1e-5 * scale, what


def test_v6_trains_its_batch_norm_fused_and_saves_as_one():
    tf = pytest.importorskip("tensorflow")
    from landmarklib.training import efficient

    layer = efficient.BatchNorm()
    x = tf.random.normal((4, 6, 6, 8))
    layer.build(x.shape)
    graph = tf.function(lambda t: layer(t, training=True)).get_concrete_function(x).graph
    assert any(op.type.startswith("FusedBatchNorm") for op in graph.get_operations())
    model = models.build("v6")
    assert sum(isinstance(layer, efficient.BatchNorm) for layer in model.layers) > 20
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/v6.keras"
        model.save(path)
        loaded = keras.models.load_model(path, custom_objects=models.CUSTOM_OBJECTS)
    image = np.random.default_rng(1).uniform(size=(2, 96, 96, 1)).astype("float32")
    assert np.array_equal(np.asarray(loaded(image)), np.asarray(model(image)))
    assert isinstance(loaded.get_layer("stem_bn"), efficient.BatchNorm)
