"""Evaluation that explains the models: where each one is good and where it fails.

* ``evaluate_cli``: ``python -m landmarklib evaluate --model DIR --csv FILE``,
  the metrics of one run on one Kaggle-format CSV (printed, and as JSON).
* ``Evaluation``: the trained runs of a profile and their predictions on the
  evaluation splits, computed once and cached as arrays under
  ``build/predictions/`` (keyed by the run's cache key, the split's contents
  and the flip), so that the notebook, the figures and the inspector widget
  redraw without predicting again.
* ``comparison_table``: every version, with and without test-time flip, on
  every test split: masked RMSE, MAE, NME, PCK, failure rate, parameters and
  inference time. Its numbers are ``metrics.summary`` of the cached
  predictions: exactly what ``evaluate`` prints for the same model and split.
* Analyses behind the figures, as plain functions on arrays: cumulative error
  distribution (``ced_curve``), error by MTFL attribute (``attribute_table``,
  ``attribute_findings``), best and worst images (``best_worst``).

The figures drawn from these are in ``landmarklib.plots`` (section "evaluate").

See 04_evaluate.
"""
import hashlib
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config, metrics
from ..core import keypoints as kp
from ..core.files import atomic_path, read_json, write_json

PREDICTIONS = config.BUILD / "predictions"
COMPARISON_CSV = config.BUILD / "comparison.csv"
COMPARISON_TEX = config.GENERATED / "comparison.tex"
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

# Cumulative error distribution: per-image NME from 0 to the failure threshold.
CED_MAX_NME = metrics.FAILURE_NME   # percent
CED_STEPS = 201

# MTFL attribute codes (from its annotation files) -> group names.
ATTRIBUTES = {
    "pose": {1: "left profile", 2: "left", 3: "frontal", 4: "right", 5: "right profile"},
    "glasses": {1: "glasses", 2: "no glasses"},
    "smile": {1: "smiling", 2: "not smiling"},
    "gender": {1: "male", 2: "female"},
}
# A group "fails more" when its mean NME is above the rest's by more than this
# many standard errors of the difference (about a 95 % two-sided test).
SIGNIFICANT_Z = 1.96
CI_Z = 1.96   # error bars: 95 % confidence interval of a mean


# --- the CLI: one run, one CSV ----------------------------------------------------


def _pck_threshold(run):
    return run.config.get("profile", {}).get("pck_threshold", config.FULL.pck_threshold)


def evaluate_faces(run, faces, flip=False):
    """``metrics.summary`` of `run`'s predictions on a labelled FaceSet."""
    from ..inference.predict import predict

    if len(faces) == 0:
        raise ValueError("no faces to evaluate")
    if np.isnan(faces.keypoints).all():
        raise ValueError("the faces have no labelled keypoints; evaluation needs a "
                         "training.csv-like file (use `predict` for test.csv)")
    pred = predict(run.model, faces.images, flip=flip)
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
    from ..data import read_kaggle_csv
    from ..training.runs import load_run

    run = load_run(model_dir)
    faces = read_kaggle_csv(csv_path)
    try:
        summary = evaluate_faces(run, faces, flip=flip)
    except ValueError as err:
        raise ValueError(f"{csv_path}: {err}") from None
    title = (f"{run.dir} ({run.version}) on {csv_path}"
             f"{', test-time flip' if flip else ''}")
    print(format_summary(summary, title))
    if json_path:
        write_json({**summary, "model": str(run.dir), "csv": str(csv_path), "flip": flip},
                   json_path)
        print(f"wrote {json_path}")
    return summary


# --- runs, splits and cached predictions --------------------------------------------


def load_runs(profile="smoke", versions=None, train_missing=True):
    """Dict version -> Run for the profile (all of ``models.REGISTRY`` by default).

    With `train_missing` (default) each version goes through ``train.train``,
    which loads a cached run and trains only what is missing or outdated;
    without it, only run folders already on disk are opened.
    """
    from ..training import models, train

    versions = list(models.REGISTRY) if versions is None else list(versions)
    profile = train.resolve_profile(profile)
    runs = {}
    for version in versions:
        if train_missing:
            run = train.train(version, profile)
        else:
            folder = train.run_dir_for(version, profile)
            run = train.load_run(folder) if (folder / "results.json").exists() else None
        if run is not None:
            runs[version] = run
    return runs


@lru_cache(maxsize=4)
def _splits(dataset, max_images, seed):
    from ..data import load_splits

    return load_splits(dataset, max_images=max_images, seed=seed)


def profile_splits(run):
    """The evaluation splits a run was scored on (the profile's data and caps)."""
    prof = run.config["profile"]
    return _splits(prof["dataset"], prof["max_images"], prof["seed"])


def faces_digest(faces):
    """A short hash of a FaceSet's images and keypoints (part of the cache key)."""
    h = hashlib.sha1(np.ascontiguousarray(faces.images).tobytes())
    h.update(np.ascontiguousarray(faces.keypoints, dtype=np.float32).tobytes())
    return h.hexdigest()[:12]


def cached_predictions(run, faces, split, flip=False, cache_dir=None):
    """(N, 30) predictions of `run` on `faces`, from the cache or computed and cached.

    The file name holds the run's cache key, the split and a digest of the
    faces, so a retrained model or changed data never reads a stale array.
    """
    from ..inference.predict import predict

    cache_dir = Path(cache_dir or PREDICTIONS)
    key = run.config.get("key", "nokey")
    path = cache_dir / (f"{run.dir.name}-{key}-{split}{'-flip' if flip else ''}"
                        f"-{faces_digest(faces)}.npy")
    if path.exists():
        return np.load(path)
    pred = predict(run.model, faces.images, flip=flip).astype(np.float32)
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
        return list(self.runs)

    def models(self):
        """Dict name -> keras.Model (for the inspector's own-image upload)."""
        return {name: run.model for name, run in self.runs.items()}

    def faces(self, split):
        if split == "test_detector":
            if "test_detector" not in self._memory:
                from .reframe import detector_framed

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
        return metrics.summary(self.faces(split).keypoints, self.predict(name, split, flip),
                               _pck_threshold(self.runs[name]))

    def best(self, split="test", flip=False):
        """Name of the run with the lowest NME on `split`."""
        return min(self.names, key=lambda n: self.summary(n, split, flip)["nme"])

    def comparison_table(self, splits=TEST_SPLITS, flips=FLIPS, timing=True):
        """One row per (split, model, flip); see ``comparison_table``."""
        return comparison_table(self, splits, flips, timing)


# --- the comparison table --------------------------------------------------------

TABLE_COLUMNS = ("split", "model", "flip", "images", "rmse", "mae", "nme", "pck",
                 "failure_rate", "parameters", "ms_b256", "ms_b1")


def comparison_table(evaluation, splits=TEST_SPLITS, flips=FLIPS, timing=True):
    """DataFrame: every run with and without flip on every split.

    Columns: split, model, flip, images, rmse and mae (px), nme (percent of
    the inter-ocular distance), pck and failure_rate (fractions; failure =
    per-image NME > ``metrics.FAILURE_NME``), parameters, and ms per face at
    batch 256 and 1 (``ms_b256``, ``ms_b1``; NaN without `timing`).
    """
    if not isinstance(evaluation, Evaluation):
        evaluation = Evaluation(evaluation)
    rows = []
    for split in splits:
        for name, run in evaluation.runs.items():
            for flip in flips:
                s = evaluation.summary(name, split, flip)
                times = cached_timing(run, flip, evaluation.cache_dir) if timing else {}
                rows.append({
                    "split": split, "model": name, "flip": flip, "images": s["images"],
                    "rmse": s["rmse"], "mae": s["mae"], "nme": s["nme"], "pck": s["pck"],
                    "failure_rate": s["failure_rate"],
                    "parameters": int(run.model.count_params()),
                    "ms_b256": times.get("ms_b256", np.nan), "ms_b1": times.get("ms_b1", np.nan),
                })
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


# column -> (LaTeX header, formatter, lower is better?)
LATEX_COLUMNS = {
    "rmse": ("RMSE", lambda v: f"{v:.2f}", True),
    "mae": ("MAE", lambda v: f"{v:.2f}", True),
    "nme": (r"NME\,\%", lambda v: f"{v:.2f}", True),
    "pck": (r"PCK\,\%", lambda v: f"{100 * v:.1f}", False),
    "failure_rate": (r"fail\,\%", lambda v: f"{100 * v:.1f}", True),
    "parameters": ("params", lambda v: f"{v / 1e6:.2f}\\,M", None),
    "ms_b256": (r"ms\,/\,face b256", lambda v: f"{v:.3f}", None),
    "ms_b1": (r"ms\,/\,face b1", lambda v: f"{v:.2f}", None),
}


def _latex_escape(text):
    return str(text).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%")


def comparison_latex(table):
    """The comparison table as a booktabs LaTeX tabular; best value per split in bold."""
    cols = list(LATEX_COLUMNS)
    header = " & ".join(["model", "flip"] + [LATEX_COLUMNS[c][0] for c in cols])
    lines = [r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\toprule", header + r" \\"]
    for split, part in table.groupby("split", sort=False):
        lines += [r"\midrule",
                  rf"\multicolumn{{{len(cols) + 2}}}{{l}}{{\emph{{{_latex_escape(SPLIT_LABELS.get(split, split))}"
                  rf" ({part['images'].iloc[0]} faces)}}}} \\"]
        best = {c: (part[c].min() if low else part[c].max())
                for c, (_, _, low) in LATEX_COLUMNS.items() if low is not None}
        for _, row in part.iterrows():
            cells = [_latex_escape(row["model"]), "yes" if row["flip"] else "no"]
            for c in cols:
                value = row[c]
                text = "--" if pd.isna(value) else LATEX_COLUMNS[c][1](value)
                if c in best and value == best[c]:
                    text = rf"\textbf{{{text}}}"
                cells.append(text)
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_comparison(table, generated_dir=None, csv_path=None):
    """Write the table as LaTeX (``comparison.tex``) and CSV; returns both paths."""
    tex = Path(generated_dir) / COMPARISON_TEX.name if generated_dir else COMPARISON_TEX
    csv_path = Path(csv_path or COMPARISON_CSV)
    with atomic_path(tex) as tmp:
        tmp.write_text(comparison_latex(table))
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    return tex, csv_path


# --- analyses on arrays -----------------------------------------------------------


def ced_curve(nme_per_image, max_nme=CED_MAX_NME, steps=CED_STEPS):
    """Cumulative error distribution: (thresholds %, fraction of images <= each, AUC).

    Images whose NME is undefined (an eye unlabelled) are left out. The AUC is
    the area under the curve up to `max_nme`, divided by `max_nme` (1 = perfect).
    """
    values = np.asarray(nme_per_image, dtype=np.float64)
    values = np.sort(values[~np.isnan(values)])
    x = np.linspace(0.0, max_nme, steps)
    if values.size == 0:
        return x, np.zeros_like(x), 0.0
    y = np.searchsorted(values, x, side="right") / values.size
    return x, y, float(np.trapezoid(y, x) / max_nme)


def attribute_table(faces, predictions, attributes=ATTRIBUTES):
    """Per-image NME grouped by MTFL attribute, for every model.

    Returns a DataFrame with columns model, attribute, group, count, nme
    (mean, percent), nme_ci (95 % half-width), failure_rate, and
    nme_rest / z: the mean of all other images and the difference to it in
    standard errors (positive = this group is worse).
    """
    rows = []
    for name, pred in predictions.items():
        per_image = metrics.nme_per_image(faces.keypoints, pred)
        for attribute, groups in attributes.items():
            if attribute not in faces.meta or faces.meta[attribute].isna().all():
                continue  # only MTFL labels attributes
            codes = faces.meta[attribute].to_numpy()
            for code, group in groups.items():
                inside = (codes == code) & ~np.isnan(per_image)
                rest = (codes != code) & ~np.isnan(codes.astype(float)) & ~np.isnan(per_image)
                rows.append({"model": name, "attribute": attribute, "group": group,
                             **_group_stats(per_image[inside], per_image[rest])})
    return pd.DataFrame(rows)


def _group_stats(values, rest):
    n, m = values.size, rest.size
    mean = float(values.mean()) if n else np.nan
    sem = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    rest_mean = float(rest.mean()) if m else np.nan
    rest_sem = float(rest.std(ddof=1) / np.sqrt(m)) if m > 1 else np.nan
    z = (mean - rest_mean) / np.hypot(sem, rest_sem) if n > 1 and m > 1 else np.nan
    return {"count": n, "nme": mean, "nme_ci": CI_Z * sem,
            "failure_rate": float(np.mean(values > metrics.FAILURE_NME)) if n else np.nan,
            "nme_rest": rest_mean, "z": float(z)}


def attribute_findings(table, model=None):
    """One sentence per attribute: which group, if any, fails clearly more.

    "Clearly" = its mean NME exceeds the other images' by more than
    ``SIGNIFICANT_Z`` standard errors; otherwise the differences are noise.
    """
    model = model or table["model"].iloc[0]
    part = table[table["model"] == model]
    sentences = []
    for attribute, rows in part.groupby("attribute", sort=False):
        rows = rows[rows["z"].notna()]  # groups with a mean and a rest to compare
        if rows.empty:
            continue
        worst = rows.loc[rows["z"].idxmax()]
        what = (f"{model}, {attribute}: {worst['group']} (n={worst['count']}) has NME "
                f"{worst['nme']:.2f} % vs {worst['nme_rest']:.2f} % for the rest, failure rate "
                f"{100 * worst['failure_rate']:.1f} %")
        if worst["z"] > SIGNIFICANT_Z:
            sentences.append(f"{what}: clearly worse (z = {worst['z']:.1f}).")
        else:
            sentences.append(f"{what}: no group is clearly worse (largest z = "
                             f"{worst['z']:.1f} < {SIGNIFICANT_Z}).")
    return sentences


def best_worst(faces, pred, count):
    """(`count` worst, `count` best) image indices by per-image NME, undefined NME left out."""
    per_image = metrics.nme_per_image(faces.keypoints, pred)
    order = np.argsort(per_image, kind="stable")
    order = order[~np.isnan(per_image[order])]
    return order[::-1][:count], order[:count]
