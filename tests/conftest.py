"""Shared pytest fixtures: the read-only real data, the pipeline tests' small trained
model, and a tiny synthetic FaceSet."""
import numpy as np
import pandas as pd
import pytest

from landmarklib import config
from landmarklib import keypoints as kp
from landmarklib.data import FaceSet

TINY_SIZE = 6  # rows of the synthetic FaceSet


@pytest.fixture(scope="session")
def shared_data():
    """Path of the read-only public data (config.SHARED_DATA); skips without it."""
    if not config.SHARED_DATA.is_dir():
        pytest.skip(f"no shared face data at {config.SHARED_DATA} "
                    "(set LANDMARKLIB_SHARED_DATA to a folder with youtube-faces/ and mtfl/)")
    return config.SHARED_DATA


# The small trained model of the pipeline tests (photo, video, export, framing bias): the
# detector-robust V5, 3 epochs on 2000 images, trained once and cached in
# build/test-models/small across test sessions (about a minute on 2 cores the first time).
SMALL_VERSION = "v5"
SMALL_TRAINING = {"max_images": 2000, "epochs": 3}


@pytest.fixture(scope="session")
def small_run(shared_data):
    """The pipeline tests' small model (``SMALL_VERSION``), a ``runs.Run``."""
    from landmarklib import train

    return train.train(SMALL_VERSION, "smoke", run_dir=config.BUILD / "test-models" / "small",
                       verbose=0, **SMALL_TRAINING)


@pytest.fixture
def tiny_faces():
    """A FaceSet of 6 random faces: rows 0-2 complete, 3-4 partial, 5 unlabelled."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (TINY_SIZE, kp.IMAGE_SIZE, kp.IMAGE_SIZE), dtype=np.uint8)
    keypoints = rng.uniform(0, kp.IMAGE_SIZE - 1, (TINY_SIZE, 2 * kp.NUM_KEYPOINTS))
    keypoints = keypoints.astype(np.float32)
    points = kp.as_points(keypoints)
    points[3:5, 2:] = np.nan  # only the eye centres labelled
    points[5] = np.nan
    meta = pd.DataFrame({
        "source": ["youtube-faces"] * 3 + ["mtfl"] * 3,
        "split": ["train", "train", "test", "train", "val", "test_mtfl"],
        "person": [f"person_{i}" for i in range(TINY_SIZE)],
    })
    return FaceSet(images, keypoints, meta)
