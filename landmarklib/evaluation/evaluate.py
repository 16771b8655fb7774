"""Scoring trained runs: one run on one CSV, or every run of a profile on every split.

* ``evaluate_cli``: ``python -m landmarklib evaluate --model DIR --csv FILE``,
  the metrics of one run on one Kaggle-format CSV (printed, and as JSON).
* ``Evaluation``: the trained runs of a profile and their predictions on the
  evaluation splits, computed once and cached as arrays under
  ``build/predictions/`` (keyed by the run's cache key, the split's contents
  and the flip), so that the notebook, the figures and the inspector widget
  redraw without predicting again; ``cached_timing`` measures inference time
  once per run.

What is made of it: the comparison table (``landmarklib.comparison``), the
analyses (``landmarklib.analysis``) and the figures (``landmarklib.model_plots``).
See 04_evaluate.
"""
import hashlib
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core import config, metrics
from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import OutputSet, atomic_path, check_outputs, read_json, write_json
from ..data import load_splits, read_kaggle_csv
from ..data.registry import VALIDATION_FRACTION
from ..inference import predict as inference
from ..training import train as training
from ..training.runs import PREDICTION_MODULES, RunStore, code_digest, load_run
from .reframe import detector_framed

PREDICTIONS = config.BUILD / "predictions"
# test_detector: the YouTube-Faces test faces cropped from a face detector's
# box, as the video demo crops them, instead of from their own landmarks
# (``landmarklib.reframe``): what augmentation is for.
TEST_SPLITS = ("test", "test_detector", "test_mtfl")
SPLIT_LABELS = {"val": "validation", "test": "YouTube-Faces test",
                "test_detector": "YouTube-Faces test, detector crops", "test_mtfl": "MTFL test"}
FLIPS = (False, True)

# Inference timing: ms per face at these batch sizes (best of the repeats: on a
# shared machine the fastest run is the one least disturbed by other work).
TIMING_BATCHES = (256, 1)
TIMING_REPEATS = {256: 2, 1: 10}


# --- the CLI: one run, one CSV ----------------------------------------------------


def _pck_threshold(run):
    return run.config.get("profile", {}).get("pck_threshold", config.FULL.pck_threshold)


def evaluate_faces(run, faces, flip=False):
    """``metrics.summary`` of `run`'s predictions on a labelled FaceSet."""
    if len(faces) == 0:
        raise LandmarkError("no faces to evaluate")
    if np.isnan(faces.keypoints).all():
        raise LandmarkError("the faces have no labelled keypoints; evaluation needs a "
                         "training.csv-like file (use `predict` for test.csv)")
    pred = inference.predict(run.model, faces.images, flip=flip)
    return metrics.summary(faces.keypoints, pred, _pck_threshold(run))


def format_summary(summary, title=""):
    """The text table ``evaluate`` prints: overall metrics, then one line per keypoint."""
    lines = [title] if title else []
    lines += [
        f"  images {summary['images']}, labelled coordinates {summary['coordinates']}",
        f"  RMSE {summary['rmse']:.3f} px   MAE {summary['mae']:.3f} px   "
        f"NME {_num(summary['nme'], '.2f')} %   "
        f"PCK@{summary['pck_threshold']:g}px {100 * summary['pck']:.1f} %   "
        f"failures (NME > {metrics.FAILURE_NME:g} %) {_num(summary['failure_rate'], '.1%')}",
        "",
        f"  {'keypoint':<26}{'count':>7}{'error px':>10}{'MAE px':>9}{'RMSE px':>9}",
    ]
    for name, row in summary["per_keypoint"].items():
        lines.append(f"  {name:<26}{row['count']:>7}{_num(row['mean_error'], '.3f'):>10}"
                     f"{_num(row['mae'], '.3f'):>9}{_num(row['rmse'], '.3f'):>9}")
    return "\n".join(lines)


def _num(value, fmt):
    return "-" if value is None else format(value, fmt)


def evaluate_cli(model_dir, csv_path, json_path=None, flip=False):
    """``python -m landmarklib evaluate``: print the metrics, optionally write JSON.

    The JSON has the keys of ``metrics.summary`` (``rmse``, ``mae``, ``nme``
    in percent, ``pck``, ``per_keypoint``, ...) plus ``model``, ``csv``, ``flip``.
    """
    inputs = [("--csv", csv_path)]
    check_outputs([("--json", json_path)], inputs)  # before the evaluation, not after
    faces = read_kaggle_csv(csv_path)
    run = load_run(model_dir)
    try:
        summary = evaluate_faces(run, faces, flip=flip)
    except ValueError as err:
        raise LandmarkError(f"{csv_path}: {err}") from None
    title = (f"{run.dir} ({run.version}) on {csv_path}"
             f"{', test-time flip' if flip else ''}")
    if json_path:
        with OutputSet(inputs) as outputs:
            write_json({**summary, "model": str(run.dir), "csv": str(csv_path), "flip": flip},
                       outputs.add(json_path, "--json"))
    print(format_summary(summary, title))
    if json_path:
        print(f"wrote {json_path}")
    return summary


# --- runs, splits and cached predictions --------------------------------------------


def load_runs(profile="smoke", versions=None, train_missing=False):
    """Kept for old callers: ``runs.RunStore().load_all(..., missing="skip")``.

    Dict version -> Run of `profile` (all of ``models.REGISTRY`` by default):
    only the runs already on disk, unless `train_missing` trains what is
    missing (``notebook.load_runs`` is the same, but stops at a missing run).
    """
    trainer = training.train if train_missing else None
    return RunStore().load_all(profile, versions, missing="skip", trainer=trainer)


@lru_cache(maxsize=4)
def _splits(dataset, max_images, seed, validation_fraction):
    return load_splits(dataset, max_images=max_images, seed=seed,
                       validation_fraction=validation_fraction)


def profile_splits(run):
    """The evaluation splits a run was scored on (the profile's data, caps, val share)."""
    prof = run.config["profile"]
    return _splits(prof["dataset"], prof["max_images"], prof["seed"],
                   prof.get("validation_split", VALIDATION_FRACTION))


def faces_digest(faces):
    """A short hash of a FaceSet's images and keypoints (part of the cache key)."""
    h = hashlib.sha1(np.ascontiguousarray(faces.images).tobytes())
    h.update(np.ascontiguousarray(faces.keypoints, dtype=np.float32).tobytes())
    return h.hexdigest()[:12]


def cached_predictions(run, faces, split, flip=False, cache_dir=None):
    """(N, 30) predictions of `run` on `faces`, from the cache or computed and cached.

    The file name holds the run's cache key, the split, a digest of the faces
    and one of the prediction code (``runs.PREDICTION_MODULES``: mirroring,
    test-time flip), so a retrained model, changed data or an edit of how
    predictions are made never reads a stale array.
    """
    cache_dir = Path(cache_dir or PREDICTIONS)
    key = run.config.get("key", "nokey")
    path = cache_dir / (f"{run.dir.name}-{key}-{split}{'-flip' if flip else ''}"
                        f"-{faces_digest(faces)}-{code_digest(PREDICTION_MODULES)[:8]}.npy")
    if path.exists():
        return np.load(path)
    pred = inference.predict(run.model, faces.images, flip=flip).astype(np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, pred)
    return pred


def inference_ms(model, batch_size, flip=False, repeats=None):
    """Milliseconds per face of one compiled forward pass at `batch_size` (best of `repeats`).

    With `flip` the pass also runs on the mirrored batch (what test-time flip costs).
    """
    import tensorflow as tf

    repeats = repeats or TIMING_REPEATS.get(batch_size, 5)
    x = tf.random.stateless_uniform((batch_size, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), (0, 0))

    @tf.function
    def forward(images):
        out = model(images, training=False)
        if flip:
            out = out + model(images[:, :, ::-1], training=False)
        return out

    forward(x).numpy()  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(x).numpy()
        times.append(time.perf_counter() - start)
    return 1000.0 * min(times) / batch_size


def cached_timing(run, flip, cache_dir=None):
    """{"ms_b256": ..., "ms_b1": ...} for a run, measured once and cached."""
    cache_dir = Path(cache_dir or PREDICTIONS)
    path = cache_dir / f"{run.dir.name}-{run.config.get('key', 'nokey')}-timing.json"
    stored = read_json(path) if path.exists() else {}
    name = "flip" if flip else "plain"
    if name not in stored:
        stored[name] = {f"ms_b{b}": inference_ms(run.model, b, flip) for b in TIMING_BATCHES}
        write_json(stored, path)
    return stored[name]


class Evaluation:
    """Trained runs, the splits they are scored on, and their cached predictions.

    Args:
        runs: dict name -> Run (as from ``load_runs``); all from one dataset
            and split capping (one profile).
        cache_dir: where prediction arrays are kept (default ``build/predictions``).

    Example:
        >>> ev = Evaluation(load_runs("smoke"))
        >>> ev.predictions("test")          # {"v1": (N, 30) array, ...}
    """

    def __init__(self, runs, cache_dir=None):
        if not runs:
            raise ValueError("no runs to evaluate: train some first (lm.train.train or "
                             "`python -m landmarklib train`)")
        self.runs = dict(runs)
        self.cache_dir = cache_dir
        data = {self._data_key(r) for r in self.runs.values()}
        if len(data) > 1:
            raise ValueError(f"runs use different data or split caps {sorted(data)}; "
                             "compare runs of one profile")
        self._memory = {}

    @staticmethod
    def _data_key(run):
        prof = run.config["profile"]
        return (prof["dataset"], str(prof["max_images"]), prof["seed"])

    @property
    def names(self):
        """The runs' names, in order."""
        return list(self.runs)

    def models(self):
        """Dict name -> keras.Model (for the inspector's own-image upload)."""
        return {name: run.model for name, run in self.runs.items()}

    def faces(self, split):
        """The FaceSet of `split` ("val", "test", "test_detector", "test_mtfl")."""
        if split == "test_detector":
            if "test_detector" not in self._memory:
                self._memory["test_detector"] = detector_framed(self.faces("test"))[0]
            return self._memory["test_detector"]
        splits = profile_splits(next(iter(self.runs.values())))
        if split not in splits:
            raise ValueError(f"no split {split!r}; the data has {sorted(splits)}")
        return splits[split]

    def predict(self, name, split, flip=False):
        """(N, 30) cached predictions of one run on one split."""
        if name not in self.runs:
            raise ValueError(f"no run {name!r}; have {self.names}")
        key = (name, split, flip)
        if key not in self._memory:
            self._memory[key] = cached_predictions(self.runs[name], self.faces(split), split,
                                                   flip, self.cache_dir)
        return self._memory[key]

    def predictions(self, split, flip=False, names=None):
        """Dict name -> (N, 30) predictions on `split`, in the runs' order."""
        return {n: self.predict(n, split, flip) for n in (names or self.names)}

    def summary(self, name, split, flip=False):
        """``metrics.summary`` of run `name` on `split` (with test-time flip if `flip`)."""
        return metrics.summary(self.faces(split).keypoints, self.predict(name, split, flip),
                               _pck_threshold(self.runs[name]))

    def best(self, split="test", flip=False):
        """Name of the run with the lowest NME on `split`."""
        return min(self.names, key=lambda n: self.summary(n, split, flip)["nme"])
