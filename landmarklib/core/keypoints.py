"""The 15 Kaggle facial keypoints, their left/right pairs and mappings from
other annotation schemes (iBUG 68 points, MTFL 5 points).

Conventions used everywhere in landmarklib:

* keypoints of one face are a vector of 30 floats in Kaggle column order,
  ``x0, y0, x1, y1, ...`` (see ``COLUMNS``), in pixels of the 96x96 crop;
  pixel ``(i, j)`` has its centre at ``x = j, y = i``.
* a keypoint that is not labelled is NaN (both x and y).
* Kaggle's "left" is the **subject's** left, i.e. the right side of the image:
  on a frontal face ``left_eye_center_x > right_eye_center_x``.

See 01_explore, "The 15 keypoints".
"""
import numpy as np

IMAGE_SIZE = 96
# x of the faces' vertical midline in every crop (datasets.crop frames the
# eyes-mouth midpoint there, at Kaggle's mean). Mirroring about this line,
# rather than about the image centre (47.5), keeps a mirrored face framed like
# the others: the models learn the framing to a fraction of a pixel.
FACE_AXIS_X = 48.4

NAMES = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
NUM_KEYPOINTS = len(NAMES)
INDEX = {name: i for i, name in enumerate(NAMES)}
COLUMNS = tuple(f"{name}_{axis}" for name in NAMES for axis in ("x", "y"))

# Left/right pairs derived from the names, never typed by hand.
FLIP_PAIRS = tuple(
    (INDEX[n], INDEX[n.replace("left", "right")]) for n in NAMES if "left" in n
)


def _flip_permutation():
    perm = list(range(NUM_KEYPOINTS))
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return tuple(perm)


# FLIP_PERMUTATION[i] is the keypoint that keypoint i becomes after a mirror.
FLIP_PERMUTATION = _flip_permutation()

# --- iBUG 300-W 68-point scheme (0-based) -----------------------------------
# Points 36-41 are the eye on the image's left (the subject's right eye),
# 42-47 the subject's left eye; 17-21 the subject's right brow (outer->inner),
# 22-26 the left brow (inner->outer); 48 and 54 the mouth corners on the image
# left / right; 51 and 57 the centres of the outer lip contour.
IBUG68_TO_KAGGLE = {
    "left_eye_center": (42, 43, 44, 45, 46, 47),
    "right_eye_center": (36, 37, 38, 39, 40, 41),
    "left_eye_inner_corner": (42,),
    "left_eye_outer_corner": (45,),
    "right_eye_inner_corner": (39,),
    "right_eye_outer_corner": (36,),
    "left_eyebrow_inner_end": (22,),
    "left_eyebrow_outer_end": (26,),
    "right_eyebrow_inner_end": (21,),
    "right_eyebrow_outer_end": (17,),
    "nose_tip": (30,),
    "mouth_left_corner": (54,),
    "mouth_right_corner": (48,),
    "mouth_center_top_lip": (51,),
    "mouth_center_bottom_lip": (57,),
}

# --- MTFL 5-point scheme ----------------------------------------------------
# MTFL lists x1..x5, y1..y5 for: image-left eye, image-right eye, nose,
# image-left mouth corner, image-right mouth corner. Image-left is the
# subject's right.
MTFL5_TO_KAGGLE = {
    "right_eye_center": 0,
    "left_eye_center": 1,
    "nose_tip": 2,
    "mouth_right_corner": 3,
    "mouth_left_corner": 4,
}


# --- MediaPipe Face Mesh, 468 points (0-based) --------------------------------
# Only for comparing with an off-the-shelf detector (landmarklib.offtheshelf).
# The mesh names no points; these are the indices of its canonical face
# (mediapipe/modules/face_geometry) nearest to the iBUG definitions above:
# eye contours (16 points each) for the centres, 33/133 and 362/263 for the
# corners, the upper brow contour's ends, the pronasale (1), the mouth
# corners (61, 291) and the outer lip centres (0, 17).
MEDIAPIPE468_TO_KAGGLE = {
    "left_eye_center": (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385,
                        386, 387, 388, 466),
    "right_eye_center": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158,
                         159, 160, 161, 246),
    "left_eye_inner_corner": (362,),
    "left_eye_outer_corner": (263,),
    "right_eye_inner_corner": (133,),
    "right_eye_outer_corner": (33,),
    "left_eyebrow_inner_end": (336,),
    "left_eyebrow_outer_end": (300,),
    "right_eyebrow_inner_end": (107,),
    "right_eyebrow_outer_end": (70,),
    "nose_tip": (1,),
    "mouth_left_corner": (291,),
    "mouth_right_corner": (61,),
    "mouth_center_top_lip": (0,),
    "mouth_center_bottom_lip": (17,),
}


def _from_scheme(points, mapping, count):
    points = np.asarray(points, dtype=np.float64)
    if points.shape[-2:] != (count, 2):
        raise ValueError(f"expected points of shape (..., {count}, 2), got {points.shape}")
    out = np.stack([points[..., list(mapping[n]), :].mean(axis=-2) for n in NAMES], axis=-2)
    return out.reshape(*out.shape[:-2], 2 * NUM_KEYPOINTS).astype(np.float32)


def from_ibug68(points):
    """Map 68 iBUG points, shape (..., 68, 2), to Kaggle vectors (..., 30)."""
    return _from_scheme(points, IBUG68_TO_KAGGLE, 68)


def from_mediapipe468(points):
    """Map MediaPipe Face Mesh's 468 points, shape (..., 468, 2), to Kaggle vectors."""
    return _from_scheme(points, MEDIAPIPE468_TO_KAGGLE, 468)


def from_mtfl5(points):
    """Map MTFL's 5 points, shape (..., 5, 2), to Kaggle vectors (..., 30).

    The 10 keypoints MTFL does not label are NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.shape[-2:] != (5, 2):
        raise ValueError(f"expected MTFL points of shape (..., 5, 2), got {points.shape}")
    out = np.full(points.shape[:-2] + (NUM_KEYPOINTS, 2), np.nan)
    for name, j in MTFL5_TO_KAGGLE.items():
        out[..., INDEX[name], :] = points[..., j, :]
    return out.reshape(*out.shape[:-2], 2 * NUM_KEYPOINTS).astype(np.float32)


def as_points(keypoints):
    """View Kaggle vectors (..., 30) as points (..., 15, 2)."""
    keypoints = np.asarray(keypoints)
    return keypoints.reshape(*keypoints.shape[:-1], NUM_KEYPOINTS, 2)


def flip_horizontal(keypoints, axis=(IMAGE_SIZE - 1) / 2):
    """Mirror Kaggle vectors (..., 30) about the vertical line x = `axis` and
    swap the left/right pairs. The default axis is the image centre (the
    mirror of reversing the pixel columns); see FACE_AXIS_X for the other."""
    pts = as_points(np.array(keypoints, dtype=np.float32, copy=True))
    pts[..., 0] = 2 * axis - pts[..., 0]
    pts = pts[..., list(FLIP_PERMUTATION), :]
    return pts.reshape(keypoints.shape)


def complete(keypoints):
    """Boolean (N,): rows where all 15 keypoints are labelled."""
    return ~np.isnan(np.asarray(keypoints)).any(axis=-1)
