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
import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .errors import LandmarkError

# --- paths -----------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]  # landmarklib/core/config.py -> the checkout
# LANDMARKLIB_HOME: one folder for everything runs write (models/, build/ and the
# report's figures/ and generated/), e.g. a Google Drive folder on Colab so that
# runs survive between notebooks and machines. Unset: the checkout itself.
HOME_ENV = "LANDMARKLIB_HOME"
HOME = Path(os.environ[HOME_ENV]).expanduser() if os.environ.get(HOME_ENV) else ROOT
DATA = Path(os.environ.get("LANDMARKLIB_DATA", ROOT / "data"))
MODELS = Path(os.environ.get("LANDMARKLIB_MODELS", HOME / "models"))
BUILD = HOME / "build"
FIGURES = HOME / "report" / "figures"
GENERATED = HOME / "report" / "generated"
DEFAULT_DATASET = "faces15"  # run folders of this dataset keep their short name
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
    loss: str = "mse"              # masked loss (LOSSES); a version may name its own
    v1_epochs: int = 20            # the original V1 trained 20 epochs on complete rows
    validation_split: float = 0.2  # fraction of training identities held out as val
    pck_threshold: float = 2.0     # pixels; "masked accuracy" of the original project
    seed: int = SEED

    def __post_init__(self):
        for name, (check, expected) in _FIELD_CHECKS.items():
            value = getattr(self, name)
            if not check(value):
                raise LandmarkError(f"profile {self.name!r}, field {name}: expected "
                                    f"{expected}, got {value!r}")

    def to_dict(self):
        return asdict(self)


def _is_int(value, lo=None):
    return (isinstance(value, int) and not isinstance(value, bool)
            and (lo is None or value >= lo))


def _is_number(value, lo=None, hi=None, strict_lo=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not math.isfinite(value):  # nan passes every test below
        return False
    if lo is not None and (value <= lo if strict_lo else value < lo):
        return False
    return hi is None or value < hi


# The masked losses' names (core.metrics.LOSSES holds them; named here to check a
# profile without loading Keras).
LOSSES = ("mse", "smooth_l1", "wing")
# Profile field -> (test, what it expects); the type of every field is checked too.
_FIELD_CHECKS = {
    "max_images": (lambda v: v is None or _is_int(v, 1), "None or an integer >= 1"),
    "epochs": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "v1_epochs": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "batch_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "warmup_epochs": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "seed": (lambda v: _is_int(v), "an integer"),
    "learning_rate": (lambda v: _is_number(v, 0, strict_lo=True), "a finite number > 0"),
    "weight_decay": (lambda v: _is_number(v, 0), "a finite number >= 0"),
    "validation_split": (lambda v: _is_number(v, 0, 1), "a fraction in [0, 1)"),
    "pck_threshold": (lambda v: _is_number(v, 0, strict_lo=True), "a finite number > 0 (pixels)"),
    "lr_schedule": (lambda v: v in ("cosine", "constant"), "'cosine' or 'constant'"),
    "loss": (lambda v: v in LOSSES, " or ".join(repr(n) for n in LOSSES)),
    "name": (lambda v: isinstance(v, str) and v != "", "a name"),
    "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset name"),
}


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


AUTO = "auto"   # the profile name that means "full with a GPU, cpu without"


def check_profile(name, option=None):
    """`name` itself if it is "auto" (or None) or a key of PROFILES; else one clear error.

    The one place a profile name is checked (the CLI, notebooks, the report and
    the run store all come here). Needs no TensorFlow.

    Args:
        name: what the user gave, e.g. "cpu", "auto".
        option: how it was given (e.g. "--profile"), named in the error.

    Raises:
        LandmarkError: "unknown profile 'gpu'; choose auto or one of [...]".
    """
    if name is None or name == AUTO or (isinstance(name, str) and name in PROFILES):
        return name
    where = f"{option} {name}: unknown profile" if option else f"unknown profile {name!r}"
    raise LandmarkError(f"{where}; choose {AUTO} or one of {sorted(PROFILES)}")


def resolve_profile(profile=AUTO, option=None):
    """The name of the profile a run uses: "auto" (or None) -> ``default_profile()``
    (imports TensorFlow to look for a GPU); any other name is checked and kept.

    Args:
        profile: "auto", None, a key of PROFILES or a Profile (its name).
        option: how it was given (e.g. "--profile"), named in the error.
    """
    if isinstance(profile, Profile):
        return profile.name
    if check_profile(profile, option) in (None, AUTO):
        return default_profile()
    return profile


def get_profile(name, /, **overrides):
    """Return the named profile, optionally with some fields replaced.

    Args:
        name: a key of PROFILES, "auto" (see ``resolve_profile``) or a Profile.
        **overrides: fields to replace (checked like every Profile).
    """
    unknown = set(overrides) - set(Profile.__dataclass_fields__)
    if unknown:
        raise LandmarkError(f"unknown profile fields {sorted(unknown)}; "
                            f"fields: {sorted(Profile.__dataclass_fields__)}")
    if isinstance(name, Profile):
        return replace(name, **overrides)
    return replace(PROFILES[resolve_profile(name)], **overrides)


# Profile fields that --set cannot change, and why.
NOT_SETTABLE = {"name": "the profile itself; choose it with --profile (smoke, cpu, full)"}


def parse_overrides(pairs):
    """Typed profile fields from ``--set FIELD=VALUE`` strings.

    Args:
        pairs: a list of "FIELD=VALUE" strings, or a dict FIELD -> VALUE text.

    Returns:
        dict FIELD -> value of the field's type (int, float, str or None).
    """
    if isinstance(pairs, dict):
        pairs = [f"{k}={v}" for k, v in pairs.items()]
    kinds = {f.name: str(f.type) for f in fields(Profile) if f.name not in NOT_SETTABLE}
    out = {}
    for pair in pairs or []:
        field, sep, text = str(pair).partition("=")
        field = field.strip()
        if field in NOT_SETTABLE:
            raise LandmarkError(f"--set {pair}: {field} is {NOT_SETTABLE[field]}")
        if field not in kinds:
            raise LandmarkError(f"--set {pair}: unknown profile field {field!r}; "
                                f"fields: {', '.join(sorted(kinds))}")
        if not sep or not text.strip():
            raise LandmarkError(f"--set {pair}: expected FIELD=VALUE, e.g. --set {field}="
                                f"{getattr(FULL, field)!r}".replace("'", ""))
        out[field] = _parse_value(field, kinds[field], text.strip(), pair)
    return out


def _parse_value(field, kind, text, pair):
    """`text` as the type `kind` (a string like "int | None") of `field`."""
    if text.lower() == "none" and "None" in kind:
        return None
    none = " or none" if "None" in kind else ""
    for name, parse, expected in (("int", int, "an integer"), ("float", float, "a number")):
        if name in kind:
            try:
                value = parse(text)
            except ValueError:
                raise LandmarkError(f"--set {pair}: {field} expects {expected}{none}, "
                                    f"got {text!r}") from None
            if isinstance(value, float) and not math.isfinite(value):  # nan, inf: no training
                raise LandmarkError(f"--set {pair}: {field} expects a finite number{none}, "
                                    f"got {text!r}")
            return value
    return text


def default_profile():
    """``full`` where a GPU is visible, ``cpu`` otherwise (what ``make report`` uses)."""
    import tensorflow as tf

    return "full" if tf.config.list_physical_devices("GPU") else "cpu"
