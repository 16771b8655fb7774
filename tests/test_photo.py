"""The one photo pipeline (inference.photo): framing geometry, refinement, detector choice.

Refinement is checked with the small trained model of tests/test_video.py
(the same cache folder: trained once) on real test-people photos whose first
framing is deliberately off in position, size and roll, as a detector's is.
"""
import math

import cv2
import numpy as np
import pytest

from landmarklib import config, face_detectors, testvideo
from landmarklib import keypoints as kp
from landmarklib.core.metrics import nme_per_image
from landmarklib.inference import photo

# Perturbations of the true framing (fractions of its side; degrees) and what
# the small model reaches from them (measured: see the test).
SHIFTS = [(0.10, 0.0, 1.0, 0.0), (0.0, -0.10, 1.0, 0.0), (0.0, 0.0, 1.2, 0.0),
          (0.0, 0.0, 0.85, 0.0), (0.0, 0.0, 1.0, 20.0), (0.07, 0.07, 1.1, -15.0)]
REFINED_MOVE = 0.15      # final framing within this fraction of the side of the truth (model: ~0.03)
REFINED_ROLL = 6.0       # ... and within this many degrees of roll (model: ~2)
REFINED_NME = 12.0       # mean NME after refinement, % (model: ~9; one pass from these framings: ~14)


@pytest.fixture(scope="session")
def run(shared_data):
    from landmarklib import train

    return train.train("v4", "smoke", run_dir=config.BUILD / "test-models" / "video", verbose=0,
                       max_images=2000, epochs=3)


@pytest.fixture(scope="session")
def faces(shared_data):
    return testvideo.youtube_faces_photos(4, seed=3)


def _rotated(image, points, degrees):
    """The photo rotated about its face by `degrees` (counter-clockwise on screen), and its points."""
    centre = photo.framing_from_keypoints(points)
    m = cv2.getRotationMatrix2D((centre.cx, centre.cy), degrees, 1.0)
    out = cv2.warpAffine(image, m, image.shape[1::-1])
    return out, (kp.as_points(points) @ m[:, :2].T + m[:, 2]).reshape(-1)


# --- geometry (no model) -----------------------------------------------------------------------

def test_crop_and_photo_coordinates_invert_each_other():
    framing = photo.Framing(120.0, 80.0, 150.0, 23.0)
    points = np.random.default_rng(0).uniform(0, 200, (15, 2))
    assert np.allclose(photo.to_photo(photo.to_crop(points, framing), framing), points)


def test_a_rolled_face_is_cropped_level(faces):
    image, points = faces[0]
    for degrees in (-30, 25):
        rolled, rolled_points = _rotated(image, points, degrees)
        framing = photo.framing_from_keypoints(rolled_points)
        own = photo.framing_from_keypoints(points).roll           # the photo's own small roll
        assert framing.roll == pytest.approx(own - degrees, abs=1e-6)   # the eye line's angle
        in_crop = photo.to_crop(kp.as_points(rolled_points), framing)
        left, right = in_crop[kp.INDEX["left_eye_center"]], in_crop[kp.INDEX["right_eye_center"]]
        assert abs(left[1] - right[1]) < 1e-6 and left[0] > right[0]   # level, subject's left right
        upright = photo.to_crop(kp.as_points(points), photo.framing_from_keypoints(points))
        # the same crop positions as the upright face
        assert np.abs(in_crop - upright).max() < 1e-6
        gray = cv2.cvtColor(rolled, cv2.COLOR_BGR2GRAY)
        crops = [photo.crop_framing(gray, framing),
                 photo.crop_framing(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY),
                                    photo.framing_from_keypoints(points))]
        centre = (slice(20, 80), slice(15, 81))
        corr = np.corrcoef(*(c[centre].ravel().astype(float) for c in crops))[0, 1]
        assert corr > 0.9


# --- refinement with a trained model ---------------------------------------------------------------

def _perturbed(true, dx, dy, scale, roll):
    return photo.Framing(true.cx + dx * true.side, true.cy + dy * true.side, true.side * scale,
                         true.roll + roll)


@pytest.mark.slow
def test_refinement_converges_from_a_detector_like_framing(run, faces):
    predictor = photo.make_predictor(run.model)
    one, many, moves, rolls, used = [], [], [], [], []
    for image, points in faces:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        true = photo.framing_from_keypoints(points)
        for change in SHIFTS:
            start = _perturbed(true, *change)
            first, _ = photo.predict_framings(gray, [start], predictor)
            refined, framings, passes, _ = photo.refine(gray, [start], predictor, passes=6)
            one.append(nme_per_image(points[None], first)[0])
            many.append(nme_per_image(points[None], refined)[0])
            f = framings[0]
            moves.append(math.hypot(f.cx - true.cx, f.cy - true.cy) / true.side
                         + abs(f.side / true.side - 1))
            rolls.append(abs(f.roll - true.roll))
            used.append(passes[0])
    assert np.median(moves) < REFINED_MOVE and np.median(rolls) < REFINED_ROLL
    assert np.mean(many) < REFINED_NME
    assert np.mean(many) < np.mean(one)          # refining helps ...
    assert np.median(used) < 6                   # ... and stops by itself (0.5 px tolerance)


@pytest.mark.slow
def test_landmarks_in_photo_finds_and_refines(run, faces):
    image, points = faces[1]
    found = photo.landmarks_in_photo(image, run.dir, max_faces=3)
    assert len(found) == 1
    face = found[0]
    assert face.crop.shape == (96, 96) and 1 <= face.passes <= photo.MAX_PASSES
    assert nme_per_image(points[None], face.keypoints[None])[0] < REFINED_NME
    # a gray copy gives the same face
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert len(photo.landmarks_in_photo(gray, run.dir)) == 1
    assert photo.landmarks_in_photo(np.full((200, 200, 3), 128, np.uint8), run.dir) == []


# --- the detector choice -------------------------------------------------------------------------------

def _unavailable(name):
    class Missing:
        def __init__(self, **options):
            raise ImportError(f"no {name} here")
    return Missing


def test_auto_detector_falls_back_in_order(monkeypatch):
    monkeypatch.setitem(face_detectors.DETECTORS, "mtcnn", _unavailable("mtcnn"))
    monkeypatch.setitem(face_detectors.DETECTORS, "yunet", _unavailable("yunet"))
    if hasattr(cv2, "CascadeClassifier"):
        assert face_detectors.get_detector("auto").name == "haar"
    monkeypatch.setitem(face_detectors.DETECTORS, "haar", _unavailable("haar"))
    with pytest.raises(ImportError, match="pip install mtcnn") as err:
        face_detectors.get_detector("auto")
    assert all(f"no {n} here" in str(err.value) for n in ("mtcnn", "yunet", "haar"))


def test_haar_without_cascade_support_is_a_clear_error(monkeypatch):
    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)   # as in OpenCV 5
    with pytest.raises(ImportError, match="CascadeClassifier"):
        face_detectors.HaarDetector()


def test_unknown_detector_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown detector 'dlib'"):
        face_detectors.get_detector("dlib")


def test_default_detector_finds_a_real_face(faces):
    image, points = faces[2]
    found = face_detectors.get_detector("auto").detect(image)
    assert found
    true = photo.framing_from_keypoints(points)
    first = photo.first_framing(found[0])
    assert math.hypot(first.cx - true.cx, first.cy - true.cy) < 0.15 * true.side
    assert 0.8 < first.side / true.side < 1.25
