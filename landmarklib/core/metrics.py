"""Losses and metrics that ignore unlabelled keypoints (NaN in the targets).

Targets and predictions are (batch, 30) in pixels, Kaggle column order.
A missing keypoint never contributes a value or a gradient: it is removed
*before* any arithmetic, so no NaN can leak into a sum or a gradient.

Two flavours of each metric, computing the same numbers:

* numpy functions (``rmse``, ``mae``, ``nme``, ``pck``, ``per_keypoint``,
  ``summary``) for evaluation on whole arrays;
* Keras metrics (``MaskedRMSE`` ...) that keep a *sum* and a *count* over the
  epoch, so the epoch value is exact (not a mean of batch means) and adds up
  correctly across replicas.

See 03_train, "Loss".
"""
import math

import keras
import numpy as np
from keras import ops

from . import keypoints as kp

LEFT_EYE, RIGHT_EYE = kp.INDEX["left_eye_center"], kp.INDEX["right_eye_center"]
FAILURE_NME = 10.0  # percent: an image whose NME exceeds this is a failure


# --- numpy ------------------------------------------------------------------

def _check(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.shape[-1] != 2 * kp.NUM_KEYPOINTS:
        raise ValueError(f"expected two (N, 30) arrays, got {y_true.shape} and {y_pred.shape}")
    if np.isnan(y_pred).any():
        raise ValueError("predictions contain NaN")
    return y_true, y_pred


def rmse(y_true, y_pred):
    """Root mean squared error over labelled coordinates (Kaggle's score)."""
    y_true, y_pred = _check(y_true, y_pred)
    seen = ~np.isnan(y_true)
    return float(np.sqrt(np.mean((y_true[seen] - y_pred[seen]) ** 2)))


def mae(y_true, y_pred):
    """Mean absolute error over labelled coordinates (pixels)."""
    y_true, y_pred = _check(y_true, y_pred)
    seen = ~np.isnan(y_true)
    return float(np.mean(np.abs(y_true[seen] - y_pred[seen])))


def point_errors(y_true, y_pred):
    """(N, 15) Euclidean error of each keypoint in pixels, NaN where unlabelled."""
    y_true, y_pred = _check(y_true, y_pred)
    d = kp.as_points(y_true) - kp.as_points(y_pred)
    return np.sqrt((d ** 2).sum(axis=-1))


def interocular(y_true):
    """(N,) distance between the labelled eye centres, NaN where one is missing."""
    pts = kp.as_points(np.asarray(y_true, dtype=np.float64))
    return np.linalg.norm(pts[:, LEFT_EYE] - pts[:, RIGHT_EYE], axis=-1)


def nme_per_image(y_true, y_pred):
    """(N,) mean point error / inter-ocular distance, in percent; NaN if undefined."""
    err = point_errors(y_true, y_pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = (~np.isnan(err)).sum(axis=1)
        mean_err = np.where(counts > 0, np.nansum(err, axis=1) / np.maximum(counts, 1), np.nan)
        return 100.0 * mean_err / interocular(y_true)


def nme(y_true, y_pred):
    """Mean over images of the normalised mean error (percent of eye distance)."""
    return float(np.nanmean(nme_per_image(y_true, y_pred)))


def pck(y_true, y_pred, threshold=2.0):
    """Fraction of labelled keypoints predicted within `threshold` pixels."""
    err = point_errors(y_true, y_pred)
    return float(np.mean(err[~np.isnan(err)] <= threshold))


def per_keypoint(y_true, y_pred):
    """Dict keypoint name -> {"mae", "rmse", "mean_error", "count"} (pixels)."""
    y_true, y_pred = _check(y_true, y_pred)
    err = point_errors(y_true, y_pred)
    out = {}
    for i, name in enumerate(kp.NAMES):
        seen = ~np.isnan(err[:, i])
        d = (y_true[:, 2 * i:2 * i + 2] - y_pred[:, 2 * i:2 * i + 2])[seen]
        n = int(seen.sum())
        out[name] = {
            "mae": float(np.abs(d).mean()) if n else None,
            "rmse": float(np.sqrt((d ** 2).mean())) if n else None,
            "mean_error": float(err[seen, i].mean()) if n else None,
            "count": n,
        }
    return out


def summary(y_true, y_pred, pck_threshold=2.0):
    """All metrics of one evaluation, as written to results.json and evaluate's JSON."""
    per_image = nme_per_image(y_true, y_pred)
    defined = per_image[~np.isnan(per_image)]
    return {
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "nme": float(defined.mean()) if defined.size else None,
        "pck": pck(y_true, y_pred, pck_threshold),
        "pck_threshold": pck_threshold,
        "failure_rate": float(np.mean(defined > FAILURE_NME)) if defined.size else None,
        "images": int(len(np.asarray(y_true))),
        "coordinates": int((~np.isnan(np.asarray(y_true))).sum()),
        "per_keypoint": per_keypoint(y_true, y_pred),
    }


# --- Keras ------------------------------------------------------------------

def _masked_diff(y_true, y_pred):
    """(diff, seen): NaN targets replaced before subtracting, so no NaN gradient."""
    seen = ops.logical_not(ops.isnan(y_true))
    safe_true = ops.where(seen, y_true, y_pred)
    return safe_true - y_pred, ops.cast(seen, y_pred.dtype)


@keras.saving.register_keras_serializable(package="landmarklib")
def masked_mse(y_true, y_pred):
    """Masked mean squared error (px^2): sum over labelled coords / their count."""
    diff, seen = _masked_diff(y_true, y_pred)
    return ops.sum(diff * diff) / ops.maximum(ops.sum(seen), 1.0)


@keras.saving.register_keras_serializable(package="landmarklib")
def masked_smooth_l1(y_true, y_pred, delta=1.0):
    """Masked Huber loss (px): quadratic below `delta` px, linear above."""
    diff, seen = _masked_diff(y_true, y_pred)
    a = ops.abs(diff)
    per = ops.where(a < delta, 0.5 * a * a / delta, a - 0.5 * delta) * seen
    return ops.sum(per) / ops.maximum(ops.sum(seen), 1.0)


# Wing loss (Feng et al., CVPR 2018) in crop pixels: logarithmic below WING_WIDTH,
# so errors of a pixel or two still pull hard (MSE's pull fades as they shrink),
# linear above it, so a badly framed face does not dominate the batch.
WING_WIDTH = 10.0      # px; the paper's w
WING_CURVATURE = 2.0   # px; the paper's epsilon


@keras.saving.register_keras_serializable(package="landmarklib")
def masked_wing(y_true, y_pred, width=WING_WIDTH, curvature=WING_CURVATURE):
    """Masked Wing loss (px): w ln(1 + |d| / eps) below w, |d| - C above (continuous at w)."""
    diff, seen = _masked_diff(y_true, y_pred)
    a = ops.abs(diff)
    joint = width - width * math.log(1.0 + width / curvature)
    per = ops.where(a < width, width * ops.log(1.0 + a / curvature), a - joint) * seen
    return ops.sum(per) / ops.maximum(ops.sum(seen), 1.0)


LOSSES = {"mse": masked_mse, "smooth_l1": masked_smooth_l1, "wing": masked_wing}


def get_loss(name):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}")
    return LOSSES[name]


def _point_err(y_true, y_pred):
    """(B, 15) Euclidean errors and (B, 15) visibility, NaN-free."""
    diff, seen = _masked_diff(y_true, y_pred)
    d = ops.reshape(diff, (-1, kp.NUM_KEYPOINTS, 2))
    vis = ops.reshape(seen, (-1, kp.NUM_KEYPOINTS, 2))[..., 0]
    return ops.sqrt(ops.sum(d * d, axis=-1) + 1e-12) * vis, vis


@keras.saving.register_keras_serializable(package="landmarklib")
class MaskedSumMetric(keras.metrics.Metric):
    """A metric kept as (sum of values, count of values) over the epoch.

    Subclasses define ``values(y_true, y_pred) -> (batch sum, batch count)``
    and optionally ``finish(mean)``.
    """

    def __init__(self, name, **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total",
                                       aggregation="sum")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count",
                                       aggregation="sum")

    def values(self, y_true, y_pred):
        raise NotImplementedError

    def finish(self, mean):
        return mean

    def update_state(self, y_true, y_pred, sample_weight=None):
        total, count = self.values(ops.cast(y_true, "float32"), ops.cast(y_pred, "float32"))
        self.total.assign_add(total)
        self.count.assign_add(count)

    def result(self):
        return self.finish(self.total / ops.maximum(self.count, 1.0))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="landmarklib")
class MaskedMAE(MaskedSumMetric):
    def __init__(self, name="mae", **kwargs):
        super().__init__(name, **kwargs)

    def values(self, y_true, y_pred):
        diff, seen = _masked_diff(y_true, y_pred)
        return ops.sum(ops.abs(diff)), ops.sum(seen)


@keras.saving.register_keras_serializable(package="landmarklib")
class MaskedRMSE(MaskedSumMetric):
    def __init__(self, name="rmse", **kwargs):
        super().__init__(name, **kwargs)

    def values(self, y_true, y_pred):
        diff, seen = _masked_diff(y_true, y_pred)
        return ops.sum(diff * diff), ops.sum(seen)

    def finish(self, mean):
        return ops.sqrt(mean)


@keras.saving.register_keras_serializable(package="landmarklib")
class NME(MaskedSumMetric):
    """Mean over images of mean point error / inter-ocular distance, percent."""

    def __init__(self, name="nme", **kwargs):
        super().__init__(name, **kwargs)

    def values(self, y_true, y_pred):
        err, vis = _point_err(y_true, y_pred)
        pts = ops.reshape(ops.where(ops.isnan(y_true), 0.0, y_true), (-1, kp.NUM_KEYPOINTS, 2))
        d = pts[:, LEFT_EYE] - pts[:, RIGHT_EYE]
        iod = ops.sqrt(ops.sum(d * d, axis=-1) + 1e-12)
        n = ops.sum(vis, axis=-1)
        ok = vis[:, LEFT_EYE] * vis[:, RIGHT_EYE]
        per_image = ops.sum(err, axis=-1) / ops.maximum(n, 1.0) / ops.maximum(iod, 1e-6)
        return 100.0 * ops.sum(per_image * ok), ops.sum(ok)


@keras.saving.register_keras_serializable(package="landmarklib")
class PCK(MaskedSumMetric):
    """Fraction of labelled keypoints within `threshold` pixels."""

    def __init__(self, threshold=2.0, name="pck", **kwargs):
        super().__init__(name, **kwargs)
        self.threshold = threshold

    def values(self, y_true, y_pred):
        err, vis = _point_err(y_true, y_pred)
        return ops.sum(ops.cast(err <= self.threshold, "float32") * vis), ops.sum(vis)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def keras_metrics(pck_threshold=2.0):
    """Fresh [MAE, RMSE, NME %, PCK] metric objects for ``model.compile``."""
    return [MaskedMAE(), MaskedRMSE(), NME(), PCK(pck_threshold)]
