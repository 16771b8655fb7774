"""A model's framing bias (inference.framing_bias): measured, cached, taken out."""
import math

import cv2
import numpy as np
import pytest

from landmarklib import testvideo
from landmarklib.core import keypoints as kp
from landmarklib.inference import framing_bias, photo

SHIFT_PX = 2.0     # the biased model's keypoints: 2 crop px along the eye line ...
SCALE = 1.05       # ... and 5 % too spread out


@pytest.fixture(scope="module")
def faces(shared_data):
    return testvideo.youtube_faces_photos(3, seed=3)


class BiasedModel:
    """Reads every face as the same face, 2 crop px right and 5 % larger than where it is.

    Its keypoints (crop px) are those of a real face cropped at its own true
    framing, moved: so the framing of its keypoints is off by a known bias from
    the framing it was cropped at, whatever the crop shows.
    """

    def __init__(self, points):
        true = photo.framing_from_keypoints(points)
        base = photo.to_crop(kp.as_points(points), true)
        centre = photo.to_crop(np.array([true.cx, true.cy]), true)
        self.keypoints = ((base - centre) * SCALE + centre + (SHIFT_PX, 0.0)).reshape(-1)
        self.calls = 0

    def __call__(self, crops):
        self.calls += 1
        return np.tile(self.keypoints, (len(crops), 1))


def _photos(faces, tmp_path):
    """[(source, path, keypoints)] of the faces, written as image files."""
    out = []
    for i, (image, points) in enumerate(faces):
        path = tmp_path / f"face{i}.png"
        cv2.imwrite(str(path), image)
        out.append(("youtube-faces", path, points))
    return out


def test_bias_is_measured_and_taken_out(faces, tmp_path):
    image, points = faces[0]
    model = BiasedModel(points)
    # the model's keypoints are in crop px, so its bias in fractions of the side is
    # exact for faces of its own size: the same face, twice
    bias = framing_bias.measure_bias(model, _photos(faces[:1] * 2, tmp_path))
    assert bias.photos == 2
    assert bias.dx == pytest.approx(SHIFT_PX / kp.IMAGE_SIZE, abs=1e-6)
    assert bias.dy == pytest.approx(0.0, abs=1e-6)
    assert bias.scale == pytest.approx(SCALE, abs=1e-6)
    assert bias.roll == pytest.approx(0.0, abs=1e-6)
    # another framing of it (moved, rolled 20 degrees): the corrected keypoint framing is the crop's
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    true = photo.framing_from_keypoints(points)
    rolled = photo.Framing(true.cx + 5.0, true.cy - 3.0, true.side, true.roll + 20.0)
    predicted, _ = photo.predict_framings(gray, [rolled], model)
    raw = photo.keypoint_framing(predicted[0], model)            # no bias attached yet
    assert photo.framing_move(rolled, raw) > 0.9 * SHIFT_PX
    model.framing_bias = bias
    fixed = photo.keypoint_framing(predicted[0], model)
    assert photo.framing_move(rolled, fixed) < 1e-4


def test_refinement_and_tracking_do_not_walk_with_the_bias(faces):
    """Re-cropping from biased keypoints walks off by the bias each pass; with the
    bias taken out the framing stays where the face is."""
    image, points = faces[0]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    true = photo.framing_from_keypoints(points)
    model = BiasedModel(points)
    _, walked, passes, _ = photo.refine(gray, [true], model, passes=4, trust=math.inf,
                                        tolerance=0.1)
    assert passes[0] > 1 and photo.framing_move(true, walked[0]) > SHIFT_PX
    model.framing_bias = framing_bias.FramingBias(SHIFT_PX / kp.IMAGE_SIZE, 0.0, SCALE, 0.0, 1)
    _, kept, passes, _ = photo.refine(gray, [true], model, passes=4, trust=math.inf,
                                      tolerance=0.1)
    assert passes[0] == 1 and photo.framing_move(true, kept[0]) < 1e-6


def test_bias_is_cached_per_model(faces, tmp_path, monkeypatch):
    model = BiasedModel(faces[0][1])
    photos = _photos(faces, tmp_path)
    monkeypatch.setattr(framing_bias, "measure_bias",
                        lambda p, real=framing_bias.measure_bias: real(p, photos))
    first = framing_bias.cached_bias("abc", model, tmp_path)
    again = framing_bias.cached_bias("abc", model, tmp_path)
    assert first == again and first.photos == len(faces) and model.calls == 1
    assert (tmp_path / f"abc.bias-{framing_bias.CALIBRATION_FORMAT}.json").exists()


def test_without_training_photos_no_correction_and_one_line(tmp_path, monkeypatch, capsys):
    def missing(predictor):
        raise FileNotFoundError("data/youtube-faces: no such folder")

    monkeypatch.setattr(framing_bias, "measure_bias", missing)
    assert framing_bias.cached_bias("abc", lambda crops: crops, tmp_path) is framing_bias.NO_BIAS
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "data/youtube-faces: no such folder" in out
    assert not list(tmp_path.iterdir())                 # nothing cached: measured next time


@pytest.mark.slow
def test_a_run_predictor_carries_its_bias(small_run):
    run = small_run   # the pipeline tests' small model (conftest)
    predictor = photo.predictor_for_run(run.dir)
    bias = predictor.framing_bias
    assert bias.photos > 0.9 * framing_bias.CALIBRATION_PHOTOS
    assert bias == framing_bias.measure_bias(predictor)       # the training people's photos
    assert "framing_bias" not in vars(photo.predictor_for_run(run.dir, calibrate=False))
