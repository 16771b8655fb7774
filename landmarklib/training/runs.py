"""Saved runs: where a run lives, what decides whether it can be reused, how to open one.

A run lives in ``models/<version>-<profile>/`` (see ``run_dir_for``):

    model.keras      the trained model
    config.json      version, profile fields, data manifest, cache key
    history.csv      one row per epoch (loss and masked metrics, train and val)
    results.json     metrics on every evaluation split, time, images/s, machine
    checkpoint/      while training: the last finished epoch (for resuming)

``training.train`` writes runs; ``inference``, ``evaluation`` and ``demo`` only
open them with ``load_run``, so loading a model never imports the training loop.
"""
import ast
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import pandas as pd

from ..core import config
from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import read_json
from ..data import registry
from . import models

# Modules (below landmarklib/) whose code decides what a trained model is: a
# hash of their source (comments and docstrings aside) is part of every run's
# cache key, so editing any of them retrains instead of reloading a stale run.
# A listed module that does not exist counts as absent (also hashed).
TRAINING_MODULES = (
    "core.keypoints", "core.metrics",
    "data.crop", "data.sources", "data.registry", "data.kaggle_csv",
    "data.pipeline", "data.augment", "data.recipes",
    "training.models", "training.train", "training.distribute",
)
# ... and what turns a trained model into predictions (mirroring, test-time
# flip, batching): part of the key of cached predictions (evaluation.evaluate).
PREDICTION_MODULES = ("core.keypoints", "data.pipeline", "training.models", "inference.predict")
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The file Keras looks for (in $KERAS_HOME/models, default ~/.keras/models) for
# the transfer backbone's ImageNet weights (MobileNetV3-Small, minimalistic, no top).
TRANSFER_IMAGENET_FILE = "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"


@dataclass
class Run:
    """A trained model and everything written about it."""

    dir: Path
    model: keras.Model
    config: dict
    results: dict
    history: pd.DataFrame

    @property
    def version(self):
        return self.config["version"]


def resolve_profile(profile):
    """"auto" (or None) -> ``config.default_profile()``; other names are checked.

    Args:
        profile: "auto", None or a name of ``config.PROFILES``.
    """
    if profile in (None, "auto"):
        return config.default_profile()
    if profile not in config.PROFILES:
        raise LandmarkError(f"unknown profile {profile!r}; choose auto or one of {sorted(config.PROFILES)}")
    return profile


def run_dir_for(version, profile_name, recipe=None, dataset=config.DEFAULT_DATASET):
    """The run folder: models/<version>-<profile> for the default dataset (the
    folders of earlier versions keep working), models/<version>-<dataset>-<profile>
    for another one, with -<recipe> before the profile for an augmentation
    ablation (a version trained with another recipe than its own).

    Args:
        version: key of ``models.REGISTRY``.
        profile_name: a resolved profile name (smoke, cpu, full).
        recipe: the augmentation recipe trained with (None: the version's own).
        dataset: key of the dataset registry; two datasets never share a folder.
    """
    parts = [version]
    if dataset and dataset != config.DEFAULT_DATASET:
        parts.append(dataset)
    if recipe and recipe != models.get_version(version).augment:
        parts.append(recipe)
    return config.MODELS / "-".join(parts + [profile_name])


def module_digest(name):
    """sha256 of module `name`'s code (e.g. "training.models"), comments and
    docstrings left out; "absent" if there is no such file.

    Args:
        name: a module path below landmarklib, dotted.
    """
    path = PACKAGE_DIR.joinpath(*name.split(".")).with_suffix(".py")
    if not path.exists():
        return "absent"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # a docstring edit changes no model
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            body[0] = ast.Pass()
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def code_digest(modules=TRAINING_MODULES):
    """One short hash of the code of `modules` (default: TRAINING_MODULES).

    Args:
        modules: dotted module paths below landmarklib.
    """
    blob = json.dumps({name: module_digest(name) for name in modules}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def _file_sha256(path, size, mtime):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def file_digest(path):
    """Short sha256 of a file's bytes (cached by path, size and modification time)."""
    stat = Path(path).stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns)


def keras_weights_file(name=TRANSFER_IMAGENET_FILE):
    """Where Keras keeps (or would download) a weights file: $KERAS_HOME/models/name."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return Path(home) / "models" / name


def transfer_weights_source(weights=None):
    """What the transfer backbone would start from now, as a cache-key string.

    "none" (random); "file:<sha>" / "file-missing:<path>" for a weights file;
    for "imagenet", "imagenet:<sha>" when Keras has the file locally, else
    "imagenet:download" (Keras downloads it, or training starts from scratch).
    So a run trained without the weights is not reused once they are there.

    Args:
        weights: "imagenet", a path or "none"; default ``config.TRANSFER_WEIGHTS``.
    """
    weights = str(config.TRANSFER_WEIGHTS if weights is None else weights)
    if weights.lower() == "none":
        return "none"
    if weights == "imagenet":
        local = keras_weights_file()
        return f"imagenet:{file_digest(local)}" if local.is_file() else "imagenet:download"
    path = Path(weights).expanduser()
    return f"file:{file_digest(path)}" if path.is_file() else f"file-missing:{path}"


def cache_key(version, profile, manifest, recipe=None):
    """What decides whether a saved run can be reused: version, profile, data,
    the training code (``code_digest``), for augmented versions the recipe's
    ranges, and for the transfer model the backbone weights it would load
    (``transfer_weights_source``)."""
    content = {"version": version, "profile": profile.to_dict(), "data": manifest,
               "code": code_digest()}
    spec = models.get_version(version)
    if spec.builder == "transfer":
        content["weights"] = transfer_weights_source()
    recipe = recipe or spec.augment
    if recipe != "none":
        from ..data import augment

        content["augment"] = augment.get_recipe(recipe).to_dict()
        if content["augment"]["flip"]:  # where the mirror axis lies matters too
            content["flip_axis"] = kp.FACE_AXIS_X
    blob = json.dumps(content, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def data_manifest(dataset):
    manifest, _ = registry.manifest_for(dataset)
    return {"dataset": dataset, "converter_version": manifest["converter_version"],
            "sources": {k: v["fingerprint"] for k, v in manifest["sources"].items()}}


def load_run(path, expect_version=None):
    """Open a run folder written by ``train``; clear errors if it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model folder (train one with "
                                f"`python -m landmarklib train --version v4`)")
    for name in ("model.keras", "config.json"):
        if not (path / name).exists():
            raise FileNotFoundError(f"{path}: not a model folder, {name} is missing")
    cfg = read_json(path / "config.json")
    if expect_version is not None and cfg.get("version") != expect_version:
        raise LandmarkError(f"{path}: holds a {cfg.get('version')} model, expected {expect_version}")
    model = keras.models.load_model(path / "model.keras", compile=False,
                                    custom_objects=models.CUSTOM_OBJECTS)
    results = read_json(path / "results.json") if (path / "results.json").exists() else {}
    history = pd.read_csv(path / "history.csv") if (path / "history.csv").exists() else pd.DataFrame()
    return Run(path, model, cfg, results, history)
