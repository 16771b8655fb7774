"""The comparison table of 04_evaluate: every model, with and without test-time
flip, on every test split; as a DataFrame and a CSV (``save_comparison``; the
report's LaTeX of it: ``reporting.latex.write_comparison_table``).

Its numbers are ``metrics.summary`` of the cached predictions of an
``evaluate.Evaluation``: exactly what ``python -m landmarklib evaluate``
prints for the same model and split, plus parameters and inference time.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core.files import atomic_path
from .evaluate import FLIPS, TEST_SPLITS, Evaluation, cached_timing

COMPARISON_CSV = config.BUILD / "comparison.csv"
TABLE_COLUMNS = ("split", "model", "flip", "images", "rmse", "mae", "nme", "pck",
                 "failure_rate", "parameters", "ms_b256", "ms_b1")


def comparison_table(evaluation, splits=TEST_SPLITS, flips=FLIPS, timing=True):
    """DataFrame: every run of an ``evaluate.Evaluation`` with and without flip on every split.

    ``comparison_table(lm.evaluate.Evaluation(runs))``; a dict name -> Run is
    wrapped in an Evaluation first.

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


def save_comparison(table, csv_path=None):
    """Write the table as CSV (the report's findings read it); returns the path.

    Args:
        table: ``comparison_table``'s DataFrame.
        csv_path: default ``build/comparison.csv``.
    """
    csv_path = Path(csv_path or COMPARISON_CSV)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    return csv_path
