"""Training, caching, resuming, prediction and submission (smoke profile, real data)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import landmarklib as lm
from landmarklib import config, metrics, models, runs, train

pytestmark = pytest.mark.slow

# A small real subset that a few epochs can learn something from.
SUBSET = dict(max_images=1500, epochs=3, v1_epochs=3, batch_size=32, learning_rate=2e-3)


@pytest.fixture(scope="module")
def splits():
    return lm.datasets.load_splits("faces15", max_images=SUBSET["max_images"])


@pytest.fixture(scope="module")
def v2_smoke(tmp_path_factory):
    """One V2 smoke run for the tests that only read a finished run (trained once)."""
    return train.train("v2", "smoke", run_dir=tmp_path_factory.mktemp("v2-smoke") / "run")


@pytest.mark.parametrize("version", list(models.REGISTRY))
def test_each_version_builds_and_maps_images_to_pixels(version):
    model = models.build(version, **({"weights": "none"} if version == "transfer" else {}))
    out = model(np.zeros((2, 96, 96, 1), np.float32), training=False)
    assert tuple(out.shape) == (2, 30)


def test_transfer_says_when_it_trains_from_scratch(tmp_path, capsys):
    broken = tmp_path / "weights.h5"
    broken.write_bytes(b"not weights")
    model = models.build("transfer", weights=str(broken))
    assert "training the backbone from scratch" in capsys.readouterr().out
    assert model.backbone_weights == "none"
    assert models.build("transfer", weights="none").backbone_weights == "none"


def _check_run_folder(folder, epochs):
    for name in ("model.keras", "config.json", "history.csv", "results.json"):
        assert (folder / name).exists()
    assert len(pd.read_csv(folder / "history.csv")) == epochs


# V1 trains on complete rows only, about a fifth of the subset: 15 epochs give
# it as many steps as 3 give the others.
STEPS_LIKE_THE_OTHERS = {"v1": dict(v1_epochs=15)}


# Validation RMSE (px) of each version trained on SUBSET, recorded on this
# project's machines (see the file); a run must stay within RECORDED_TOLERANCE
# of it, so a 2x regression fails. After an intended change, rerun with
# LANDMARKLIB_RECORD_SMOKE=1 to write the new values, and commit them.
RECORDED = Path(__file__).with_name("recorded_smoke.json")
RECORDED_TOLERANCE = 0.25


# One recorded run per distinct training path: network, rows (V1: complete only) and
# whether it augments; of the versions that share one, the last (V5 over V3 and V4:
# their recipes are the same transforms with other ranges, which test_augment checks).
# The smoke report trains every version too. Transfer learns too little offline to record.
RECORDED_VERSIONS = list({(v.builder, v.complete_rows_only, v.augmented): name
                          for name, v in models.REGISTRY.items() if name != "transfer"}.values())


@pytest.mark.parametrize("version", RECORDED_VERSIONS)
def test_short_training_matches_its_recorded_accuracy(version, splits, tmp_path):
    settings = {**SUBSET, **STEPS_LIKE_THE_OTHERS.get(version, {})}
    run = train.train(version, "smoke", run_dir=tmp_path / version, **settings)
    rmse = run.results["splits"]["val"]["rmse"]
    baseline = train.mean_shape_baseline(splits)["val"]["rmse"]
    assert rmse < baseline
    record = json.loads(RECORDED.read_text())
    if os.environ.get("LANDMARKLIB_RECORD_SMOKE"):
        record["val_rmse"][version] = round(rmse, 4)
        RECORDED.write_text(json.dumps(record, indent=2) + "\n")
    expected = record["val_rmse"][version]
    assert rmse <= (1 + RECORDED_TOLERANCE) * expected, (
        f"{version}: validation RMSE {rmse:.3f} px, recorded {expected:.3f} px: a regression")
    assert rmse >= (1 - RECORDED_TOLERANCE) * expected, (
        f"{version}: validation RMSE {rmse:.3f} px, far better than the recorded "
        f"{expected:.3f} px: record the new value (see RECORDED)")
    epochs = settings["v1_epochs" if version == "v1" else "epochs"]
    _check_run_folder(tmp_path / version, epochs)


def test_editing_a_training_module_invalidates_the_cached_run(tmp_path, monkeypatch):
    settings = dict(epochs=1, max_images=64)
    train.train("v2", "smoke", run_dir=tmp_path, **settings)
    assert json.loads((tmp_path / "config.json").read_text())["code"] == runs.code_digest()

    def fit(*args, **kwargs):
        raise RuntimeError("retrained")

    monkeypatch.setattr(keras.Model, "fit", fit)
    train.train("v2", "smoke", run_dir=tmp_path, **settings)  # unchanged code: cached
    real = runs.module_digest
    for module in ("training.models", "data.augment", "core.metrics"):
        with monkeypatch.context() as patch:  # as if the module's source had been edited
            patch.setattr(runs, "module_digest",
                          lambda name, m=module: "edited" if name == m else real(name))
            with pytest.raises(RuntimeError, match="retrained"):
                train.train("v2", "smoke", run_dir=tmp_path, **settings)


def test_every_training_module_listed_in_the_key_exists():
    missing = [m for m in runs.TRAINING_MODULES + runs.PREDICTION_MODULES
               if runs.module_digest(m) == "absent"]
    assert not missing
    # comments and docstrings are not code; a changed statement is
    assert runs.module_digest("training.models") == runs.module_digest("training.models")


def test_module_digest_ignores_docstrings_but_not_code(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    (package / "training").mkdir(parents=True)
    source = package / "training" / "models.py"
    monkeypatch.setattr(runs, "PACKAGE_DIR", package)
    source.write_text('"""One."""\n# a comment\ndef f():\n    """Doc."""\n    return 1\n')
    first = runs.module_digest("training.models")
    source.write_text('"""Two."""\ndef f():\n    """Other doc."""\n    return 1\n')
    assert runs.module_digest("training.models") == first
    source.write_text('"""Two."""\ndef f():\n    return 2\n')
    assert runs.module_digest("training.models") != first


def test_supplying_transfer_weights_later_is_a_cache_miss(tmp_path, monkeypatch):
    """A run that wanted weights and got none is not served once the weights exist."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    settings = dict(epochs=1, max_images=64)
    monkeypatch.setattr(config, "TRANSFER_WEIGHTS", "imagenet")
    monkeypatch.setattr(keras.applications, "MobileNetV3Small",
                        _offline(keras.applications.MobileNetV3Small))
    first = train.train("transfer", "smoke", run_dir=tmp_path / "run", **settings)
    assert first.results["backbone_weights"] == "none"
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["backbone_weights"]
    assert saved == {"wanted": "imagenet", "source": "imagenet:download", "loaded": "none"}

    def fit(*args, **kwargs):
        raise RuntimeError("retrained")

    monkeypatch.setattr(keras.Model, "fit", fit)
    train.train("transfer", "smoke", run_dir=tmp_path / "run", **settings)  # nothing new: cached
    weights = runs.keras_weights_file()
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"the user's weights file")
    with pytest.raises(RuntimeError, match="retrained"):
        train.train("transfer", "smoke", run_dir=tmp_path / "run", **settings)
    key_file = runs.cache_key("transfer", config.get_profile("smoke", **settings), {})
    weights.write_bytes(b"another weights file")
    runs._file_sha256.cache_clear()
    assert runs.cache_key("transfer", config.get_profile("smoke", **settings), {}) != key_file


def _offline(build):
    """MobileNetV3Small as on a machine without network: weights="imagenet" fails."""
    def offline(*args, weights=None, **kwargs):
        if weights == "imagenet":
            raise OSError("no network (test)")
        return build(*args, weights=weights, **kwargs)
    return offline


def test_transfer_from_scratch_learns(tmp_path):
    # Without ImageNet weights (no network here) the MobileNetV3 backbone starts
    # from random: measured on this subset, 3, 6 and 8 epochs (also with lr 5e-3)
    # left validation at 3.30-3.74 px against the mean shape's 3.29, although
    # the training loss fell below it. So this checks that it learns at all.
    run = train.train("transfer", "smoke", run_dir=tmp_path / "transfer", **SUBSET)
    loss = run.history["loss"].to_numpy()
    assert loss[-1] < 0.8 * loss[0]
    assert run.results["backbone_weights"] in ("none", "imagenet")
    _check_run_folder(tmp_path / "transfer", SUBSET["epochs"])


def test_v1_trains_on_complete_rows_only(splits):
    rows = train.training_rows("v1", splits)
    assert rows.complete.all() and len(rows) < len(splits["train"])
    assert len(train.training_rows("v2", splits)) == len(splits["train"])


def test_a_row_with_all_keypoints_missing_changes_nothing():
    model = models.build("v2")
    rng = np.random.default_rng(0)
    x = rng.random((4, 96, 96, 1)).astype(np.float32)
    y = (rng.random((4, 30)) * 96).astype(np.float32)
    y[1, :6] = np.nan  # partly labelled row

    def grads(images, targets):
        with tf.GradientTape() as tape:
            loss = metrics.masked_mse(targets, model(images, training=False))
        return loss, tape.gradient(loss, model.trainable_variables)

    loss_a, grads_a = grads(x, y)
    x_b = np.concatenate([x, rng.random((1, 96, 96, 1)).astype(np.float32)])
    y_b = np.concatenate([y, np.full((1, 30), np.nan, np.float32)])
    loss_b, grads_b = grads(x_b, y_b)
    assert float(loss_a) == pytest.approx(float(loss_b), rel=1e-6)
    for a, b in zip(grads_a, grads_b):
        assert not np.isnan(b.numpy()).any()
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-7)


def test_cached_run_is_loaded_not_retrained(v2_smoke, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    shutil.copytree(v2_smoke.dir, folder)   # --retrain below clears the folder's results
    first = train.train("v2", "smoke", run_dir=folder)   # the copy is the cached run
    assert first.results == v2_smoke.results

    def fail(*args, **kwargs):
        raise AssertionError("fit() called although the run is cached")

    monkeypatch.setattr(keras.Model, "fit", fail)
    again = train.train("v2", "smoke", run_dir=folder)
    assert again.results == first.results
    with pytest.raises(AssertionError):  # --retrain trains
        train.train("v2", "smoke", run_dir=folder, retrain=True)


def test_interrupted_run_resumes_and_ends_with_the_same_result(tmp_path):
    settings = dict(epochs=3, max_images=256)
    whole = train.train("v2", "smoke", run_dir=tmp_path / "whole", **settings)
    assert train.train("v2", "smoke", run_dir=tmp_path / "cut", stop_after_epochs=1,
                       **settings) is None
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    resumed = train.train("v2", "smoke", run_dir=tmp_path / "cut", **settings)
    assert not (tmp_path / "cut" / "checkpoint").exists()
    a, b = whole.results["splits"]["val"], resumed.results["splits"]["val"]
    # The input stream depends only on (seed, epoch) and Dropout's state is
    # checkpointed, so the resumed run retraces the uninterrupted one.
    assert b["rmse"] == pytest.approx(a["rmse"], rel=1e-5)
    np.testing.assert_allclose(whole.history["loss"], resumed.history["loss"], rtol=1e-5)


def test_test_time_flip_mirrors_about_the_faces_midline():
    # a dot at column 30 lands at 2 * 48.4 - 30 = 66.8 (centroid of the interpolated dot)
    image = np.zeros((1, 96, 96, 1), np.float32)
    image[0, 40, 30, 0] = 1.0
    row = lm.predict.mirror(image)[0, 40, :, 0]
    assert (row * np.arange(96)).sum() / row.sum() == pytest.approx(2 * lm.keypoints.FACE_AXIS_X - 30)
    # keypoints go back about the same line, pairs swapped
    points = np.arange(30, dtype=np.float32)
    back = lm.keypoints.flip_horizontal(
        lm.keypoints.flip_horizontal(points, axis=lm.keypoints.FACE_AXIS_X),
        axis=lm.keypoints.FACE_AXIS_X)
    np.testing.assert_allclose(back, points, atol=1e-5)


def test_bad_versions_profiles_and_folders_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown model version 'v9'"):
        train.train("v9", "smoke")
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        train.train("v2", "fast")
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        train.load_run(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="model.keras is missing"):
        train.load_run(tmp_path / "empty")


def test_wrong_version_folder_is_refused(v2_smoke):
    with pytest.raises(ValueError, match="holds a v2 model, expected v4"):
        train.load_run(v2_smoke.dir, expect_version="v4")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "landmarklib", *args], capture_output=True,
                          text=True, cwd=config.ROOT)


def test_predict_writes_a_valid_kaggle_submission(v2_smoke, tmp_path):
    sample_path = config.SHARED_DATA / "kaggle" / "SampleSubmission.csv"
    lookup_path = config.SHARED_DATA / "kaggle" / "IdLookupTable.csv"
    if not sample_path.exists():
        pytest.skip(f"{sample_path} not present")
    run = v2_smoke
    # A stand-in for Kaggle's test.csv (1783 images, ImageId 1..1783) from real crops.
    lookup = pd.read_csv(lookup_path)
    n = int(lookup["ImageId"].max())
    faces = lm.datasets.load_splits("faces15")["val"]
    faces = faces[np.arange(n) % len(faces)]
    faces.meta["ImageId"] = np.arange(1, n + 1)
    lm.datasets.write_kaggle_csv(faces, tmp_path / "test.csv", with_keypoints=False)
    out = _cli("predict", "--model", str(run.dir), "--csv", str(tmp_path / "test.csv"),
               "--submission", str(tmp_path / "submission.csv"), "--lookup", str(lookup_path),
               "--out", str(tmp_path / "pred.csv"))
    assert out.returncode == 0, out.stderr
    sub = pd.read_csv(tmp_path / "submission.csv")
    sample = pd.read_csv(sample_path)
    assert list(sub.columns) == ["RowId", "Location"] == list(sample.columns)
    assert (sub["RowId"].to_numpy() == sample["RowId"].to_numpy()).all()
    assert sub["Location"].between(0, 96).all() and sub["Location"].notna().all()
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["ImageId", *lm.keypoints.COLUMNS] and len(pred) == n


def test_train_cli_rejects_unknown_version_without_traceback():
    out = _cli("train", "--version", "v7", "--profile", "smoke")
    assert out.returncode == 2
    assert "--version v7: unknown model version" in out.stderr and "Traceback" not in out.stderr


def test_prediction_cache_follows_the_prediction_code(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from landmarklib.evaluation import evaluate

    run = SimpleNamespace(dir=tmp_path / "v2-smoke", config={"key": "k"}, model=models.build("v2"))
    faces = lm.datasets.FaceSet(np.zeros((2, 96, 96), np.uint8), np.zeros((2, 30), np.float32),
                                pd.DataFrame(index=range(2)))
    evaluate.cached_predictions(run, faces, "test", cache_dir=tmp_path)
    evaluate.cached_predictions(run, faces, "test", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    real = runs.module_digest
    monkeypatch.setattr(runs, "module_digest",  # as if the mirroring code had been edited
                        lambda name: "edited" if name == "training.models" else real(name))
    evaluate.cached_predictions(run, faces, "test", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_validation_split_reaches_the_data(tmp_path, monkeypatch):
    """Profile.validation_split is not only a cache-key field: train() hands it to the split."""
    seen = {}

    def load_splits(name, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(train.registry, "load_splits", load_splits)
    with pytest.raises(RuntimeError, match="stop before training"):
        train.train("v2", "smoke", run_dir=tmp_path, validation_split=0.35)
    assert seen["validation_fraction"] == 0.35
