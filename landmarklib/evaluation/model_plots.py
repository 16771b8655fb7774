"""The report's figures of trained models: learning curves (03_train), errors per
keypoint, cumulative error distributions, errors by attribute and the best and
worst faces (04_evaluate). One function per figure, each returning a matplotlib
Figure and, given ``save_to``, writing it as PDF and PNG.

`evaluation` is an ``evaluate.Evaluation`` (runs, splits and cached
predictions); the numbers behind the figures come from ``landmarklib.analysis``.
"""
import matplotlib.pyplot as plt
import numpy as np

from ..core import keypoints as kp
from ..core import metrics
from .analysis import ATTRIBUTES, CED_MAX_NME, CI_Z, attribute_table, best_worst, ced_curve
from .evaluate import SPLIT_LABELS
from .drawing import (PANEL_INCHES, draw_prediction, finish, grouped_offsets, model_colors,
                      save_figure)

LEARNING_METRICS = (("rmse", "RMSE (px)"), ("nme", "NME (%)"))
GALLERY_COUNT = 6    # faces in each row (worst, best) of the gallery
BAR_ERRORS = {"elinewidth": 0.8, "capsize": 1.5}


def _split_label(split):
    return SPLIT_LABELS.get(split, split)


def per_keypoint_errors(evaluation, split="test", flip=False, save_to=None):
    """Mean point error per keypoint and model, with 95 % confidence bars.

    Keypoints the split never labels (10 of 15 on MTFL) are left out.
    """
    faces = evaluation.faces(split)
    preds = evaluation.predictions(split, flip)
    colors = model_colors(list(preds))
    labelled = ~np.isnan(kp.as_points(faces.keypoints)[..., 0]).all(axis=0)
    names = [n for n, keep in zip(kp.NAMES, labelled) if keep]
    width, offsets = grouped_offsets(len(names), len(preds))
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
    return finish(fig, save_to)


def ced_curves(evaluation, splits=("test", "test_mtfl"), flip=False, save_to=None):
    """Cumulative error distribution of per-image NME, one panel per split.

    The legend gives each model's area under the curve up to the failure
    threshold (``evaluate.ced_curve``) and its failure rate.
    """
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
    return finish(fig, save_to)


def error_by_attribute(evaluation, split="test_mtfl", flip=False, save_to=None):
    """Mean NME by MTFL head pose, glasses, smile and gender; counts under each group.

    See ``evaluate.attribute_findings`` for which group, if any, fails clearly more.
    """
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
        width, offsets = grouped_offsets(len(groups), len(preds))
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
    return finish(fig, save_to)


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
    return finish(fig, save_to)


def worst_best_gallery(evaluation, model=None, split="test_mtfl", flip=False,
                       count=GALLERY_COUNT, save_to=None):
    """The `count` worst (top row) and best (bottom row) faces of one model by NME.

    `model` defaults to the run with the lowest NME on `split`.
    """
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
    return finish(fig, save_to)
