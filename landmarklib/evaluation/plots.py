"""The report's figures of the data: one function per figure, each returning a
matplotlib Figure and, given ``save_to``, writing it as PDF and PNG
(``drawing.save_figure``).

Sections: explore (01_explore), augment (02_augment). The figures of trained
models are in ``landmarklib.model_plots``; colours and the drawing of a face in
``landmarklib.drawing``.
"""
import matplotlib.pyplot as plt
import numpy as np

from ..core import keypoints as kp
from .drawing import KEYPOINT_COLORS, PANEL_INCHES, crop_axes, draw_face, finish, side_legend
from .tables import keypoint_means

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
    return finish(fig, save_to)


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
    crop_axes(ax)
    ax.set_title(f"labelled keypoints of {len(rows):,} faces (big dots: means)")
    side_legend(fig, loc="upper center", ncol=1, fontsize=8, bbox_to_anchor=(0.55, 0.9))
    fig.tight_layout()
    return finish(fig, save_to)


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
    crop_axes(right)
    right.set_title("keypoint means (numbers: keypoint index)")
    right.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return finish(fig, save_to)


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
    return finish(fig, save_to)


# --- augment (02_augment) -----------------------------------------------------------

def augmentation_grid(images, keypoints, recipes, seed=0, save_to=None):
    """One row per recipe, one column per face: what ``augment.augment_batch`` does.

    Args:
        images: uint8 (N, 96, 96) or float (N, 96, 96, 1) in [0, 1].
        keypoints: (N, 30) pixels, NaN = missing.
        recipes: dict row title -> recipe (a name of ``augment.RECIPES``, a Recipe or a dict).
        seed: the augmentation seed (the same seed, the same figure).
        save_to: also write the figure as .pdf and .png.

    Keypoints keep the report's side colours, so a flip visibly keeps "left"
    on the subject's left (the image's right).
    """
    from ..data import augment, pipeline  # TensorFlow: only this figure needs it

    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = pipeline.to_model_input(images.reshape(-1, kp.IMAGE_SIZE, kp.IMAGE_SIZE))
    images = images.reshape(-1, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1).astype(np.float32)
    keypoints = np.asarray(keypoints, np.float32)
    fig, axes = plt.subplots(len(recipes), len(images), squeeze=False,
                             figsize=(PANEL_INCHES * len(images), PANEL_INCHES * len(recipes)))
    for row, (title, recipe) in zip(axes, recipes.items()):
        out_images, out_points = augment.augment_batch(images, keypoints, recipe, seed)
        for ax, image, points in zip(row, out_images.numpy(), out_points.numpy()):
            draw_face(ax, 255 * image[..., 0], points, size=6)
        row[0].text(-0.08, 0.5, title, transform=row[0].transAxes, rotation=90, va="center",
                    ha="right", fontsize=8)
    fig.tight_layout(pad=0.2)
    return finish(fig, save_to)
