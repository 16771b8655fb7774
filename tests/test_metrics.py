"""Masked metrics and losses against a plain numpy reference written here.

The reference is deliberately naive: loops over images and keypoints, no
vectorised tricks, so that it is obviously right.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from landmarklib import keypoints as kp
from landmarklib import metrics

BATCH_SIZES = (7, 5, 9, 4, 6)  # uneven on purpose: a mean of batch means would differ
THRESHOLD = 2.0
NOSE = kp.INDEX["nose_tip"]
LEFT_EYE, RIGHT_EYE = kp.INDEX["left_eye_center"], kp.INDEX["right_eye_center"]
RTOL = 1e-5  # Keras works in float32


# --- data: random faces with random missing keypoints ---------------------------

def random_batches(seed=0):
    """List of (y_true, y_pred) batches with NaN (missing) keypoints in y_true.

    Batch 1 has the nose missing in every row, batch 3 has only unlabelled rows,
    and some rows lack an eye (NME undefined for them).
    """
    rng = np.random.default_rng(seed)
    batches = []
    for b, size in enumerate(BATCH_SIZES):
        y_true = rng.uniform(5, 90, (size, 30))
        y_pred = y_true + rng.normal(0, 2.5, (size, 30))
        missing = rng.random((size, kp.NUM_KEYPOINTS)) < 0.3
        if b == 1:
            missing[:, NOSE] = True
        if b == 3:
            missing[:] = True
        points = kp.as_points(y_true)
        points[missing] = np.nan
        batches.append((y_true.astype(np.float32), y_pred.astype(np.float32)))
    return batches


def whole(batches):
    return (np.concatenate([t for t, _ in batches]), np.concatenate([p for _, p in batches]))


# --- the plain reference ---------------------------------------------------------

def labelled_pairs(y_true, y_pred):
    """Every labelled keypoint as (image, keypoint, dx, dy)."""
    for i in range(len(y_true)):
        for k in range(kp.NUM_KEYPOINTS):
            tx, ty = y_true[i, 2 * k], y_true[i, 2 * k + 1]
            if not (np.isnan(tx) or np.isnan(ty)):
                yield i, k, float(tx) - y_pred[i, 2 * k], float(ty) - y_pred[i, 2 * k + 1]


def reference(y_true, y_pred):
    y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    pairs = list(labelled_pairs(y_true, y_pred))
    coords = [d for _, _, dx, dy in pairs for d in (dx, dy)]
    errors = [np.hypot(dx, dy) for _, _, dx, dy in pairs]
    per_image = {}
    for (i, _, _, _), e in zip(pairs, errors):
        per_image.setdefault(i, []).append(e)
    nmes = []
    for i, errs in per_image.items():
        left, right = y_true[i, 2 * LEFT_EYE:2 * LEFT_EYE + 2], y_true[i, 2 * RIGHT_EYE:2 * RIGHT_EYE + 2]
        if not (np.isnan(left).any() or np.isnan(right).any()):
            nmes.append(100 * np.mean(errs) / np.hypot(*(left - right)))
    per_keypoint = {}
    for k, name in enumerate(kp.NAMES):
        mine = [(dx, dy, e) for (_, kk, dx, dy), e in zip(pairs, errors) if kk == k]
        ds = [d for dx, dy, _ in mine for d in (dx, dy)]
        per_keypoint[name] = {
            "count": len(mine),
            "mae": np.mean(np.abs(ds)) if mine else None,
            "rmse": np.sqrt(np.mean(np.square(ds))) if mine else None,
            "mean_error": np.mean([e for _, _, e in mine]) if mine else None,
        }
    return {
        "mae": np.mean(np.abs(coords)),
        "rmse": np.sqrt(np.mean(np.square(coords))),
        "mse": np.mean(np.square(coords)),
        "pck": np.mean(np.array(errors) <= THRESHOLD),
        "nme": np.mean(nmes),
        "nme_images": len(nmes),
        "coordinates": len(coords),
        "per_keypoint": per_keypoint,
    }


def test_random_data_has_the_hard_cases():
    batches = random_batches()
    assert np.isnan(batches[1][0][:, 2 * NOSE]).all()
    assert np.isnan(batches[3][0]).all()
    y_true, _ = whole(batches)
    eyes = kp.as_points(y_true)[:, [LEFT_EYE, RIGHT_EYE]]
    assert np.isnan(eyes).any(axis=(1, 2)).sum() > 5  # rows without NME


# --- numpy functions ---------------------------------------------------------------

def test_numpy_metrics_match_the_reference():
    y_true, y_pred = whole(random_batches())
    ref = reference(y_true, y_pred)
    assert metrics.mae(y_true, y_pred) == pytest.approx(ref["mae"], rel=1e-9)
    assert metrics.rmse(y_true, y_pred) == pytest.approx(ref["rmse"], rel=1e-9)
    assert metrics.pck(y_true, y_pred, THRESHOLD) == pytest.approx(ref["pck"], rel=1e-9)
    assert metrics.nme(y_true, y_pred) == pytest.approx(ref["nme"], rel=1e-9)
    for name, got in metrics.per_keypoint(y_true, y_pred).items():
        want = ref["per_keypoint"][name]
        assert got["count"] == want["count"], name
        for field in ("mae", "rmse", "mean_error"):
            assert got[field] == pytest.approx(want[field], rel=1e-9), (name, field)


def test_summary_counts_and_keys():
    y_true, y_pred = whole(random_batches())
    ref = reference(y_true, y_pred)
    s = metrics.summary(y_true, y_pred, pck_threshold=THRESHOLD)
    assert s["images"] == len(y_true) and s["coordinates"] == ref["coordinates"]
    assert s["nme"] == pytest.approx(ref["nme"], rel=1e-9)
    assert 0 <= s["failure_rate"] <= 1
    assert set(s["per_keypoint"]) == set(kp.NAMES)


def test_numpy_metrics_reject_bad_input():
    y = np.zeros((3, 30))
    with pytest.raises(ValueError, match="predictions contain NaN"):
        metrics.rmse(y, np.full((3, 30), np.nan))
    with pytest.raises(ValueError, match=r"\(N, 30\)"):
        metrics.mae(y, np.zeros((3, 28)))


# --- Keras metrics: exact over an epoch ------------------------------------------------

KERAS_METRICS = {
    "mae": lambda: metrics.MaskedMAE(),
    "rmse": lambda: metrics.MaskedRMSE(),
    "nme": lambda: metrics.NME(),
    "pck": lambda: metrics.PCK(THRESHOLD),
}


@pytest.mark.parametrize("name", KERAS_METRICS)
def test_keras_metric_over_batches_equals_whole_array(name):
    batches = random_batches()
    ref = reference(*whole(batches))
    metric = KERAS_METRICS[name]()
    for y_true, y_pred in batches:
        metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(ref[name], rel=RTOL)
    metric.reset_state()
    metric.update_state(*batches[0])
    assert float(metric.result()) == pytest.approx(reference(*batches[0])[name], rel=RTOL)


def test_keras_metric_on_an_all_missing_batch_is_finite():
    metric = metrics.MaskedRMSE()
    metric.update_state(*random_batches()[3])
    assert float(metric.result()) == 0.0  # nothing seen yet, and no NaN


def test_model_evaluate_reports_the_whole_array_values():
    """Through compile/evaluate (how training uses them), uneven last batch included."""
    y_true, y_pred = whole(random_batches())
    ref = reference(y_true, y_pred)
    model = keras.Sequential([keras.Input((30,)), keras.layers.Identity()])
    model.compile(loss=metrics.masked_mse, metrics=metrics.keras_metrics(THRESHOLD))
    got = model.evaluate(y_pred, y_true, batch_size=8, verbose=0, return_dict=True)
    for name in ("mae", "rmse", "nme", "pck"):
        assert got[name] == pytest.approx(ref[name], rel=RTOL), name


# --- masked losses: values and gradients ------------------------------------------------

@pytest.mark.parametrize("loss", [metrics.masked_mse, metrics.masked_smooth_l1])
def test_loss_gradient_is_finite_and_zero_for_missing(loss):
    y_true, y_pred = random_batches()[1]
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(tf.constant(y_true), prediction)
    grad = tape.gradient(value, prediction).numpy()
    missing = np.isnan(y_true)
    assert np.isfinite(float(value)) and np.isfinite(grad).all()
    assert (grad[missing] == 0).all()
    assert (grad[~missing] != 0).all()


def test_masked_mse_value_and_gradient():
    y_true, y_pred = random_batches()[2]
    ref = reference(y_true, y_pred)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = metrics.masked_mse(tf.constant(y_true), prediction)
    assert float(value) == pytest.approx(ref["mse"], rel=RTOL)
    seen = ~np.isnan(y_true)
    expected = np.where(seen, 2 * (y_pred - np.nan_to_num(y_true)) / seen.sum(), 0)
    np.testing.assert_allclose(tape.gradient(value, prediction).numpy(), expected,
                               rtol=1e-4, atol=1e-7)


def test_losses_on_an_all_missing_batch_are_zero_with_zero_gradient():
    y_true, y_pred = random_batches()[3]
    for loss in (metrics.masked_mse, metrics.masked_smooth_l1):
        prediction = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = loss(tf.constant(y_true), prediction)
        assert float(value) == 0.0
        assert (tape.gradient(value, prediction).numpy() == 0).all()


def test_get_loss_names_the_choices():
    assert metrics.get_loss("mse") is metrics.masked_mse
    with pytest.raises(ValueError, match="smooth_l1"):
        metrics.get_loss("l2")
