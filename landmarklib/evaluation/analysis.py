"""Analyses behind the evaluation figures, as plain functions on arrays.

* ``ced_curve``: the cumulative error distribution of per-image NME and its area;
* ``attribute_table``, ``attribute_findings``: error by MTFL attribute (head
  pose, glasses, smile, gender) and which group, if any, fails clearly more;
* ``best_worst``: the best and worst images of a model.

They need numpy and pandas only; the figures are in ``landmarklib.model_plots``.
"""
import numpy as np
import pandas as pd

from ..core import metrics

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
