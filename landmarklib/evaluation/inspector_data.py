"""What the inspector (``landmarklib.widgets``) shows, as plain functions on arrays:
which faces pass the filters, in which order, which faces fill the grid, what
an upload widget holds, and the face found in an uploaded photo.

No widget code here, so each piece is tested on its own (tests/test_widgets.py).
"""
import numpy as np

from ..core import keypoints as kp
from ..core import metrics
from ..data.crop import decode_image, to_gray
from ..inference import photo
from .analysis import ATTRIBUTES

ALL = "all"                      # an attribute filter that keeps every face
GRID_KINDS = ("worst", "best", "most disagreeing")
NO_DETECTOR = "no face detector available, so photos cannot be cropped here ({reason})"
CROP_CORNERS = np.array([[-0.5, -0.5], [95.5, -0.5], [95.5, 95.5], [-0.5, 95.5]])  # crop pixels


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


def crop_photo(data, model=None):
    """Find the largest face in an encoded photo and crop it as ``predict-image`` does.

    The same pipeline as ``python -m landmarklib predict-image`` and the video
    demo (``inference.photo``): the face detector's first framing, then, with a
    `model`, re-cropping from its keypoints until the framing settles; the crop
    is de-rotated by the eye line.

    Args:
        data: the bytes of a JPEG or PNG file.
        model: what refines the framing (a keras model, a predictor or a run
            folder); None: the detector's framing alone.

    Returns:
        dict with ``photo`` (grayscale, whole), ``box`` (the detector's x, y, w, h),
        ``framing`` (``Framing``: centre, side, roll), ``corners`` (4, 2: the
        cropped square in photo pixels), ``crop`` (96x96 uint8) and ``passes``.

    Raises:
        ValueError: the bytes are not an image, no detector is available, or no face is found.
    """
    image = decode_image(data, "the upload", color=True)
    try:
        detector = photo.default_detector()
    except ImportError as err:
        raise ValueError(NO_DETECTOR.format(reason=err)) from None
    if model is not None:
        faces = photo.landmarks_in_photo(image, model, detector=detector, max_faces=1)
        if not faces:
            raise ValueError(f"no face found ({detector.name} detector)")
        face = faces[0]
        box, framing, crop, passes = face.box, face.framing, face.crop, face.passes
    else:
        found = detector.detect(image)
        if not found:
            raise ValueError(f"no face found ({detector.name} detector)")
        framing = photo.first_framing(found[0])
        box, crop, passes = np.asarray(found[0].box, np.float64), None, 0
    gray = to_gray(image)
    if crop is None:
        crop = photo.crop_framing(gray, framing)
    return {"photo": gray, "box": np.asarray(box, np.float64), "framing": framing,
            "corners": photo.to_photo(CROP_CORNERS, framing), "crop": crop, "passes": passes}


def failure_threshold_default():
    """The failure threshold of the report (``metrics.FAILURE_NME``, percent)."""
    return metrics.FAILURE_NME
