"""The one photo pipeline: face detector -> framing -> refine -> 15 keypoints.

Every user-facing path (``predict-image``, ``video``, ``webcam``, the Colab
capture, the inspector's upload and the real-pipeline evaluation) goes
through these functions, so they all crop a face the same way:

1. the face detector (``face_detectors.get_detector``: MTCNN's five points
   where installed, else a box) gives a first framing: a square in photo
   pixels and the head's roll (``framing.face_framing``);
2. ``crop_framing`` cuts that square out *de-rotated* by the roll (the eye
   line becomes level) and scales it to 96x96 exactly as the training crops
   were scaled (``data.crop.crop_face``; same pixel-centre convention, same
   anti-alias blur), so a roll-0 framing gives the training crop bit for bit;
3. the model predicts keypoints in the crop; they are mapped back to photo
   pixels (rotated back by the roll);
4. ``refine``: the keypoints define the framing the training data used
   (``framing_from_keypoints``: eye and mouth distances set the size, the
   eyes-mouth midpoint the position, the eye line the roll; ``keypoint_framing``
   takes the model's average offset out, ``inference.framing_bias``); the face is
   re-cropped from it and predicted again, until the framing moves less than
   ``TOLERANCE`` crop pixels, stops contracting, would leave the detector's
   uncertainty (``TRUST_MOVE``), or ``MAX_PASSES`` predictions were made.

``landmarks_in_photo(image, model)`` is the entry point for one photo; the
video tracker (``demo.tracking``) calls ``predict_framings`` and ``refine``
directly, starting from the previous frame's keypoints instead of a
detection. See 05_demo, "From a photo to keypoints".
"""
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import keypoints as kp
from ..data.crop import to_gray
from . import face_detectors, framing_bias
from . import framing as framing_rules
from .framing import crop_framing, to_crop, to_photo  # noqa: F401  (photo.to_crop ... for callers)

# Predictions per face in a photo (1 = the crop of the detector's five points).
# Chosen on validation people's photos (200 per source, cpu-profile v5): median
# NME 5.39 / 7.33 % (MTFL / YouTube-Faces) with 1, 5.94 / 7.60 with 2, 6.18 /
# 7.92 with 3 passes: MTCNN's points frame a face better than a model's own
# keypoints re-frame it. Versions not trained for detector framing (V1-V4) can
# still gain from passes (04_evaluate's real-pipeline table); predict-image --passes.
MAX_PASSES = 1
TOLERANCE = 0.5       # crop px: refinement stops once the framing moves less than this
MAX_ROLL = 45.0       # degrees: a framing's roll is clipped to this (faces are tested to 30)
# Refinement stays within this many crop px of the first framing. MTCNN's first
# framing on training people is off by at most ~2.5 % of the side in position,
# 9 % in size and 4.5 degrees in roll (2.5-97.5 %, evaluation.realworld.
# framing_errors): about 2.5, 9 and 4 crop px; 12 leaves a margin.
TRUST_MOVE = 12.0
MIN_FACE = 40         # px: smallest face (framing side) reported in a photo
MAX_FACES = 5         # faces per photo by default
HALF = kp.IMAGE_SIZE / 2

Framing = framing_rules.Framing


@dataclass
class PhotoFace:
    """One face found in a photo.

    Args:
        box: the detector's box (x, y, w, h) in photo pixels.
        score: the detector's confidence.
        framing: the final crop framing (``Framing``: centre, side, roll).
        keypoints: (30,) Kaggle vector in photo pixels.
        passes: predictions made for this face (1 = detector framing only).
        crop: the 96x96 uint8 crop the keypoints were predicted on (de-rotated).
    """

    box: np.ndarray
    score: float
    framing: Framing
    keypoints: np.ndarray
    passes: int
    crop: np.ndarray = None


# --- model -> predictor ---------------------------------------------------------------

def make_predictor(model, backend="tflite"):
    """A function uint8 crops (N, 96, 96) -> keypoints (N, 30) in crop pixels.

    Args:
        model: a keras landmark model.
        backend: "tflite" (converted in memory; fastest on a CPU), "function"
            (a ``tf.function`` with a fixed input signature) or "keras" (eager
            calls: simple but ~10x slower per face).
    """
    # TensorFlow: loaded with the model, not by the photo pipeline's geometry
    from ..data.pipeline import to_model_input
    from . import export

    export.check_landmark_model(model)
    if backend == "tflite":
        return export.TFLitePredictor(export.to_tflite(model))
    if backend == "function":
        import tensorflow as tf

        spec = tf.TensorSpec((None, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), tf.float32)
        graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        return lambda crops: graph(to_model_input(crops)).numpy()
    if backend == "keras":
        return lambda crops: np.asarray(model(to_model_input(crops), training=False))
    raise ValueError(f"unknown backend {backend!r}; choose tflite, function or keras")


def predictor_for_run(model_dir, calibrate=True):
    """Open a run folder (clear errors if it is not one) and its cached TFLite model.

    Args:
        model_dir: a run folder such as ``models/v4-cpu``.
        calibrate: attach the model's framing bias (``framing_bias.run_bias``:
            saved in the run folder, measured once per model on training
            people's photos) as ``predictor.framing_bias``: keypoint framing
            (``keypoint_framing``) then takes it out.
    """
    # Keras and TensorFlow: loaded with the model (see make_predictor)
    from ..training.runs import load_run
    from . import export

    run = load_run(model_dir)
    export.check_landmark_model(run.model, where=str(run.dir))
    tflite = export.cached_tflite(run)
    predictor = export.TFLitePredictor(tflite)
    if calibrate:
        predictor.framing_bias = framing_bias.run_bias(run.dir, predictor)
    return predictor


def as_predictor(model):
    """A predictor from a predictor (returned as is), a keras model or a run folder.

    Args:
        model: callable crops -> keypoints, a keras model, or a path to a run.
    """
    if isinstance(model, (str, Path)):
        return predictor_for_run(model)
    if hasattr(model, "input_shape") and hasattr(model, "predict"):
        return make_predictor(model)
    if callable(model):
        return model
    raise TypeError(f"expected a predictor, a keras model or a run folder, got {type(model).__name__}")


# --- framing <-> crop: inference.framing (crop_framing, to_crop, to_photo) -------------

def framing_from_keypoints(keypoints, max_roll=MAX_ROLL):
    """The training framing of a face from its keypoints (30,) in photo pixels.

    ``framing.true_framing`` (as ``data.crop.face_frame``, along the eye line)
    with the roll clipped to +-`max_roll`.
    """
    f = framing_rules.true_framing(keypoints)
    return Framing(f.cx, f.cy, f.side, float(np.clip(f.roll, -max_roll, max_roll)))


def keypoint_framing(keypoints, predictor=None):
    """The framing to crop next from a face's predicted keypoints (30,) in photo px.

    ``framing_from_keypoints``, with the predictor's framing bias taken out
    where it has one (``predictor.framing_bias``, see ``inference.framing_bias``):
    the model's keypoints are slightly off on average, and every crop made
    from them would add that offset again.
    """
    framing = framing_from_keypoints(keypoints)
    bias = getattr(predictor, "framing_bias", None)
    return bias.correct(framing) if bias is not None else framing


def framing_move(a, b):
    """How far framing `b` is from `a`, in crop pixels of `a` (the largest of
    the centre shift, the side change and the roll's arc at the crop's edge)."""
    s = kp.IMAGE_SIZE / a.side
    return max(math.hypot(b.cx - a.cx, b.cy - a.cy) * s, abs(b.side - a.side) * s,
               abs(math.radians(b.roll - a.roll)) * HALF)


# --- predict and refine -----------------------------------------------------------------------

def predict_framings(gray, framings, predictor):
    """(keypoints (K, 30) in photo px, crops (K, 96, 96)) for K framings of one photo."""
    if not framings:
        return np.zeros((0, 2 * kp.NUM_KEYPOINTS)), np.zeros((0, kp.IMAGE_SIZE, kp.IMAGE_SIZE),
                                                             np.uint8)
    crops = np.stack([crop_framing(gray, f) for f in framings])
    pred = np.asarray(predictor(crops), dtype=np.float64)
    points = np.stack([to_photo(kp.as_points(p), f).reshape(-1) for p, f in zip(pred, framings)])
    return points, crops


def refine(gray, framings, predictor, passes=MAX_PASSES, tolerance=TOLERANCE, trust=TRUST_MOVE):
    """Predict in `framings`, then re-crop from the keypoints until they settle.

    Args:
        gray: the photo (H, W) uint8.
        framings: the first framing of each face (from a detector or a track).
        predictor: crops -> keypoints in crop px.
        passes: at most this many predictions per face (>= 1).
        tolerance: a face is done when its next framing moves less than this
            (crop px, ``framing_move``), or moves no less than the step before
            (refinement that does not contract is stopped).
        trust: ... or would leave this radius (crop px) around its first
            framing: the detector's framing is rarely off by more (see
            TRUST_MOVE), so a model whose keypoints lead further is not followed.

    Returns:
        (keypoints (K, 30) photo px, final framings, passes used per face, crops).
    """
    if passes < 1:
        raise ValueError(f"passes must be at least 1, got {passes}")
    framings = list(framings)
    first = list(framings)
    points, crops = predict_framings(gray, framings, predictor)
    used = np.ones(len(framings), int)
    todo = list(range(len(framings)))
    last_move = np.full(len(framings), np.inf)
    for _ in range(passes - 1):
        nxt = {}
        for i in todo:
            try:
                new = keypoint_framing(points[i], predictor)
            except ValueError:
                continue
            if not np.isfinite([new.cx, new.cy, new.side, new.roll]).all():
                continue
            move = framing_move(framings[i], new)
            # settled, not contracting, or leaving the trust region (a weak model's
            # keypoints can lead away): keep what we have
            if tolerance <= move < last_move[i] and framing_move(first[i], new) <= trust:
                nxt[i], last_move[i] = new, move
        if not nxt:
            break
        todo = list(nxt)
        new_points, new_crops = predict_framings(gray, [nxt[i] for i in todo], predictor)
        for j, i in enumerate(todo):
            framings[i], points[i], crops[i] = nxt[i], new_points[j], new_crops[j]
            used[i] += 1
    return points, framings, used, crops


# --- the detector --------------------------------------------------------------------------------

_DETECTORS = {}


def default_detector(name="auto"):
    """The face detector `name` ("auto": the best installed), created once per process."""
    if name not in _DETECTORS:
        _DETECTORS[name] = face_detectors.get_detector(name)
    return _DETECTORS[name]


def first_framing(face, max_roll=MAX_ROLL):
    """The first crop framing of a detected face (``framing.face_framing``), roll clipped."""
    f = framing_rules.face_framing(face)
    return Framing(f.cx, f.cy, f.side, float(np.clip(f.roll, -max_roll, max_roll)))


def landmarks_in_photo(image, model, detector=None, max_faces=MAX_FACES, passes=MAX_PASSES,
                       tolerance=TOLERANCE, min_face=MIN_FACE):
    """Every face in a photo with its 15 keypoints in photo pixels, largest first.

    Args:
        image: (H, W) gray or (H, W, 3|4) BGR(A) uint8 array.
        model: a predictor (crops -> keypoints), a keras model or a run folder.
        detector: a face detector (``face_detectors``); default ``default_detector()``.
        max_faces: the largest faces kept.
        passes, tolerance: of ``refine``.
        min_face: faces whose first framing is smaller than this (px) are dropped.

    Returns:
        list of ``PhotoFace`` (box, score, framing, keypoints, passes, crop).
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 gray or BGR image, got {image.dtype} {image.shape}")
    predictor = as_predictor(model)
    detector = detector or default_detector()
    faces = [f for f in detector.detect(image)]
    firsts = [first_framing(f) for f in faces]
    keep = [i for i, fr in enumerate(firsts) if fr.side >= min_face][:max_faces]
    gray = to_gray(image)
    points, framings, used, crops = refine(gray, [firsts[i] for i in keep], predictor,
                                           passes=passes, tolerance=tolerance)
    return [PhotoFace(np.asarray(faces[i].box, np.float64), float(faces[i].score), fr, p, int(n), c)
            for i, fr, p, n, c in zip(keep, framings, points, used, crops)]
