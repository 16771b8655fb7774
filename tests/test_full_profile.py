"""The ``full`` profile (what a Colab GPU user runs) takes real steps with every network.

One version per network (``NETWORKS``) trains through ``train.train(version, "full")``, the code path of
the CLI and the notebooks, with every field of the full profile (batch 256,
100 epochs of cosine schedule with warm-up, validation split 0.2, ...) but
two things that keep it to a few steps on a CPU: ``max_images`` caps the
training split to two or three batches of 256, and ``stop_after_epochs=1``
(the resumable stop the tests of interrupted runs use) ends the run after its
first epoch, leaving the checkpoint that a second call would resume from.
"""
import json
import math
import re

import keras
import pytest

from landmarklib import config, models, train

pytestmark = pytest.mark.slow

BATCH = config.FULL.batch_size  # 256
# Training images per version: two batches and a half, so an epoch is 2 steps.
# V1 keeps only rows with all 15 keypoints (about a fifth of faces15's), so it
# needs five times as many to fill its two batches of 256.
MAX_IMAGES = {version: 640 for version in models.REGISTRY}
MAX_IMAGES["v1"] = 3200
LINE = re.compile(r"(\d+) training images, (\d+) epochs of (\d+) steps x (\d+)")
# One version per network and row selection: V2-V5 share V2's network and rows and differ
# only in their recipe, which the heatmap model's run (V4's recipe) and the smoke tests
# cover; each network still takes its steps of 256 here.
NETWORKS = {}
for _name, _v in models.REGISTRY.items():
    NETWORKS.setdefault((_v.builder, _v.complete_rows_only), _name)
NETWORKS = list(NETWORKS.values())


def test_one_version_per_network_takes_the_full_profile():
    assert NETWORKS[:2] == ["v1", "v2"] and "v3" not in NETWORKS
    assert {models.REGISTRY[v].builder for v in NETWORKS} == {
        v.builder for v in models.REGISTRY.values()}


@pytest.mark.parametrize("version", NETWORKS)
def test_full_profile_takes_steps_of_256(version, tmp_path, capsys):
    run_dir = tmp_path / f"{version}-full"
    result = train.train(version, "full", run_dir=run_dir, stop_after_epochs=1,
                         max_images=MAX_IMAGES[version])
    assert result is None  # stopped after one epoch of the 100, resumable
    match = LINE.search(capsys.readouterr().out)
    assert match, "train() no longer prints its plan line"
    images, epochs, steps, batch = map(int, match.groups())
    full_epochs = config.FULL.v1_epochs if version == "v1" else config.FULL.epochs
    assert (epochs, batch) == (full_epochs, BATCH)
    assert images >= 2 * BATCH and steps == images // BATCH and 2 <= steps <= 3

    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    (row,) = state["history"]
    for name in ("loss", "val_loss"):
        assert math.isfinite(row[name]), (name, row)
    model = keras.models.load_model(run_dir / "checkpoint" / "checkpoint.keras",
                                    custom_objects=models.CUSTOM_OBJECTS, compile=True)
    assert int(model.optimizer.iterations.numpy()) == steps  # the steps really ran
