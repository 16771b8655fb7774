"""How the report's figures look and are saved: colours, faces with keypoints, files.

Colours are fixed for the whole report: the subject's **left** keypoints
(image right, Kaggle's "left") red, the subject's **right** keypoints blue,
the centre line (nose, lip centres) green; every model keeps one colour
(``model_colors``). ``save_figure`` writes a figure as PDF and PNG, atomically.
The figures themselves are in ``landmarklib.plots``.
"""
import json
import os
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.lines import Line2D

from ..core import keypoints as kp
from ..core.files import atomic_path
from ..training.versions import REGISTRY

FORMATS = ("pdf", "png")
PNG_DPI = 200
SIDE_COLORS = {"left": "#e6194b", "right": "#1e90ff", "centre": "#3cb44b"}
SIDE_LABELS = {"left": "subject's left (image right)", "right": "subject's right (image left)",
               "centre": "centre line"}
TRUTH_COLOR = SIDE_COLORS["centre"]     # ground truth beside a prediction: green
PREDICTION_COLOR = SIDE_COLORS["left"]  # a prediction: red
MARKER_SIZE = 14       # points^2, keypoints drawn on a face
PANEL_INCHES = 1.6     # width of one face in a grid
MODEL_COLORMAP = "tab10"


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

    Returns the written paths. Files are written atomically. A sidecar
    save_to.json records the profile ($LANDMARKLIB_PROFILE, set by the report
    runner; "unknown" outside it).
    """
    base = Path(save_to)
    base = base.with_suffix("") if base.suffix in {f".{f}" for f in FORMATS} else base
    paths = []
    for fmt in FORMATS:
        path = base.parent / f"{base.name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=PNG_DPI, bbox_inches="tight")
        paths.append(path)
    # sidecar: the profile it was drawn for (reporting.consistency warns when profiles mix)
    with atomic_path(base.parent / f"{base.name}.json") as tmp:
        tmp.write_text(json.dumps({"profile": os.environ.get("LANDMARKLIB_PROFILE") or "unknown",
                                   "files": [p.name for p in paths]}) + "\n")
    return paths


def finish(fig, save_to):
    """`fig`, also saved (``save_figure``) when `save_to` is given."""
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


def crop_axes(ax):
    """Axes in crop pixels, y downwards as in the image."""
    ax.set_xlim(0, kp.IMAGE_SIZE)
    ax.set_ylim(kp.IMAGE_SIZE, 0)
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")

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


def model_colors(names):
    """A fixed colour per model name: matplotlib's tab10 in ``versions.REGISTRY`` order."""
    order = list(REGISTRY) + [n for n in names if n not in REGISTRY]
    cmap = matplotlib.colormaps[MODEL_COLORMAP]
    return {n: cmap(order.index(n) % 10) for n in names}


def grouped_offsets(count, models):
    """x offsets of `models` bars in each of `count` groups."""
    width = 0.8 / models
    return width, [np.arange(count) + (j - (models - 1) / 2) * width for j in range(models)]
