"""The report's tables: pandas DataFrames for the notebooks, and LaTeX
(booktabs) for report/generated/ so the PDF quotes the numbers the code found.

A LaTeX file holds only the ``tabular``: the report wraps it in its own
``table`` with a caption (``\\input{generated/dataset_sizes.tex}``), and needs
``\\usepackage{booktabs}``.
"""
import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..core.files import atomic_path

SPLIT_ORDER = ("train", "val", "test", "test_mtfl")
TOTAL = "total"
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}


# --- dataset tables (01_explore) -----------------------------------------------------

def dataset_sizes(faces):
    """Images per source (rows) and split (columns), with totals."""
    table = pd.crosstab(faces.meta["source"], faces.meta["split"])
    splits = [s for s in SPLIT_ORDER if s in table] + sorted(set(table) - set(SPLIT_ORDER))
    table = table[splits]
    table[TOTAL] = table.sum(axis=1)
    table.loc[TOTAL] = table.sum(axis=0)
    table.index.name, table.columns.name = "source", None
    return table


def label_pattern(faces, by="source"):
    """Rows with all 15 keypoints, some, or none, per group (and in total)."""
    counts = (~np.isnan(kp.as_points(faces.keypoints)).any(axis=-1)).sum(axis=1)
    kind = np.select([counts == kp.NUM_KEYPOINTS, counts > 0], ["complete", "partial"], "none")
    table = pd.crosstab(faces.meta[by], kind)
    table = table.reindex(columns=["complete", "partial", "none"], fill_value=0)
    table["keypoints per row"] = pd.Series(counts).groupby(faces.meta[by].to_numpy()).mean()
    total = table[["complete", "partial", "none"]].sum(axis=0)
    table.loc[TOTAL] = [*total, counts.mean()]
    table["keypoints per row"] = table["keypoints per row"].round(1)
    table.index.name, table.columns.name = by, None
    return table.astype({"complete": int, "partial": int, "none": int})


def keypoint_means(faces):
    """(15, 2) mean position of each keypoint over the rows where it is labelled."""
    pts = kp.as_points(faces.keypoints).astype(np.float64)
    counts = (~np.isnan(pts)).sum(axis=0)
    return np.where(counts > 0, np.nansum(pts, axis=0) / np.maximum(counts, 1), np.nan)


def keypoint_means_table(faces, reference, reference_name="reference"):
    """Per keypoint: our mean (x, y), `reference`'s (name -> (x, y)) and the distance."""
    ours = keypoint_means(faces)
    theirs = np.array([reference.get(n, (np.nan, np.nan)) for n in kp.NAMES], dtype=float)
    return pd.DataFrame({
        "x": ours[:, 0], "y": ours[:, 1],
        f"{reference_name} x": theirs[:, 0], f"{reference_name} y": theirs[:, 1],
        "distance (px)": np.hypot(*(ours - theirs).T),
    }, index=pd.Index(kp.NAMES, name="keypoint")).round(1)


# --- LaTeX -----------------------------------------------------------------------------

def latex_escape(text):
    """`text` with LaTeX's special characters escaped."""
    return "".join(LATEX_SPECIALS.get(c, c) for c in str(text))


def _cell(value, decimals):
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return "--" if np.isnan(value) else f"{value:,.{decimals}f}"
    return latex_escape(value)


def to_latex(table, decimals=1):
    """A booktabs ``tabular`` of a DataFrame (index as the first column).

    Numbers are right-aligned with thousands separators; a last row named
    ``total`` gets a rule of its own above it.
    """
    header = [latex_escape(table.index.name or "")] + [latex_escape(c) for c in table.columns]
    lines = [r"\begin{tabular}{l" + "r" * len(table.columns) + "}", r"\toprule",
             " & ".join(header) + r" \\", r"\midrule"]
    for name, *values in table.itertuples(name=None):  # keeps each column's type
        if name == TOTAL and len(table) > 1:
            lines.append(r"\midrule")
        cells = [latex_escape(name)] + [_cell(v, decimals) for v in values]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_latex(table, path, **kwargs):
    """Write ``to_latex(table)`` to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(to_latex(table, **kwargs))
    return path
