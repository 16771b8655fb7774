"""The earlier Haar-only face detector and box-to-crop mapping (superseded).

The demo, ``predict-image`` and the real-pipeline evaluation now use
``inference.photo`` (detector from ``face_detectors``: MTCNN's five points,
Haar only as a fallback; framing from ``inference.framing``), which also
runs on OpenCV 5. This module stays only while ``evaluation.inspector_data``
still calls it (its upload should call ``photo.landmarks_in_photo``); then
it can go.

Find faces in a frame, and turn a detector box into the training framing.

The detector is OpenCV's frontal-face Haar cascade, shipped inside
opencv-python(-headless) < 5, so it runs offline with no download. On 400
YouTube-Faces photos (``calibrate``) it missed 1.5 % of the faces; the
``alt`` and ``alt2`` cascades missed 4 % and 3 % at about the same speed.
Detection cost grows with the searched area, so a tracked face is searched
for only around its last box (``detect_near``).

A Haar box is not our crop: the model was trained on squares framed from the
landmarks (``datasets.crop.face_frame``: eye and mouth distances set the
size, the eyes-mouth midpoint sets the position). ``box_to_frame`` maps a
detector box (x, y, w, h) to that square (x0, y0, side) with three constants
fitted on real faces whose landmarks, hence true framing, are known:

    x0 = x + BOX_TO_FRAME["dx"] * w,   y0 = y + BOX_TO_FRAME["dy"] * w,
    side = BOX_TO_FRAME["scale"] * w

``calibrate()`` recomputes them (medians over the photos; see the constants'
comment for the spread). See 05_demo, "From a detector box to our crop".
"""
from pathlib import Path

import cv2
import numpy as np

from ..core import keypoints as kp
from ..data.crop import face_frame, to_gray

CASCADE = "haarcascade_frontalface_default.xml"
SCALE_FACTOR = 1.1     # cascade pyramid step
MIN_NEIGHBORS = 5      # overlapping hits needed to accept a face
MIN_FACE = 24          # px at detection scale: the cascade's own window size
DETECT_WIDTH = 320     # full-frame search runs on the frame shrunk to this width
ROI_MARGIN = 0.35      # search around a tracked face: its box grown by this on each side
ROI_FACE = 56          # ... shrunk so that the tracked face is about this many px wide
ROI_SIZE_RANGE = (0.8, 1.25)  # ... accepting faces this much smaller / larger

# Fitted by calibrate(count=400, seed=0) on YouTube-Faces training photos
# (the detector box nearest to the true frame's centre; medians; 6 of the 400
# faces not found). Spread of the fit (inter-quartile range, in box widths):
# dx 0.081, dy 0.063, scale 0.133: a single box frames the face to within
# about +-4 % of its width in position and +-7 % in size.
BOX_TO_FRAME = {"dx": -0.019, "dy": -0.018, "scale": 1.053}


class FaceDetector:
    """Haar-cascade face detector on frames of any size.

    Args:
        cascade: file name in ``cv2.data.haarcascades`` or a path to a cascade XML.
        detect_width: frames wider than this are shrunk before a full search.
    """

    def __init__(self, cascade=CASCADE, detect_width=DETECT_WIDTH):
        path = Path(cascade)
        if not path.exists():
            path = Path(cv2.data.haarcascades) / cascade
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise FileNotFoundError(f"{path}: no readable Haar cascade here")
        self.detect_width = detect_width

    def detect(self, image, max_faces=None):
        """Boxes (K, 4) float [x, y, w, h] in frame pixels, largest face first."""
        gray = to_gray(image)
        scale = min(1.0, self.detect_width / gray.shape[1])
        small = gray if scale == 1.0 else cv2.resize(
            gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes = self._run(small, MIN_FACE, None) / scale
        return boxes[:max_faces] if max_faces else boxes

    def detect_near(self, image, box):
        """Search only around a tracked `box`; the best box there, or None.

        Much cheaper than ``detect``: the region is shrunk so that the face
        is about ROI_FACE px wide, and only faces of about that size count.
        """
        gray = to_gray(image)
        x, y, w, h = box
        x0, y0 = int(max(x - ROI_MARGIN * w, 0)), int(max(y - ROI_MARGIN * h, 0))
        x1 = int(min(x + (1 + ROI_MARGIN) * w, gray.shape[1]))
        y1 = int(min(y + (1 + ROI_MARGIN) * h, gray.shape[0]))
        if x1 - x0 < MIN_FACE or y1 - y0 < MIN_FACE:
            return None
        scale = min(1.0, ROI_FACE / w)
        roi = cv2.resize(gray[y0:y1, x0:x1], None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA)
        low, high = (int(r * w * scale) for r in ROI_SIZE_RANGE)
        found = self._run(roi, max(low, MIN_FACE), max(high, MIN_FACE + 1))
        if len(found) == 0:
            return None
        found = found / scale + np.array([x0, y0, 0, 0])
        centre = np.array([x + w / 2, y + h / 2])
        dist = np.linalg.norm(found[:, :2] + found[:, 2:] / 2 - centre, axis=1)
        return found[np.argmin(dist)]

    def _run(self, gray, min_size, max_size):
        found = self.cascade.detectMultiScale(
            gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS,
            minSize=(min_size, min_size),
            maxSize=(max_size, max_size) if max_size else (0, 0))
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4)
        return boxes[np.argsort(-boxes[:, 2], kind="stable")]


def box_to_frame(box, constants=None):
    """Detector box (x, y, w, h) -> training frame (x0, y0, side); see the module doc."""
    c = constants or BOX_TO_FRAME
    x, y, w, _ = box
    return x + c["dx"] * w, y + c["dy"] * w, c["scale"] * w


def calibrate(root=None, count=400, seed=0, detector=None):
    """Refit BOX_TO_FRAME on `count` YouTube-Faces training photos.

    For each photo: the true frame from its 68 landmarks (``face_frame``) and
    the detector box nearest to that frame's centre. Returns a dict with the
    fitted dx, dy, scale (medians), their inter-quartile ranges, how many
    photos had no detection, and the mean detection time.
    """
    import time

    import pandas as pd

    from ..data.sources import find_root

    root = find_root("youtube-faces", root)
    table = pd.read_csv(root / "training_frames_keypoints.csv")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(table), min(count, len(table)), replace=False)
    detector = detector or FaceDetector()
    fits, missed, seconds = [], 0, 0.0
    for i in rows:
        gray = cv2.imread(str(root / "training" / table.iloc[i, 0]), cv2.IMREAD_GRAYSCALE)
        points = table.iloc[i, 1:].to_numpy(np.float64).reshape(68, 2)
        x0, y0, side = face_frame(kp.from_ibug68(points))
        start = time.perf_counter()
        boxes = detector.detect(gray)
        seconds += time.perf_counter() - start
        if len(boxes) == 0:
            missed += 1
            continue
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        x, y, w, _ = boxes[np.argmin(np.linalg.norm(centres - (x0 + side / 2, y0 + side / 2),
                                                    axis=1))]
        fits.append(((x0 - x) / w, (y0 - y) / w, side / w))
    fits = np.array(fits)
    median = np.median(fits, axis=0)
    iqr = np.subtract(*np.percentile(fits, [75, 25], axis=0))
    return {"dx": round(float(median[0]), 3), "dy": round(float(median[1]), 3),
            "scale": round(float(median[2]), 3),
            "iqr": {k: round(float(v), 3) for k, v in zip(("dx", "dy", "scale"), iqr)},
            "photos": len(rows), "missed": missed,
            "detect_ms": round(1000 * seconds / len(rows), 2)}
