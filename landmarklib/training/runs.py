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
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from ..core import config
from ..core import keypoints as kp
from ..core.files import read_json
from ..data import registry
from . import models

# Part of every run's cache key: bump it when a change to the models, the
# training loop or the augmentation should invalidate saved runs.
TRAIN_CODE_VERSION = 1


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
        raise ValueError(f"unknown profile {profile!r}; choose auto or one of {sorted(config.PROFILES)}")
    return profile


def run_dir_for(version, profile_name, recipe=None):
    """models/<version>-<profile>, or models/<version>-<recipe>-<profile> for an
    augmentation ablation (a version trained with another recipe)."""
    if recipe and recipe != models.get_version(version).augment:
        return config.MODELS / f"{version}-{recipe}-{profile_name}"
    return config.MODELS / f"{version}-{profile_name}"


def cache_key(version, profile, manifest, recipe=None):
    """What decides whether a saved run can be reused: version, profile, data,
    training-code version, for augmented versions the recipe's ranges, and for
    the transfer model where its backbone weights come from."""
    content = {"version": version, "profile": profile.to_dict(), "data": manifest,
               "code": TRAIN_CODE_VERSION}
    spec = models.get_version(version)
    if spec.builder == "transfer" and config.TRANSFER_WEIGHTS != "imagenet":
        content["weights"] = config.TRANSFER_WEIGHTS  # (the default adds nothing)
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
        raise ValueError(f"{path}: holds a {cfg.get('version')} model, expected {expect_version}")
    model = keras.models.load_model(path / "model.keras", compile=False,
                                    custom_objects=models.CUSTOM_OBJECTS)
    results = read_json(path / "results.json") if (path / "results.json").exists() else {}
    history = pd.read_csv(path / "history.csv") if (path / "history.csv").exists() else pd.DataFrame()
    return Run(path, model, cfg, results, history)
