"""Scoring off-the-shelf detectors next to our models (no dlib or MediaPipe needed)."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from landmarklib import keypoints as kp
from landmarklib import latex, metrics, offtheshelf
from landmarklib.data.pipeline import to_model_input


def test_mediapipe_mapping_averages_the_eye_contour_and_picks_single_points():
    mesh = np.zeros((468, 2))
    mesh[list(kp.MEDIAPIPE468_TO_KAGGLE["left_eye_center"])] = [[60.0, 40.0]] * 16
    mesh[list(kp.MEDIAPIPE468_TO_KAGGLE["left_eye_center"])[:8], 0] = 58.0  # half the contour
    mesh[61] = [30.0, 75.0]  # image-left mouth corner = the subject's right
    out = kp.as_points(kp.from_mediapipe468(mesh))
    assert out[kp.INDEX["left_eye_center"]] == pytest.approx([59.0, 40.0])
    assert out[kp.INDEX["mouth_right_corner"]] == pytest.approx([30.0, 75.0])
    with pytest.raises(ValueError, match="468, 2"):
        kp.from_mediapipe468(np.zeros((68, 2)))


class Shifted:
    """A 'model' predicting the true keypoints of the faces it is given, shifted."""

    def __init__(self, faces, shift):
        self.inputs = to_model_input(faces.images).reshape(len(faces.images), -1)
        self.truth, self.shift = faces.keypoints, shift

    def __call__(self, x, training=False):
        rows = [np.abs(self.inputs - face).sum(axis=1).argmin()
                for face in np.asarray(x).reshape(len(x), -1)]
        return self.truth[rows] + self.shift


def _save(folder, split, rows, files=None, **detectors):
    arrays = {"rows": np.asarray(rows)} if files is None else {"rows": np.asarray(rows),
                                                               "files": files}
    for name, pred in detectors.items():
        arrays[name], arrays[name + " ms"] = pred, np.array(5.0)
    np.savez(offtheshelf.predictions_path(split, folder), **arrays)


def test_comparison_scores_every_method_on_the_faces_all_detectors_found(tiny_faces, tmp_path):
    truth = np.clip(np.nan_to_num(tiny_faces.keypoints, nan=40.0), 5, 90)  # no clipping at 0/96
    faces = SimpleNamespace(images=tiny_faces.images, keypoints=truth)
    rows = np.array([0, 1, 2])
    good = truth[rows] + 1.0
    missed = good.copy()
    missed[1] = np.nan  # the second detector misses face 1
    _save(tmp_path, "test", rows, a=good, b=missed)
    _save(tmp_path, "test_mtfl", [3, 4], a=truth[[3, 4]], b=truth[[3, 4]])

    model = Shifted(faces, 2.0)
    table = offtheshelf.comparison({"v9": SimpleNamespace(model=model)},
                                   folder=tmp_path, faces=faces)
    test = table[table["split"] == "test"].set_index("method")
    assert list(test.index) == ["a", "b", "v9"]
    assert (test["faces"] == 2).all()                     # face 1 dropped for everyone
    assert test.loc["b", "missed"] == 1 and test.loc["a", "missed"] == 0
    assert test.loc["a", "rmse"] == pytest.approx(1.0)
    assert test.loc["v9", "rmse"] == pytest.approx(2.0)
    expected_nme = metrics.nme(truth[[0, 2]], truth[[0, 2]] + 2.0)
    assert test.loc["v9", "nme"] == pytest.approx(expected_nme)
    tex = latex.detectors_table(table)
    assert "YTF RMSE (px)" in tex and "v9" in tex


def test_comparison_without_predictions_says_how_to_make_them(tmp_path):
    assert offtheshelf.comparison({}, folder=tmp_path) is None
    assert "make detectors-venv" in latex.detectors_table(None)


def test_predictions_of_other_faces_are_not_scored(tiny_faces, tmp_path, capsys):
    """Saved detector predictions name the file of each row; a new conversion
    (other rows) makes them stale instead of silently scoring the wrong faces."""
    meta = pd.DataFrame({"file": [f"face{i}.jpg" for i in range(len(tiny_faces.keypoints))]})
    faces = SimpleNamespace(images=tiny_faces.images, keypoints=tiny_faces.keypoints, meta=meta)
    for split, rows in (("test", [0, 1]), ("test_mtfl", [2])):
        _save(tmp_path, split, rows, a=faces.keypoints[rows])
    assert not offtheshelf.predictions_current(faces, tmp_path)          # no file names saved
    for split, rows in (("test", [0, 1]), ("test_mtfl", [2])):
        _save(tmp_path, split, rows, files=np.array([f"face{i}.jpg" for i in rows]),
              a=faces.keypoints[rows])
    assert offtheshelf.predictions_current(faces, tmp_path)
    assert offtheshelf.comparison({}, folder=tmp_path, faces=faces) is not None
    meta.loc[1, "file"] = "someone_else.jpg"                              # rows now hold others
    assert offtheshelf.comparison({}, folder=tmp_path, faces=faces) is None
    assert "rerun benchmarks/compare_detectors.py" in capsys.readouterr().out


def test_detector_csvs_of_the_test_videos_are_scored_only_for_their_own_truth(tmp_path):
    import cv2

    from landmarklib.core.files import write_json
    from landmarklib.evaluation.realworld import truth_path

    video = tmp_path / "medium_0.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    truth = np.full((4, 1, 30), np.nan)
    truth[:3, 0] = np.tile([20.0, 20.0, 40.0, 20.0], 8)[:30]
    np.save(truth_path(video), truth)

    class Fake:   # "finds" a face on the brighter frames only
        name = offtheshelf.MediaPipeDetector.name

        def __call__(self, gray, near=None):
            return truth[0, 0] + 1.0 if gray.mean() > 30 else None

    table, ms = offtheshelf.predict_video(Fake(), video)
    assert list(table["frame"]) == [1, 2, 3] and ms >= 0       # frame 0 is dark: no face
    path = offtheshelf.detector_csv(video, Fake.name)
    table.to_csv(path, index=False)
    write_json({"truth": "another video"}, path.with_suffix(".json"))
    assert offtheshelf.video_tables([(video, truth)]) == {}      # made for other frames
    write_json({"truth": offtheshelf.truth_digest(truth_path(video))}, path.with_suffix(".json"))
    found = offtheshelf.video_tables([(video, truth)])
    assert list(found) == [Fake.name] and len(found[Fake.name][0][0]) == 3
