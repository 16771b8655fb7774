"""The comparison table of 04_evaluate: every model, with and without test-time
flip, on every test split; as a DataFrame, a CSV and a LaTeX tabular.

Its numbers are ``metrics.summary`` of the cached predictions of an
``evaluate.Evaluation``: exactly what ``python -m landmarklib evaluate``
prints for the same model and split, plus parameters and inference time.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core.files import atomic_path
from .evaluate import FLIPS, SPLIT_LABELS, TEST_SPLITS, Evaluation, cached_timing
from .tables import latex_escape

COMPARISON_CSV = config.BUILD / "comparison.csv"
COMPARISON_TEX = config.GENERATED / "comparison.tex"
TABLE_COLUMNS = ("split", "model", "flip", "images", "rmse", "mae", "nme", "pck",
                 "failure_rate", "parameters", "ms_b256", "ms_b1")
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


# column -> (LaTeX header, formatter, lower is better?)
def comparison_latex(table):
    """The comparison table as a booktabs LaTeX tabular; best value per split in bold."""
    cols = list(LATEX_COLUMNS)
    header = " & ".join(["model", "flip"] + [LATEX_COLUMNS[c][0] for c in cols])
    lines = [r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\toprule", header + r" \\"]
    for split, part in table.groupby("split", sort=False):
        lines += [r"\midrule",
                  rf"\multicolumn{{{len(cols) + 2}}}{{l}}{{\emph{{{latex_escape(SPLIT_LABELS.get(split, split))}"
                  rf" ({part['images'].iloc[0]} faces)}}}} \\"]
        best = {c: (part[c].min() if low else part[c].max())
                for c, (_, _, low) in LATEX_COLUMNS.items() if low is not None}
        for _, row in part.iterrows():
            cells = [latex_escape(row["model"]), "yes" if row["flip"] else "no"]
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
