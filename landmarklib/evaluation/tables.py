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


def _cell(value, decimals, escape=True):
    """A table cell: 1,234 / 2.5 / "--" for NaN / escaped text (raw LaTeX without `escape`)."""
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return "--" if np.isnan(value) else f"{value:,.{decimals}f}"
    return latex_escape(value) if escape else str(value)


def to_latex(table, decimals=1, index=True, escape=True):
    """A booktabs ``tabular`` of a DataFrame (``Styler.to_latex(hrules=True)``).

    Args:
        table: the DataFrame; its index becomes the first column (named by
            ``table.index.name``) unless `index` is False.
        decimals: digits after the point for floats (NaN: "--").
        index: write the index as the first column.
        escape: escape text cells and headers; False for cells already in LaTeX.

    Numbers are right-aligned with thousands separators, text is escaped
    (``latex_escape``); a last row named ``total`` gets a rule of its own above it.
    """
    frame = table.reset_index() if index else table.reset_index(drop=True)
    if index:
        frame = frame.rename(columns={frame.columns[0]: table.index.name or ""})
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    styler = (frame.style.hide(axis="index")
              .format(lambda v: _cell(v, decimals, escape))
              .format_index(latex_escape if escape else str, axis=1))
    latex = styler.to_latex(hrules=True, column_format="".join(
        "l" if c in text_columns else "r" for c in frame.columns))
    lines = latex.splitlines()
    last = len(lines) - 3   # the last row, before \bottomrule and \end{tabular}
    if len(frame) > 1 and lines[last].startswith(f"{TOTAL} &"):
        lines.insert(last, r"\midrule")
    return "\n".join(lines) + "\n"


def write_latex(table, path, **kwargs):
    """Write ``to_latex(table)`` to `path` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(to_latex(table, **kwargs))
    return path
