"""Detector-framed test crops (landmarklib.reframe) on real YouTube-Faces photos."""
import numpy as np

import landmarklib as lm
from landmarklib import reframe


def test_detector_crops_are_near_the_landmark_framing(shared_data):
    test = lm.datasets.load_splits("faces15")["test"]
    some = test[np.arange(0, len(test), max(len(test) // 40, 1))]
    faces, missed = reframe.detector_framed(some)
    assert missed <= 0.1 * len(some)
    assert len(faces) + missed == len(some)
    assert (faces.meta["framing"] == "detector").all()
    # the same faces, the same keypoints, only the box differs: a few pixels, not a different face
    by_file = dict(zip(some.meta["file"], some.keypoints))
    truth = np.stack([by_file[f] for f in faces.meta["file"]])
    shift = np.nanmedian(np.abs(faces.keypoints - truth))
    assert 0.1 < shift < 8.0
    eyes = lm.keypoints.as_points(faces.keypoints)[:, :2]
    assert (eyes[:, 0, 0] > eyes[:, 1, 0]).mean() > 0.9  # subject's left eye on the image right


def test_only_youtube_faces_rows_are_reframed(shared_data):
    splits = lm.datasets.load_splits("faces15", max_images=64)
    faces, missed = reframe.detector_framed(splits["test_mtfl"])
    assert len(faces) == 0 and missed == 0
