"""The report's figures: one function per figure, each returning a matplotlib
Figure and, given ``save_to``, writing it as PDF and PNG.

Colours are fixed for the whole report: the subject's **left** keypoints
(image right, Kaggle's "left") red, the subject's **right** keypoints blue,
the centre line (nose, lip centres) green.

Sections: saving and colours; explore (01_explore); evaluate (04_evaluate).
"""
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..core import keypoints as kp
from ..core.files import atomic_path
from .tables import keypoint_means

# --- saving and colours ---------------------------------------------------------

FORMATS = ("pdf", "png")
PNG_DPI = 200
SIDE_COLORS = {"left": "#e6194b", "right": "#1e90ff", "centre": "#3cb44b"}
SIDE_LABELS = {"left": "subject's left (image right)", "right": "subject's right (image left)",
               "centre": "centre line"}
MARKER_SIZE = 14       # points^2, keypoints drawn on a face
PANEL_INCHES = 1.6     # width of one face in a grid

# Kaggle "Facial Keypoints Detection" training.csv, published column means (crop px),
# and its row counts: 2,140 rows with all 15 keypoints, 4,909 with only some.
KAGGLE_MEANS = {
    "left_eye_center": (66.36, 37.65), "right_eye_center": (30.31, 37.98),
    "left_eye_inner_corner": (59.16, 37.94), "left_eye_outer_corner": (73.33, 37.71),
    "right_eye_inner_corner": (36.65, 37.99), "right_eye_outer_corner": (22.38, 38.03),
    "left_eyebrow_inner_end": (56.07, 29.33), "left_eyebrow_outer_end": (79.48, 29.73),
    "right_eyebrow_inner_end": (39.32, 29.50), "right_eyebrow_outer_end": (15.87, 30.43),
    "nose_tip": (48.37, 62.72), "mouth_left_corner": (63.29, 75.97),
    "mouth_right_corner": (32.90, 76.18), "mouth_center_top_lip": (47.98, 72.92),
    "mouth_center_bottom_lip": (48.57, 78.97),
}
KAGGLE_ROWS = {"complete": 2140, "partial": 4909}


def side(name):
    """"left", "right" or "centre" for a keypoint name (the subject's side)."""
    if "left" in name:
        return "left"
    if "right" in name:
        return "right"
    return "centre"


KEYPOINT_COLORS = np.array([SIDE_COLORS[side(n)] for n in kp.NAMES])


def save_figure(fig, save_to):
    """Write `fig` as save_to.pdf and save_to.png (any suffix of `save_to` is replaced).

    Returns the written paths. Files are written atomically.
    """
    base = Path(save_to)
    base = base.with_suffix("") if base.suffix in {f".{f}" for f in FORMATS} else base
    paths = []
    for fmt in FORMATS:
        path = base.parent / f"{base.name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=PNG_DPI, bbox_inches="tight")
        paths.append(path)
    return paths


def _finish(fig, save_to):
    if save_to is not None:
        save_figure(fig, save_to)
    return fig


def side_legend(fig, **kwargs):
    """A figure legend naming the three keypoint colours."""
    handles = [Line2D([], [], marker="o", linestyle="", markersize=6, color=color,
                      markeredgecolor="black", markeredgewidth=0.5, label=SIDE_LABELS[s])
               for s, color in SIDE_COLORS.items()]
    return fig.legend(handles=handles, frameon=False, **kwargs)


def draw_face(ax, image, keypoints=None, size=MARKER_SIZE):
    """Show a 96x96 crop with its labelled keypoints (missing ones are skipped)."""
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if keypoints is not None:
        pts = kp.as_points(np.asarray(keypoints))
        seen = ~np.isnan(pts).any(axis=-1)
        ax.scatter(pts[seen, 0], pts[seen, 1], s=size, c=KEYPOINT_COLORS[seen],
                   edgecolors="black", linewidths=0.5)
    ax.set_xlim(-0.5, kp.IMAGE_SIZE - 0.5)
    ax.set_ylim(kp.IMAGE_SIZE - 0.5, -0.5)
    ax.set_axis_off()


def _crop_axes(ax):
    """Axes in crop pixels, y downwards as in the image."""
    ax.set_xlim(0, kp.IMAGE_SIZE)
    ax.set_ylim(kp.IMAGE_SIZE, 0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")


# --- explore (01_explore) ----------------------------------------------------------

def sample_grid(faces, rows=3, cols=6, seed=0, save_to=None):
    """Random crops with their keypoints: complete rows first, then partial ones.

    The first half of the panels come from rows with all 15 keypoints, the rest
    from partially labelled rows (where the set has both), each titled by source.
    """
    rng = np.random.default_rng(seed)
    n = rows * cols
    complete = np.flatnonzero(faces.complete)
    partial = np.flatnonzero(~faces.complete)
    if len(complete) and len(partial):
        n_complete = (n + 1) // 2
    else:
        n_complete = n if len(complete) else 0
    chosen = np.concatenate([
        rng.choice(complete, min(n_complete, len(complete)), replace=False),
        rng.choice(partial, min(n - n_complete, len(partial)), replace=False),
    ]).astype(int)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * PANEL_INCHES, rows * PANEL_INCHES + 0.5),
                             squeeze=False)
    for ax, i in zip(axes.flat, chosen):
        draw_face(ax, faces.images[i], faces.keypoints[i])
        labelled = int((~np.isnan(kp.as_points(faces.keypoints[i])).any(axis=-1)).sum())
        ax.set_title(f"{faces.meta['source'][i]}, {labelled}/15", fontsize=9)
    for ax in axes.flat[len(chosen):]:
        ax.set_axis_off()
    side_legend(fig, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _finish(fig, save_to)


def keypoint_scatter(faces, max_faces=2000, seed=0, save_to=None):
    """Every labelled keypoint of (up to `max_faces`) faces in crop coordinates."""
    rng = np.random.default_rng(seed)
    rows = np.arange(len(faces))
    if len(rows) > max_faces:
        rows = np.sort(rng.choice(rows, max_faces, replace=False))
    pts = kp.as_points(faces.keypoints[rows])  # (n, 15, 2)
    colors = np.broadcast_to(KEYPOINT_COLORS, pts.shape[:2])
    seen = ~np.isnan(pts).any(axis=-1)
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    ax.scatter(pts[seen][:, 0], pts[seen][:, 1], s=2, c=colors[seen], alpha=0.25,
               linewidths=0, rasterized=True)
    means = np.nanmean(np.where(seen[..., None], pts, np.nan), axis=0)
    ax.scatter(means[:, 0], means[:, 1], s=40, c=KEYPOINT_COLORS, edgecolors="black",
               linewidths=0.8, zorder=3)
    _crop_axes(ax)
    ax.set_title(f"labelled keypoints of {len(rows):,} faces (big dots: means)")
    side_legend(fig, loc="upper center", ncol=1, fontsize=8, bbox_to_anchor=(0.55, 0.9))
    fig.tight_layout()
    return _finish(fig, save_to)


def mean_face(faces, reference=KAGGLE_MEANS, save_to=None):
    """The mean crop with the keypoint means, beside the means against `reference`.

    `reference` maps keypoint names to (x, y), by default Kaggle's published
    training-set means; it shows whether our framing matches Kaggle's.
    """
    means = keypoint_means(faces)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.6))
    draw_face(left, faces.images.mean(axis=0), means.reshape(-1), size=36)
    left.set_title(f"mean of {len(faces):,} crops and keypoint means")
    right.scatter(means[:, 0], means[:, 1], s=40, c=KEYPOINT_COLORS, edgecolors="black",
                  linewidths=0.8, label="this dataset", zorder=3)
    if reference:
        ref = np.array([reference.get(n, (np.nan, np.nan)) for n in kp.NAMES])
        right.scatter(ref[:, 0], ref[:, 1], s=60, marker="x", c="black", linewidths=1.2,
                      label="Kaggle training.csv")
        for ours, theirs in zip(means, ref):
            right.plot([ours[0], theirs[0]], [ours[1], theirs[1]], color="gray", lw=0.8)
    for i, name in enumerate(kp.NAMES):
        if not np.isnan(means[i]).any():
            right.annotate(str(i), means[i], xytext=(4, 3), textcoords="offset points",
                           fontsize=8)
    _crop_axes(right)
    right.set_title("keypoint means (numbers: keypoint index)")
    right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _finish(fig, save_to)


def missing_pattern(faces, by="source", reference_rows=KAGGLE_ROWS, save_to=None):
    """Which keypoints are labelled: complete vs partial rows per group, and per keypoint.

    Left: rows with all 15 keypoints vs only some (and Kaggle's training.csv
    for comparison); right: how many rows label each keypoint, per group.
    """
    groups = list(dict.fromkeys(faces.meta[by]))
    labelled = ~np.isnan(kp.as_points(faces.keypoints)).any(axis=-1)  # (N, 15)
    counts = labelled.sum(axis=1)
    rows = {g: (faces.meta[by] == g).to_numpy() for g in groups}
    bars = {g: (int((counts[r] == kp.NUM_KEYPOINTS).sum()),
                int(((counts[r] > 0) & (counts[r] < kp.NUM_KEYPOINTS)).sum()))
            for g, r in rows.items()}
    if reference_rows:
        bars["Kaggle training.csv"] = (reference_rows["complete"], reference_rows["partial"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4),
                                      gridspec_kw={"width_ratios": (1, 1.4)})
    names = list(bars)
    full = np.array([bars[g][0] for g in names])
    part = np.array([bars[g][1] for g in names])
    y = np.arange(len(names))
    left.barh(y, full, color="#4c72b0", label="all 15 keypoints")
    left.barh(y, part, left=full, color="#dd8452", label="only some")
    for yi, f, p in zip(y, full, part):
        left.text(f + p, yi, f"  {f:,} / {p:,}", va="center", fontsize=8)
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xlim(0, (full + part).max() * 1.45)
    left.set_xlabel("rows")
    left.set_title("complete / partial rows")
    left.legend(loc="lower right", fontsize=8)
    height = 0.8 / len(groups)
    k = np.arange(kp.NUM_KEYPOINTS)
    for j, g in enumerate(groups):
        right.barh(k + j * height, labelled[rows[g]].sum(axis=0), height=height, label=g)
    right.set_yticks(k + 0.4 - height / 2, kp.NAMES, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("rows where the keypoint is labelled")
    right.set_title("labelled rows per keypoint")
    right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _finish(fig, save_to)


# --- evaluate (04_evaluate) ---------------------------------------------------------
# The numbers come from landmarklib.evaluate (imported inside the functions: it
# loads Keras, which the explore figures do not need). `evaluation` is an
# ``evaluate.Evaluation``: runs, splits and cached predictions.

TRUTH_COLOR = SIDE_COLORS["centre"]   # ground truth in the gallery: green
PREDICTION_COLOR = SIDE_COLORS["left"]  # a prediction in the gallery: red
LEARNING_METRICS = (("rmse", "RMSE (px)"), ("nme", "NME (%)"))
GALLERY_COUNT = 6    # faces in each row (worst, best) of the gallery
BAR_ERRORS = {"elinewidth": 0.8, "capsize": 1.5}


def model_colors(names):
    """A fixed colour per model name: matplotlib's tab10 in ``models.REGISTRY`` order."""
    import matplotlib

    from ..training.models import REGISTRY

    order = list(REGISTRY) + [n for n in names if n not in REGISTRY]
    cmap = matplotlib.colormaps["tab10"]
    return {n: cmap(order.index(n) % 10) for n in names}


def _split_label(split):
    from .evaluate import SPLIT_LABELS

    return SPLIT_LABELS.get(split, split)


def _grouped_offsets(count, models):
    """x offsets of `models` bars in each of `count` groups."""
    width = 0.8 / models
    return width, [np.arange(count) + (j - (models - 1) / 2) * width for j in range(models)]


def per_keypoint_errors(evaluation, split="test", flip=False, save_to=None):
    """Mean point error per keypoint and model, with 95 % confidence bars.

    Keypoints the split never labels (10 of 15 on MTFL) are left out.
    """
    from ..core import metrics
    from .evaluate import CI_Z

    faces = evaluation.faces(split)
    preds = evaluation.predictions(split, flip)
    colors = model_colors(list(preds))
    labelled = ~np.isnan(kp.as_points(faces.keypoints)[..., 0]).all(axis=0)
    names = [n for n, keep in zip(kp.NAMES, labelled) if keep]
    width, offsets = _grouped_offsets(len(names), len(preds))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names) + 2), 3.6))
    for x, (model, pred) in zip(offsets, preds.items()):
        err = metrics.point_errors(faces.keypoints, pred)[:, labelled]
        count = (~np.isnan(err)).sum(axis=0)
        ci = CI_Z * np.nanstd(err, axis=0, ddof=1) / np.sqrt(count)
        ax.bar(x, np.nanmean(err, axis=0), width, yerr=ci, color=colors[model], label=model,
               error_kw=BAR_ERRORS)
    ax.set_xticks(np.arange(len(names)), [n.replace("_", " ") for n in names],
                  rotation=45, ha="right")
    ax.set_ylabel("mean error (px)")
    ax.set_title(f"Error per keypoint, {_split_label(split)} "
                 f"({len(faces)} faces{', flip' if flip else ''}); bars: 95 % confidence")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _finish(fig, save_to)


def ced_curves(evaluation, splits=("test", "test_mtfl"), flip=False, save_to=None):
    """Cumulative error distribution of per-image NME, one panel per split.

    The legend gives each model's area under the curve up to the failure
    threshold (``evaluate.ced_curve``) and its failure rate.
    """
    from ..core import metrics
    from .evaluate import CED_MAX_NME, ced_curve

    fig, axes = plt.subplots(1, len(splits), figsize=(4.2 * len(splits), 3.6), squeeze=False)
    for ax, split in zip(axes[0], splits):
        faces = evaluation.faces(split)
        preds = evaluation.predictions(split, flip)
        colors = model_colors(list(preds))
        for model, pred in preds.items():
            per_image = metrics.nme_per_image(faces.keypoints, pred)
            x, y, auc = ced_curve(per_image)
            fail = np.mean(per_image[~np.isnan(per_image)] > metrics.FAILURE_NME)
            ax.plot(x, y, color=colors[model],
                    label=f"{model}: AUC {auc:.3f}, fail {100 * fail:.1f} %")
        ax.set_xlim(0, CED_MAX_NME)
        ax.set_ylim(0, 1)
        ax.set_xlabel("NME (% of inter-ocular distance)")
        ax.set_ylabel("fraction of images")
        ax.set_title(f"{_split_label(split)} ({len(faces)} faces{', flip' if flip else ''})")
        ax.legend(fontsize=7, loc="best")  # good models rise early: lower right is free
    fig.tight_layout()
    return _finish(fig, save_to)


def error_by_attribute(evaluation, split="test_mtfl", flip=False, save_to=None):
    """Mean NME by MTFL head pose, glasses, smile and gender; counts under each group.

    See ``evaluate.attribute_findings`` for which group, if any, fails clearly more.
    """
    from .evaluate import ATTRIBUTES, attribute_table

    faces = evaluation.faces(split)
    preds = evaluation.predictions(split, flip)
    table = attribute_table(faces, preds)
    if table.empty:
        raise ValueError(f"split {split!r} has none of the attributes {list(ATTRIBUTES)}")
    colors = model_colors(list(preds))
    attributes = list(dict.fromkeys(table["attribute"]))
    ratios = [len(ATTRIBUTES[a]) for a in attributes]
    fig, axes = plt.subplots(1, len(attributes), figsize=(3 + 1.3 * sum(ratios), 3.6),
                             gridspec_kw={"width_ratios": ratios}, sharey=True, squeeze=False)
    for ax, attribute in zip(axes[0], attributes):
        part = table[table["attribute"] == attribute]
        groups = list(ATTRIBUTES[attribute].values())
        width, offsets = _grouped_offsets(len(groups), len(preds))
        for x, model in zip(offsets, preds):
            rows = part[part["model"] == model].set_index("group").reindex(groups)
            ax.bar(x, rows["nme"], width, yerr=rows["nme_ci"], color=colors[model],
                   label=model, error_kw=BAR_ERRORS)
        counts = part.drop_duplicates("group").set_index("group").reindex(groups)["count"]
        ax.set_xticks(np.arange(len(groups)),
                      [f"{g}\n(n={c})" for g, c in zip(groups, counts)], fontsize=8)
        ax.set_title(attribute)
    axes[0][0].set_ylabel("mean NME (%)")
    axes[0][-1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle(f"Error by attribute, {_split_label(split)}"
                 f"{' (flip)' if flip else ''}; bars: 95 % confidence")
    fig.tight_layout()
    return _finish(fig, save_to)


def learning_curves(history, save_to=None, title=None):
    """Loss and masked RMSE per epoch, training vs validation; see 03_train.

    ``history``: a run's history (``run.history``: columns epoch, loss,
    val_loss, rmse, val_rmse, ...). ``save_to``: also write it as .pdf and .png.
    """
    from matplotlib.ticker import MaxNLocator

    needed = {"epoch", "loss", "val_loss", "rmse", "val_rmse"}
    if history is None or len(history) == 0 or not needed <= set(history.columns):
        have = [] if history is None else list(history.columns)
        raise ValueError(f"learning_curves needs a history with columns {sorted(needed)}; "
                         f"got {have}")
    fig, axes = plt.subplots(1, 2, figsize=(6, 2.3), layout="constrained")
    for ax, metric, label in ((axes[0], "loss", "masked loss"),
                              (axes[1], "rmse", "masked RMSE (px)")):
        marker = "o" if len(history) <= 10 else None
        ax.plot(history["epoch"], history[metric], marker=marker, label="training")
        ax.plot(history["epoch"], history[f"val_{metric}"], marker=marker, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if metric == "loss" and history[metric].max() > 20 * history[f"val_{metric}"].min():
            ax.set_yscale("log")
    axes[1].legend()
    if title:
        fig.suptitle(title)
    if save_to:
        save_figure(fig, save_to)
    return fig


def learning_curves_all(runs, save_to=None):
    """Training (dashed) and validation (solid) RMSE and NME per epoch, every run.

    `runs`: dict name -> ``train.Run`` (its ``history``, as in history.csv).
    """
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    colors = model_colors(list(runs))
    fig, axes = plt.subplots(1, len(LEARNING_METRICS), figsize=(5 * len(LEARNING_METRICS), 3.6))
    for ax, (metric, label) in zip(axes, LEARNING_METRICS):
        for name, run in runs.items():
            h = run.history
            if h.empty or f"val_{metric}" not in h:
                continue
            ax.plot(h["epoch"], h[f"val_{metric}"], color=colors[name], marker=".", label=name)
            if metric in h:
                ax.plot(h["epoch"], h[metric], color=colors[name], linestyle="--", alpha=0.6)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale("log")  # versions differ by factors; a log axis keeps all readable
        for axis in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):
            axis(ScalarFormatter())
        ax.set_title(f"{label}: validation (solid), training (dashed)")
    axes[-1].legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _finish(fig, save_to)


def draw_prediction(ax, image, truth, pred, title=""):
    """A crop with its ground truth (green dots), a prediction (red crosses) and
    a yellow line from each labelled truth point to its prediction."""
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    t, p = kp.as_points(truth), kp.as_points(pred)
    seen = ~np.isnan(t).any(axis=-1)
    for a, b in zip(t[seen], p[seen]):
        ax.plot([a[0], b[0]], [a[1], b[1]], color="yellow", linewidth=0.6)
    ax.scatter(t[seen, 0], t[seen, 1], s=10, c=TRUTH_COLOR, edgecolors="black", linewidths=0.3)
    ax.scatter(p[:, 0], p[:, 1], s=10, c=PREDICTION_COLOR, marker="x", linewidths=0.8)
    ax.set_xlim(-0.5, kp.IMAGE_SIZE - 0.5)
    ax.set_ylim(kp.IMAGE_SIZE - 0.5, -0.5)
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def worst_best_gallery(evaluation, model=None, split="test_mtfl", flip=False,
                       count=GALLERY_COUNT, save_to=None):
    """The `count` worst (top row) and best (bottom row) faces of one model by NME.

    `model` defaults to the run with the lowest NME on `split`.
    """
    from ..core import metrics
    from .evaluate import best_worst

    model = model or evaluation.best(split, flip)
    faces = evaluation.faces(split)
    pred = evaluation.predict(model, split, flip)
    per_image = metrics.nme_per_image(faces.keypoints, pred)
    worst, best = best_worst(faces, pred, count)
    fig, axes = plt.subplots(2, count, figsize=(PANEL_INCHES * count, 3.8), squeeze=False)
    for row, (label, indices) in enumerate((("worst", worst), ("best", best))):
        for ax, i in zip(axes[row], indices):
            draw_prediction(ax, faces.images[i], faces.keypoints[i], pred[i],
                            f"#{i}: NME {per_image[i]:.1f} %")
        for ax in axes[row][len(indices):]:
            ax.set_axis_off()
        axes[row][0].text(-0.15, 0.5, label, transform=axes[row][0].transAxes,
                          rotation=90, va="center", ha="right", fontsize=10)
    fig.suptitle(f"{model} on {_split_label(split)}{' (flip)' if flip else ''}: worst and best "
                 f"faces (green truth, red prediction)", fontsize=9)
    fig.tight_layout()
    return _finish(fig, save_to)
