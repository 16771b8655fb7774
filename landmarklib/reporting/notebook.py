"""One setup call for every notebook: seeds, plot style, paths; and Colab helpers.

The first cell of each notebook fetches the code on Colab (it cannot import
this module before the code is there); the cell after the parameters calls
``lm.notebook.setup(seed=seed)``, which does the rest. The Colab badge and the
repository address live here so that every notebook uses the same ones.
"""
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import config

REPO_URL = "https://github.com/landmarklib/landmarklib"
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_BASE = "https://colab.research.google.com/github"

# Plot style: screen figures at 100 dpi, saved ones sharp enough to print.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "image.cmap": "gray",
}


@dataclass(frozen=True)
class Paths:
    """Where a notebook reads and writes (all from ``landmarklib.config``)."""

    root: Path
    data: Path
    models: Path
    figures: Path
    generated: Path
    build: Path


def in_colab():
    """True inside a Google Colab kernel."""
    return "google.colab" in sys.modules


def seed_everything(seed=config.SEED):
    """Seed Python's and numpy's generators, and Keras's if Keras is loaded.

    Training seeds itself from the profile (``lm.train.train``); this covers
    the sampling a notebook does around it (which images to show, ...).
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


def plot_style():
    """Apply the project's matplotlib settings (see ``STYLE``)."""
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)


def setup(seed=config.SEED):
    """Seeds, plot style and output folders for a notebook; returns ``Paths``."""
    seed_everything(seed)
    plot_style()
    paths = Paths(config.ROOT, config.DATA, config.MODELS, config.FIGURES,
                  config.GENERATED, config.BUILD)
    for folder in (paths.figures, paths.generated):
        folder.mkdir(parents=True, exist_ok=True)
    return paths


def colab_url(notebook_name):
    """The address that opens ``notebooks/<notebook_name>`` of the repository in Colab."""
    name = notebook_name if notebook_name.endswith(".ipynb") else notebook_name + ".ipynb"
    repo = REPO_URL.removeprefix("https://github.com/")
    return f"{COLAB_BASE}/{repo}/blob/{BRANCH}/notebooks/{name}"


def colab_badge(notebook_name):
    """Markdown for the "Open in Colab" badge of one notebook."""
    return f"[![Open In Colab]({COLAB_BADGE})]({colab_url(notebook_name)})"
