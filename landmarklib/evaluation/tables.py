"""The dataset's tables as pandas DataFrames (01_explore): images per source and
split, label patterns, mean keypoint positions.

The report gets them as LaTeX through ``reporting.latex.write_latex`` (the one
place that writes LaTeX), so the PDF quotes the numbers the code found.
"""
import numpy as np
import pandas as pd

from ..core import keypoints as kp

SPLIT_ORDER = ("train", "val", "test", "test_mtfl")
TOTAL = "total"   # the totals' row and column (``reporting.latex.to_latex`` rules it off)


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
