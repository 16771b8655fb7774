"""Measurements derived from the 15 keypoints of a face, in the frame's pixels.

=================  ===========================================================
column             meaning
=================  ===========================================================
inter_ocular_px    distance between the two eye centres
roll_deg           angle of the eye line against the horizontal, in degrees;
                   0 = level eyes, positive = the face turned clockwise in the
                   picture (its image-right eye, the subject's left, lower)
mouth_open_px      distance between the top- and bottom-lip centres
eye_mouth_ratio    inter-ocular distance / distance from the eye midpoint to
                   the mouth midpoint (mean of the four mouth points); about
                   0.95 on a frontal Kaggle face, smaller when the head turns
=================  ===========================================================

Pixel measurements scale with the face's distance to the camera: compare
them within one face or divide by ``inter_ocular_px``. See 05_demo,
"Measurements".
"""
import numpy as np

from ..core import keypoints as kp

MEASUREMENTS = ("inter_ocular_px", "roll_deg", "mouth_open_px", "eye_mouth_ratio")
_MOUTH = ("mouth_left_corner", "mouth_right_corner", "mouth_center_top_lip",
          "mouth_center_bottom_lip")


def _point(pts, name):
    return pts[..., kp.INDEX[name], :]


def measure(keypoints):
    """Dict column -> array (...,) of the MEASUREMENTS for Kaggle vectors (..., 30)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.shape[-1] != 2 * kp.NUM_KEYPOINTS:
        raise ValueError(f"expected keypoint vectors (..., {2 * kp.NUM_KEYPOINTS}), "
                         f"got shape {keypoints.shape}")
    pts = kp.as_points(keypoints)
    left, right = _point(pts, "left_eye_center"), _point(pts, "right_eye_center")
    eye_line = left - right  # image-left (subject's right) eye -> image-right eye
    eyes = (left + right) / 2
    mouth = np.mean([_point(pts, n) for n in _MOUTH], axis=0)
    inter_ocular = np.linalg.norm(eye_line, axis=-1)
    eye_mouth = np.linalg.norm(mouth - eyes, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(eye_mouth > 0, inter_ocular / eye_mouth, np.nan)
    return {
        "inter_ocular_px": inter_ocular,
        "roll_deg": np.degrees(np.arctan2(eye_line[..., 1], eye_line[..., 0])),
        "mouth_open_px": np.linalg.norm(_point(pts, "mouth_center_bottom_lip")
                                        - _point(pts, "mouth_center_top_lip"), axis=-1),
        "eye_mouth_ratio": ratio,
    }
