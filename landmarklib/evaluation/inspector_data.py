"""What the inspector (``landmarklib.widgets``) shows, as plain functions on arrays:
which faces pass the filters, in which order, which faces fill the grid, what
an upload widget holds, and the face found in an uploaded photo.

No widget code here, so each piece is tested on its own (tests/test_widgets.py).
"""
import numpy as np

from ..core import keypoints as kp
from ..core import metrics

try:  # MTFL attribute codes -> group names (evaluate.py is being split into analysis.py)
    from .analysis import ATTRIBUTES
except ImportError:
    from .evaluate import ATTRIBUTES

ALL = "all"                      # an attribute filter that keeps every face
GRID_KINDS = ("worst", "best", "most disagreeing")
NO_DETECTOR = ("no face detector available: this OpenCV ({version}) has no "
               "cv2.CascadeClassifier (OpenCV 5 dropped it), so photos cannot be cropped here")


# --- what an upload widget holds --------------------------------------------------------


def normalise_upload(value):
    """The files of a ``FileUpload`` value as a list of (name, bytes).

    ipywidgets 7.x: a dict ``{name: {"metadata": {...}, "content": bytes}}``;
    ipywidgets 8.x: a tuple of dicts ``{"name", "type", "size", "content":
    memoryview, "last_modified"}``. Both (and an empty value) are accepted.

    Args:
        value: the ``value`` of an ``ipywidgets.FileUpload``.
    """
    if not value:
        return []
    if isinstance(value, dict):
        items = [(name, item) for name, item in value.items()]
    else:
        items = [(item.get("name") or item.get("metadata", {}).get("name", "upload"), item)
                 for item in value]
    files = []
    for name, item in items:
        if not isinstance(item, dict) or "content" not in item:
            raise ValueError(f"upload {name!r}: expected a dict with 'content', "
                             f"received {type(item).__name__}")
        files.append((str(name), bytes(item["content"])))
    return files


# --- a split's faces, predictions and errors ------------------------------------------------


def prepare_split(split, faces, predictions):
    """Check one split's predictions and compute its errors once.

    Returns a dict with ``faces``, ``predictions`` (name -> (N, 30) float32),
    ``errors`` (name -> (N, 15) px) and ``nme`` (name -> (N,) percent).

    Args:
        split: the split's name (for messages).
        faces: its FaceSet.
        predictions: dict model name -> (N, 30) predicted keypoints.
    """
    if len(faces) == 0:
        raise ValueError(f"Inspector needs at least one face (split {split!r} is empty)")
    checked = {}
    for name, pred in predictions.items():
        pred = np.asarray(pred, dtype=np.float32)
        if pred.shape != faces.keypoints.shape:
            raise ValueError(f"predictions of {name!r} on {split!r} have shape {pred.shape}, "
                             f"expected {faces.keypoints.shape} (one row per face)")
        checked[name] = pred
    return {"faces": faces, "predictions": checked,
            "errors": {n: metrics.point_errors(faces.keypoints, p) for n, p in checked.items()},
            "nme": {n: metrics.nme_per_image(faces.keypoints, p) for n, p in checked.items()}}


# --- filters ------------------------------------------------------------------------------


def attribute_options(meta):
    """Dict attribute -> group names present in `meta` (MTFL's pose, glasses, smile, gender).

    Args:
        meta: a FaceSet's ``meta`` DataFrame; attributes absent or all NaN are left out.
    """
    options = {}
    for attribute, groups in ATTRIBUTES.items():
        if attribute in meta and not meta[attribute].isna().all():
            codes = set(meta[attribute].dropna().astype(int))
            options[attribute] = [name for code, name in groups.items() if code in codes]
    return options


def filter_mask(meta, attributes, nme=None, failure_threshold=None):
    """Boolean mask of the faces that pass every filter.

    Args:
        meta: a FaceSet's ``meta`` DataFrame.
        attributes: dict attribute -> group name, or ``ALL`` to keep every face.
        nme: per-image NME (%) of the model that decides failures (with the threshold).
        failure_threshold: keep only faces whose NME exceeds this (None: no filter).
    """
    mask = np.ones(len(meta), dtype=bool)
    for attribute, group in attributes.items():
        if group == ALL or attribute not in meta:
            continue
        code = {name: c for c, name in ATTRIBUTES[attribute].items()}[group]
        mask &= (meta[attribute].to_numpy(dtype=float) == code)
    if failure_threshold is not None and nme is not None:
        with np.errstate(invalid="ignore"):
            mask &= np.asarray(nme) > failure_threshold
    return mask


# --- orders -------------------------------------------------------------------------------


def descending(values):
    """Indices from the largest to the smallest value; NaN last, ties by index."""
    values = np.asarray(values, dtype=np.float64)
    return np.argsort(np.where(np.isnan(values), -np.inf, -values), kind="stable")


def model_gap(nme_a, nme_b):
    """Per-image NME of model A minus model B (positive: A is worse there)."""
    return np.asarray(nme_a, dtype=np.float64) - np.asarray(nme_b, dtype=np.float64)


def disagreement(predictions):
    """Per-image mean distance (px) between the models' points, over every pair.

    Args:
        predictions: list of (N, 30) predictions of at least two models.
    """
    if len(predictions) < 2:
        raise ValueError(f"disagreement needs two models or more, received {len(predictions)}")
    points = [kp.as_points(np.asarray(p, dtype=np.float64)) for p in predictions]
    pairs = [np.linalg.norm(a - b, axis=-1).mean(axis=-1)
             for i, a in enumerate(points) for b in points[i + 1:]]
    return np.mean(pairs, axis=0)


def ordered(rows, values, reverse=False):
    """`rows` (indices into the split) sorted by ``values[rows]``, largest first.

    Args:
        rows: indices of the faces that passed the filters.
        values: one value per face of the split (None: keep index order).
        reverse: smallest first (NaN still last).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if values is None:
        return rows[::-1] if reverse else rows
    part = np.asarray(values, dtype=np.float64)[rows]
    if reverse:
        part = np.where(np.isnan(part), np.nan, -part)
    return rows[descending(part)]


def grid_rows(rows, nme, kind, count, spread=None):
    """The `count` faces of the grid: the worst, the best or the most disagreeing.

    Args:
        rows: indices of the faces that passed the filters.
        nme: per-image NME of the ranking model.
        kind: one of ``GRID_KINDS``.
        count: how many faces.
        spread: per-image disagreement of the ticked models (for "most disagreeing").
    """
    if kind not in GRID_KINDS:
        raise ValueError(f"grid kind {kind!r} unknown; expected one of {GRID_KINDS}")
    rows = np.asarray(rows, dtype=np.int64)
    if kind == "most disagreeing":
        if spread is None:
            return rows[:0]
        return ordered(rows, spread)[:count]
    defined = rows[~np.isnan(np.asarray(nme, dtype=np.float64)[rows])]
    return ordered(defined, nme, reverse=kind == "best")[:count]


def point_nme(errors, keypoints, index):
    """Per-image error of one keypoint in percent of the inter-ocular distance.

    Args:
        errors: (N, 15) point errors in px (``metrics.point_errors``).
        keypoints: (N, 30) ground truth (for the eye distance).
        index: keypoint index.
    """
    eyes = kp.as_points(np.asarray(keypoints, dtype=np.float64))
    dist = np.linalg.norm(eyes[:, kp.INDEX["left_eye_center"]]
                          - eyes[:, kp.INDEX["right_eye_center"]], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * np.asarray(errors)[:, index] / dist


# --- a face in an uploaded photo ---------------------------------------------------------


def decode_photo(data):
    """Encoded image bytes -> grayscale uint8 array; ValueError if unreadable."""
    import cv2

    from ..data.crop import to_gray

    image = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError("not a readable image (JPEG or PNG expected)")
    return to_gray(image)


def find_face(gray):
    """The largest face in a grayscale photo: (detector box x, y, w, h, crop frame x0, y0, side).

    The one place where the inspector calls a face detector: switch it to
    ``inference.photo`` when that pipeline lands. Raises ValueError with a
    clear message when no detector is available or no face is found.
    """
    import cv2

    from ..inference.detect import FaceDetector, box_to_frame

    if not hasattr(cv2, "CascadeClassifier"):
        raise ValueError(NO_DETECTOR.format(version=cv2.__version__))
    boxes = FaceDetector().detect(gray, max_faces=1)
    if len(boxes) == 0:
        raise ValueError("no face found (the detector looks for frontal faces)")
    return np.asarray(boxes[0], dtype=np.float64), tuple(box_to_frame(boxes[0]))


def crop_photo(data):
    """Encoded image bytes -> dict with the photo, the detector box, the crop frame and crop.

    Keys: ``photo`` (grayscale, whole), ``box`` (x, y, w, h), ``frame``
    (x0, y0, side of the square cropped), ``crop`` (96x96 uint8). Raises
    ValueError when the bytes are not an image, no detector is available or
    no face is found.

    Args:
        data: the bytes of a JPEG or PNG file.
    """
    from ..data.crop import crop_face

    gray = decode_photo(data)
    box, frame = find_face(gray)
    unlabelled = np.full(2 * kp.NUM_KEYPOINTS, np.nan, np.float32)
    crop, _ = crop_face(gray, unlabelled, box=frame)
    return {"photo": gray, "box": box, "frame": frame, "crop": crop}


def failure_threshold_default():
    """The failure threshold of the report (``metrics.FAILURE_NME``, percent)."""
    return metrics.FAILURE_NME
