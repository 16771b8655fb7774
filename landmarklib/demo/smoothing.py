"""Temporal smoothing of keypoints: the One-Euro filter, and a tracker that
keeps one filter per face by matching face boxes between frames.

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
IOU_MATCH = 0.3      # a box continues a track if their IoU is at least this
MAX_MISSED = 5       # frames a track survives without its face
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


def iou(a, b):
    """Intersection over union of two boxes (x, y, w, h)."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class Track:
    """One face followed across frames: its id, last box and filter."""

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


class Tracker:
    """Give each face a stable id and its own One-Euro filter.

    Each frame, ``update`` matches the frame's boxes to the live tracks
    (greedily, highest IoU first); unmatched boxes start new tracks, and a
    track unmatched for more than ``max_missed`` frames ends.

    Args:
        smooth: "one-euro" or "none" (ids only, keypoints untouched).
        iou_match: least IoU for a box to continue a track.
        max_missed: frames a track may go without a box.
        **filter_args: min_cutoff, beta, d_cutoff of the One-Euro filters.
    """

    def __init__(self, smooth="one-euro", iou_match=IOU_MATCH, max_missed=MAX_MISSED,
                 **filter_args):
        if smooth not in SMOOTHERS:
            raise ValueError(f"unknown smoothing {smooth!r}; choose one of {SMOOTHERS}")
        self.smooth, self.iou_match, self.max_missed = smooth, iou_match, max_missed
        self.filter_args = filter_args
        self.tracks = []
        self._next_id = 0

    def match(self, boxes):
        """For each box, the live Track it continues (or None for a new face)."""
        pairs = sorted(((iou(tr.box, b), i, j) for i, b in enumerate(boxes)
                        for j, tr in enumerate(self.tracks)), reverse=True)
        owner, taken = [None] * len(boxes), set()
        for overlap, i, j in pairs:
            if overlap < self.iou_match:
                break
            if owner[i] is None and j not in taken:
                owner[i] = self.tracks[j]
                taken.add(j)
        return owner

    def update(self, boxes, keypoints, t):
        """Match, smooth, age the tracks; returns [(face_id, smoothed keypoints)]."""
        owners = self.match(boxes)
        out, seen = [], set()
        for box, points, track in zip(boxes, keypoints, owners):
            if track is None:
                track = Track(self._next_id, box, self.smooth, **self.filter_args)
                self._next_id += 1
                self.tracks.append(track)
            track.box, track.missed = np.asarray(box, dtype=np.float64), 0
            seen.add(track.id)
            out.append((track.id, track.smooth(points, t)))
        for track in self.tracks:
            if track.id not in seen:
                track.missed += 1
        self.tracks = [tr for tr in self.tracks if tr.missed <= self.max_missed]
        return out


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
