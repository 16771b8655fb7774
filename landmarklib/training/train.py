"""``train(version, profile)``: the one training entry point (notebooks, CLI, Colab).

A run lives in ``models/<version>-<profile>/`` (the folder ``runs.RunStore``
names; a run with profile overrides in its own, e.g. ``models/v4-cpu+epochs=5``):

    model.keras      the trained model
    config.json      version, profile fields, data manifest, cache key
    history.csv      one row per epoch (loss and masked metrics, train and val)
    results.json     metrics on every evaluation split, time, images/s, machine
    checkpoint/      while training: the last finished epoch (for resuming)

Runs are cached by a hash of (version, profile fields, data manifest, the
source of the training code, see ``runs.TRAINING_MODULES``): calling
``train`` again with nothing changed loads the saved model.
An interrupted run resumes from its last finished epoch and, because the
input stream depends only on (seed, epoch), ends with the same result.
See 03_train.
"""
import csv
import os
import platform
import shutil
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ..core import config, metrics
from ..core.files import atomic_path, read_json, write_json
from ..data import pipeline, registry
from . import distribute, keras_compat, models
from .runs import (Run, RunStore, cache_key, code_digest, data_manifest, load_run,  # noqa: F401
                   transfer_weights_source)

EVAL_SPLITS = ("val", "test", "test_mtfl")


def parse_overrides(overrides):
    """Turn CLI strings {"epochs": "5"} into typed profile fields (see
    ``config.parse_overrides``, which names the field and the type it expects)."""
    return config.parse_overrides(overrides)


def lr_schedule(profile, steps_per_epoch, epochs):
    """Linear warm-up, then cosine decay to 1 % (or a constant rate)."""
    if profile.lr_schedule == "constant":
        return profile.learning_rate
    if profile.lr_schedule != "cosine":
        raise ValueError(f"unknown lr_schedule {profile.lr_schedule!r}; use 'cosine' or 'constant'")
    total = max(steps_per_epoch * epochs, 1)
    warmup = min(steps_per_epoch * profile.warmup_epochs, total // 2)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=profile.learning_rate / 10 if warmup else profile.learning_rate,
        decay_steps=total - warmup, alpha=0.01,
        warmup_target=profile.learning_rate if warmup else None, warmup_steps=warmup)


def compile_model(model, profile, steps, epochs):
    optimizer = keras.optimizers.AdamW(learning_rate=lr_schedule(profile, steps, epochs),
                                       weight_decay=profile.weight_decay)
    model.compile(optimizer=optimizer,
                  loss=distribute.GlobalBatchLoss(metrics.get_loss(profile.loss)),
                  metrics=metrics.keras_metrics(profile.pck_threshold))
    return model


class EpochCheckpoint(keras.callbacks.Callback):
    """Save model + optimizer + history after every epoch, atomically."""

    def __init__(self, folder, key, history_rows, is_chief=True):
        super().__init__()
        self.folder, self.key, self.rows, self.is_chief = Path(folder), key, history_rows, is_chief

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})
        if not self.is_chief:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / "checkpoint.keras") as tmp:
            self.model.save(tmp)
        write_json({"key": self.key, "epoch": epoch + 1, "history": self.rows,
                    "seed_states": seed_states(self.model)}, self.folder / "state.json")


def _seed_generators(model):
    """Layers' random-number states (Dropout): .keras files do not keep them."""
    return {layer.name: layer.seed_generator for layer in keras_compat.flatten_layers(model)
            if getattr(layer, "seed_generator", None) is not None}


def seed_states(model):
    return {name: np.asarray(g.state).tolist() for name, g in _seed_generators(model).items()}


def restore_seed_states(model, states):
    """Put Dropout's random state back, so a resumed run draws the same masks."""
    for name, generator in _seed_generators(model).items():
        if name in states:
            generator.state.assign(np.asarray(states[name], dtype=generator.state.dtype))


class StopAfter(keras.callbacks.Callback):
    """Stop after `epochs` epochs of this call (tests use it to simulate a crash)."""

    def __init__(self, epochs):
        super().__init__()
        self.left = epochs

    def on_epoch_end(self, epoch, logs=None):
        self.left -= 1
        if self.left <= 0:
            self.model.stop_training = True


def machine_info():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "gpus": [g.name for g in gpus],
            "tensorflow": tf.__version__, "keras": keras.__version__}


def _checkpoint_epoch(ckpt_dir, key, retrain):
    """The last finished epoch of this config's checkpoint in `ckpt_dir` (0: none)."""
    state_file = ckpt_dir / "state.json"
    if retrain or not state_file.exists():
        return 0
    state = read_json(state_file)
    return state["epoch"] if state.get("key") == key else 0


def training_rows(version, splits):
    """The training FaceSet of a version: V1 keeps complete rows only."""
    train = splits["train"]
    if models.get_version(version).complete_rows_only:
        train = train[train.complete]
    return train


def train(version, profile="auto", retrain=False, strategy="auto", run_dir=None,
          stop_after_epochs=None, verbose="auto", recipe=None, **overrides):
    """Train (or load the cached) `version` with `profile`; returns a Run.

    Args:
        version: key of ``versions.REGISTRY`` (v1, v2, v3, v4, v5, heatmap, transfer, v6)
            or of ``versions.CANDIDATES``.
        profile: "smoke", "cpu", "full" or "auto" (full with a GPU, cpu without).
        retrain: ignore a cached run with the same key.
        strategy: tf.distribute strategy name (see ``landmarklib.distribute``).
        run_dir: where to write (default ``RunStore().path``: ``models/<version>-<profile>``,
            with ``+<field>=<value>`` per override, so the default run is never touched).
        stop_after_epochs: stop early, leaving a resumable checkpoint (tests).
        recipe: train with another augmentation recipe than the version's
            (an ablation; written to ``models/<version>-<recipe>-<profile>``).
        **overrides: profile fields to change, e.g. ``epochs=5``.
    """
    spec = models.get_version(version)
    profile_name = config.resolve_profile(profile)
    prof = config.get_profile(profile_name, **overrides)
    prof = replace(prof, loss=spec.loss_name(prof, overrides))  # V6 trains with Wing loss
    augment_recipe = recipe or spec.augment
    run_dir = Path(run_dir or RunStore().path(version, profile_name, prof.dataset, augment_recipe,
                                              overrides))
    manifest = data_manifest(prof.dataset)
    key = cache_key(version, prof, manifest, augment_recipe)
    strat = distribute.get_strategy(strategy)
    is_chief = distribute.is_chief(strat)
    replicas = strat.num_replicas_in_sync
    if replicas > 1:  # another global batch and learning rate: another run
        key = f"{key}-x{replicas}"
    ckpt_dir = run_dir / "checkpoint"

    cached = (not retrain and (run_dir / "results.json").exists()
              and (run_dir / "config.json").exists()
              and read_json(run_dir / "config.json").get("key") == key)
    distribute.check_workers_agree(strat, cached_run=cached,
                                   resume_epoch=_checkpoint_epoch(ckpt_dir, key, retrain))
    if cached:
        print(f"{version}: cached run {run_dir} matches this config; loading it "
              f"(use --retrain to train again)")
        return load_run(run_dir)

    # From here on the folder holds no finished run until _write_run completes.
    if is_chief:
        (run_dir / "results.json").unlink(missing_ok=True)
    splits = registry.load_splits(prof.dataset, max_images=prof.max_images, seed=prof.seed,
                                  validation_fraction=prof.validation_split)
    train_faces = training_rows(version, splits)
    epochs = spec.epochs(prof)
    global_batch = prof.batch_size * replicas
    learning_rate = distribute.scaled_learning_rate(prof.learning_rate, replicas)
    steps = pipeline.steps_per_epoch(len(train_faces), global_batch)

    # Resume from the last finished epoch if the checkpoint belongs to this config.
    first_epoch, history_rows = 0, []
    state_file = ckpt_dir / "state.json"
    keras.utils.set_random_seed(prof.seed)
    with strat.scope():
        if state_file.exists() and read_json(state_file).get("key") == key and not retrain:
            state = read_json(state_file)
            first_epoch, history_rows = state["epoch"], state["history"]
            print(f"{version}: resuming from epoch {first_epoch} of {epochs}")
            model = keras.models.load_model(
                ckpt_dir / "checkpoint.keras", custom_objects=models.CUSTOM_OBJECTS,
                compile=True)
            restore_seed_states(model, state.get("seed_states", {}))
        else:
            if is_chief:
                shutil.rmtree(ckpt_dir, ignore_errors=True)
            mean = np.nanmean(train_faces.keypoints, axis=0)
            model = compile_model(models.build(version, mean_keypoints=mean),
                                  replace(prof, learning_rate=learning_rate), steps, epochs)

    train_ds = pipeline.training_dataset(train_faces, global_batch, seed=prof.seed,
                                         augment=None if augment_recipe == "none" else augment_recipe,
                                         first_epoch=first_epoch)
    train_ds = distribute.distribute_dataset(strat, train_ds)
    distribute.fit_ready(strat, model)
    val_ds = pipeline.eval_dataset(splits["val"], batch_size=256)
    callbacks = [EpochCheckpoint(ckpt_dir, key, history_rows, is_chief)]
    if stop_after_epochs:
        callbacks.append(StopAfter(stop_after_epochs))
    if verbose == "auto":
        verbose = 2 if os.environ.get("CI") or not os.isatty(1) else 1
    print(f"{version}/{prof.name}: {len(train_faces)} training images, {epochs} epochs of "
          f"{steps} steps x {global_batch}, {replicas} replica(s), into {run_dir}")
    start = time.perf_counter()
    if first_epoch < epochs:
        model.fit(train_ds, steps_per_epoch=steps, epochs=epochs, initial_epoch=first_epoch,
                  validation_data=val_ds, callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    done_epochs = len(history_rows)
    if done_epochs < epochs:
        print(f"{version}: stopped after epoch {done_epochs}; call train() again to resume")
        return None

    trained_now = done_epochs - first_epoch
    results = {
        "version": version, "profile": prof.name, "description": spec.description,
        "epochs": epochs, "batch_size": global_batch, "replicas": replicas,
        "learning_rate": learning_rate,
        "train_images": len(train_faces), "parameters": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "images_per_second": round(trained_now * steps * global_batch / max(seconds, 1e-9), 1),
        "machine": machine_info(), "strategy": type(strat).__name__,
        "backbone_weights": getattr(model, "backbone_weights", None),
        "splits": evaluate_splits(model, splits, prof.pck_threshold),
    }
    cfg = {"version": version, "profile": prof.to_dict(), "data": manifest, "key": key,
           "augment": augment_recipe, "code": code_digest()}
    if spec.builder == "transfer":  # what the key saw, and what was actually loaded
        cfg["backbone_weights"] = {"wanted": config.TRANSFER_WEIGHTS,
                                   "source": transfer_weights_source(),
                                   "loaded": results["backbone_weights"]}
    if is_chief:
        _write_run(run_dir, model, cfg, history_rows, results)
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return Run(run_dir, model, cfg, results, pd.DataFrame(history_rows))


def evaluate_splits(model, splits, pck_threshold):
    """Metrics on every evaluation split, with and without test-time flip."""
    out = {}
    for name in EVAL_SPLITS:
        if name not in splits or len(splits[name]) == 0:
            continue
        faces = splits[name]
        for flip in (False, True):
            pred = models.predict(model, faces.images, flip=flip)
            out[name + ("_flip" if flip else "")] = metrics.summary(faces.keypoints, pred,
                                                                   pck_threshold)
    return out


def _write_run(run_dir, model, cfg, history_rows, results):
    """Write the run folder; results.json last, since it marks the run complete."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(run_dir / "model.keras") as tmp:
        model.save(tmp)
    write_json(cfg, run_dir / "config.json")
    with atomic_path(run_dir / "history.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history_rows[0]))
            writer.writeheader()
            writer.writerows(history_rows)
    write_json(results, run_dir / "results.json")


def mean_shape_baseline(splits):
    """Predict the training mean of every keypoint: the floor any model must beat."""
    mean = np.nanmean(splits["train"].keypoints, axis=0)
    return {name: metrics.summary(f.keypoints, np.broadcast_to(mean, f.keypoints.shape))
            for name, f in splits.items() if name in EVAL_SPLITS}
