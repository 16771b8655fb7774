"""Every tunable number of the project, in one place.

A *profile* says how much data and compute a run gets:

* ``smoke``: a few hundred images, 1-2 epochs; what the tests and CI run.
* ``cpu``:   the whole default dataset with an epoch budget chosen for the best
  accuracy per CPU minute; the default of ``make report`` without a GPU.
* ``full``:  the original student project's settings (100 epochs, batch 256,
  validation split 0.2); for a GPU (Colab).

Paths are derived from the repository root, overridable by environment
variables so that Colab or a user can keep data elsewhere.
"""
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

# --- paths -----------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]  # landmarklib/core/config.py -> the checkout
DATA = Path(os.environ.get("LANDMARKLIB_DATA", ROOT / "data"))
MODELS = Path(os.environ.get("LANDMARKLIB_MODELS", ROOT / "models"))
BUILD = ROOT / "build"
FIGURES = ROOT / "report" / "figures"
GENERATED = ROOT / "report" / "generated"
# Read-only copies of the public datasets beside the checkout (see data/README.md).
SHARED_DATA = Path(os.environ.get("LANDMARKLIB_SHARED_DATA", ROOT.parent / "shared" / "data"))

SEED = 0
# Where the transfer model's backbone gets its ImageNet weights: "imagenet"
# (Keras downloads them, or finds them in ~/.keras/models/), a path to a local
# MobileNetV3-Small (minimalistic, no top) weights file, or "none" (random).
TRANSFER_WEIGHTS = os.environ.get("LANDMARKLIB_TRANSFER_WEIGHTS", "imagenet")


@dataclass(frozen=True)
class Profile:
    """How much data and compute one training run gets."""

    name: str = "full"
    dataset: str = "faces15"      # key of landmarklib.datasets.DATASETS
    max_images: int | None = None  # cap on training images (None = all)
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"    # "cosine" (warm-up + cosine decay) or "constant"
    warmup_epochs: int = 2
    weight_decay: float = 1e-4
    loss: str = "mse"              # masked loss: "mse" or "smooth_l1"
    v1_epochs: int = 20            # the original V1 trained 20 epochs on complete rows
    validation_split: float = 0.2  # fraction of training *people* held out
    pck_threshold: float = 2.0     # pixels; "masked accuracy" of the original project
    seed: int = SEED

    def to_dict(self):
        return asdict(self)


FULL = Profile()
# cpu: on 2 cores V2 reached 1.13 px validation RMSE after 10 epochs and 1.10
# after 20, but one epoch of 10,000 faces takes 57-63 s on a quiet machine of
# this project (175 images/s), so 20 epochs would take V4 past 20 minutes and
# `make report` past 90. 12 epochs keep V4 near 13 minutes.
CPU = replace(FULL, name="cpu", epochs=12, v1_epochs=12, batch_size=64, learning_rate=2e-3,
              warmup_epochs=1)
# smoke: one epoch of warm-up matters even here: without it the first steps
# knock every version off its mean-face start (see models._keypoint_head), and
# V1 (1,500 faces, 15 epochs) ended at 3.33 px against the mean shape's 3.29;
# with it, 3.08.
SMOKE = replace(
    FULL, name="smoke", max_images=384, epochs=2, v1_epochs=2, batch_size=32,
    warmup_epochs=1, learning_rate=1e-3,
)
PROFILES = {p.name: p for p in (SMOKE, CPU, FULL)}


def get_profile(name, **overrides):
    """Return the named profile, optionally with some fields replaced."""
    if isinstance(name, Profile):
        return replace(name, **overrides)
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    unknown = set(overrides) - set(Profile.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown profile fields {sorted(unknown)}")
    return replace(PROFILES[name], **overrides)


def default_profile():
    """``full`` where a GPU is visible, ``cpu`` otherwise (what ``make report`` uses)."""
    import tensorflow as tf

    return "full" if tf.config.list_physical_devices("GPU") else "cpu"
