"""Saved runs: where a run lives, what decides whether it can be reused, how to open one.

``RunStore(models_dir)`` is the one owner of run folders: its folder names
come from ``run_names.run_folder_name`` (the only code that spells one), and
every other module asks the store (``path``, ``load``, ``load_all``,
``results``) or ``load_run`` (which checks the folder with ``run_files``). A run
lives in ``models/<version>-<profile>/`` (``<version>-<dataset>-<profile>``
for another dataset than faces15, ``-<recipe>`` before the profile for an
augmentation ablation, ``+<field>=<value>`` after it for ``--set`` overrides):

    model.keras        the trained model
    config.json        version, profile fields, data manifest, cache key
    history.csv        one row per epoch (loss and masked metrics, train and val)
    results.json       metrics on every evaluation split, time, images/s, machine
    framing_bias.json  the model's framing bias (``inference.framing_bias``),
                       written the first time a predictor of the run is opened
    checkpoint/        while training: the last finished epoch (for resuming)

The store also knows where 04_evaluate keeps the demo's version of a profile
(``choice_path``: ``build/findings/<profile>/demo_version.json``).

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
from ..data import augment, registry
from . import models, run_names
from .versions import REGISTRY, get_version
from .run_files import (CONFIG_FILE, HISTORY_FILE, MODEL_FILE, RESULTS_FILE, check_run_folder,
                        is_keras_archive, read_run_json)

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
# ... and, for one builder only, the module of its network: tuning V6's network
# retrains V6 alone. (Which versions exist is not in the key either: a run's key
# holds its own ``versions.Version`` record, ``Version.cache_facts``.)
BUILDER_MODULES = {"efficient": ("training.efficient",)}
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


CHOICE_FILE = "demo_version.json"     # build/findings/<profile>/: the demo's version
TRAIN_NOTEBOOK = "notebooks/03_train.ipynb"


def resolve_profile(profile):
    """Kept for old callers: ``config.resolve_profile``."""
    return config.resolve_profile(profile)


def missing_run_message(version, profile, folder):
    """The one line that says `version`'s run of `profile` is not in `folder`."""
    return (f"no {version} run of profile {profile} in {folder}: run {TRAIN_NOTEBOOK} "
            f"with model_version = \"{version}\" and profile = \"{profile}\" first "
            f"(or `python -m landmarklib train --version {version} --profile {profile}`; "
            f"same LANDMARKLIB_HOME), or set train_missing = True here to train it now")


class RunStore:
    """The run folders under one models folder, and the demo's choice of version.

    Args:
        models_dir: where the run folders are (None: ``config.MODELS`` when
            asked, so ``notebook.use_home`` moves it).
        findings_dir: where 04_evaluate saves per-profile findings, among them
            the demo's version (None: ``config.BUILD / "findings"``).

    Example:
        >>> store = RunStore()
        >>> store.path("v4", "cpu", overrides={"epochs": 5}).name
        'v4-cpu+epochs=5'
    """

    def __init__(self, models_dir=None, findings_dir=None):
        self._models_dir, self._findings_dir = models_dir, findings_dir

    @property
    def models_dir(self):
        return Path(self._models_dir) if self._models_dir is not None else config.MODELS

    @property
    def findings_dir(self):
        return Path(self._findings_dir) if self._findings_dir is not None else config.BUILD / "findings"

    def path(self, version, profile, dataset=None, recipe=None, overrides=None):
        """The folder of a run (it need not exist); see ``run_folder_name``.

        Args:
            version: a key of ``versions.REGISTRY`` or a ``versions.Version``.
            profile: a profile name ("auto" is resolved) or a Profile.
            dataset, recipe, overrides: as for ``run_folder_name``.
        """
        if not isinstance(profile, config.Profile):
            profile = config.resolve_profile(profile)
        return self.models_dir / run_names.run_folder_name(version, profile, dataset, recipe, overrides)

    def is_finished(self, version, profile, **where):
        """Whether that run's folder holds a finished run (its results.json)."""
        return (self.path(version, profile, **where) / RESULTS_FILE).exists()

    def results(self, version, profile, **where):
        """A finished run's results.json as a dict, None if it is not finished.

        Reads no model: what the report's findings use.

        Args:
            version, profile: as for ``path``.
            **where: dataset, recipe, overrides, as for ``path``.
        """
        path = self.path(version, profile, **where) / RESULTS_FILE
        return read_run_json(path) if path.exists() else None

    def records(self, version, profile, **where):
        """(results.json, config.json) of a finished run as dicts, None if either is
        missing: what the report's tables use (no model read)."""
        folder = self.path(version, profile, **where)
        if not (folder / CONFIG_FILE).exists():
            return None
        results = self.results(version, profile, **where)
        return None if results is None else (results, read_run_json(folder / CONFIG_FILE))

    def load(self, version, profile, **where):
        """The finished run of `version` with `profile` (LandmarkError naming the
        notebook and the command that train it if there is none).

        Args:
            version, profile: as for ``path``.
            **where: dataset, recipe, overrides, as for ``path``.
        """
        version = getattr(version, "name", version)
        folder = self.path(version, profile, **where)
        if not (folder / RESULTS_FILE).exists():
            name = config.resolve_profile(profile)  # a Profile: its name
            raise LandmarkError(missing_run_message(version, name, folder))
        return load_run(folder, expect_version=version)

    def load_all(self, profile, versions=None, dataset=None, missing="raise", trainer=None):
        """Dict version -> Run of `profile`, in the order of `versions`.

        Args:
            profile: a profile name ("auto" is resolved, once) or a Profile.
            versions: keys of ``versions.REGISTRY`` or Versions (None: all).
            dataset: the dataset the runs were trained on (None: the profile's).
            missing: a run not on disk: "raise" (one line naming how to train
                it) or "skip" (left out of the dict).
            trainer: train what is missing or outdated with this function instead
                (``train.train``, given by the caller: the store never imports
                the training loop); it loads a cached run.
        """
        if missing not in ("raise", "skip"):
            raise ValueError(f"missing={missing!r}; expected 'raise' or 'skip'")
        if not isinstance(profile, config.Profile):
            profile = config.resolve_profile(profile)
        names = list(REGISTRY) if versions is None else [getattr(v, "name", v) for v in versions]
        found = {}
        for version in names:
            if trainer is not None:
                fields_set = run_names.effective_overrides(profile)  # those a Profile carries
                if dataset:
                    fields_set["dataset"] = dataset
                run = trainer(version, config.resolve_profile(profile),
                              run_dir=self.path(version, profile, dataset), **fields_set)
            elif missing == "skip" and not self.is_finished(version, profile, dataset=dataset):
                continue
            else:
                run = self.load(version, profile, dataset=dataset)
            if run is not None:
                found[version] = run
        return found

    def finished_runs(self, profile):
        """[(folder name, results.json, config.json)] of the finished runs of
        `profile` in their own folders: every version, dataset and recipe, but
        no run with ``--set`` overrides (those are not the profile's runs).

        Args:
            profile: a resolved profile name (``results.json``'s "profile").
        """
        found = []
        for results_file in sorted(self.models_dir.glob(f"*/{RESULTS_FILE}")):
            folder = results_file.parent
            results = read_run_json(results_file)
            if results.get("profile") != profile or not (folder / CONFIG_FILE).exists():
                continue
            cfg = read_run_json(folder / CONFIG_FILE)
            version = cfg.get("version", results.get("version"))
            if version not in REGISTRY:
                continue
            dataset = cfg.get("profile", {}).get("dataset") or config.DEFAULT_DATASET
            if folder.name == run_names.run_folder_name(version, profile, dataset, cfg.get("augment")):
                found.append((folder.name, results, cfg))
        return found

    def choice_path(self, profile):
        """Where 04_evaluate keeps the demo's version of `profile`:
        ``build/findings/<profile>/demo_version.json``."""
        if profile in (None, config.AUTO) or isinstance(profile, config.Profile):
            profile = config.resolve_profile(profile)
        return self.findings_dir / profile / CHOICE_FILE

    def chosen_version(self, profile, fallback):
        """The demo's version of `profile` as 04_evaluate saved it, else `fallback`."""
        path = self.choice_path(profile)
        return read_run_json(path)["version"] if path.exists() else fallback


def run_dir_for(version, profile_name, recipe=None, dataset=config.DEFAULT_DATASET, overrides=None):
    """Kept for old callers: ``RunStore().path`` (the folder under ``config.MODELS``).

    Args:
        version: key of ``versions.REGISTRY``.
        profile_name: a resolved profile name (smoke, cpu, full).
        recipe: the augmentation recipe trained with (None: the version's own).
        dataset: key of the dataset registry.
        overrides: dict profile field -> value (``--set``).
    """
    return RunStore().path(version, profile_name, dataset, recipe, overrides)


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
    """What decides whether a saved run can be reused: version, its record in
    ``versions.REGISTRY``, profile, data, the training code (``code_digest``, with
    its builder's own module, ``BUILDER_MODULES``), for augmented versions the recipe's
    ranges, and for the transfer model the backbone weights it would load
    (``transfer_weights_source``)."""
    spec = get_version(version)
    content = {"version": version, "profile": profile.to_dict(), "data": manifest,
               "code": code_digest(TRAINING_MODULES + BUILDER_MODULES.get(spec.builder, ())),
               "record": spec.cache_facts()}
    if spec.builder == "transfer":
        content["weights"] = transfer_weights_source()
    recipe = recipe or spec.augment
    if recipe != "none":
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
    """Open a run folder written by ``train``; one clear error if it is not one.

    Args:
        path: the run folder, e.g. ``models/v4-cpu``.
        expect_version: refuse a folder holding another version (None: any).

    Raises:
        FileNotFoundError: no such folder, or a file of a run is missing.
        LandmarkError: training in progress or interrupted, config.json or
            results.json not JSON, model.keras not a Keras model file, or
            another version than `expect_version`.
    """
    path = Path(path)
    cfg = check_run_folder(path)
    if expect_version is not None and cfg.get("version") != expect_version:
        raise LandmarkError(f"{path}: holds a {cfg.get('version')} model, expected {expect_version}")
    model_file = path / MODEL_FILE
    try:
        model = keras.models.load_model(model_file, compile=False,
                                        custom_objects=models.CUSTOM_OBJECTS)
    except Exception:
        if not is_keras_archive(model_file):  # Keras says "File not found" for these
            raise LandmarkError(f"{model_file}: not a Keras model file (corrupt or truncated)") from None
        raise                                   # a whole file Keras cannot read: a bug
    results = read_run_json(path / RESULTS_FILE) if (path / RESULTS_FILE).exists() else {}
    history = pd.read_csv(path / HISTORY_FILE) if (path / HISTORY_FILE).exists() else pd.DataFrame()
    return Run(path, model, cfg, results, history)
