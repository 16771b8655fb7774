"""One setup call for every notebook: seeds, plot style, paths; and Colab helpers.

The first cell of each notebook fetches the code on Colab (it cannot import
this module before the code is there); the cell after the parameters calls
``lm.notebook.setup(seed=seed)``, which does the rest. The Colab badge and the
repository address live here so that every notebook uses the same ones.
"""
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import config
from ..core.errors import LandmarkError
from .consistency import PROFILE_ENV

# The repository's address: the one setting every badge and clone line follows
# (`make colab-links REPO=owner/name` rewrites it here and in notebooks/README).
REPO_URL = "https://github.com/landmarklib/landmarklib"
BRANCH = "main"
COLAB_DIR = "/content/landmarklib"       # where the setup cell clones the code on Colab
DRIVE_MOUNT = "/content/drive"
DRIVE_HOME = "/content/drive/MyDrive/landmarklib"  # LANDMARKLIB_HOME with use_drive=True
# Packages the library needs that Colab lacks: the setup cell installs them at
# requirements.txt's pins (the project itself goes in with --no-deps).
COLAB_EXTRA_PACKAGES = ("mtcnn", "lz4")
REPORT_PACKAGES = ("papermill",)  # what 00_colab_report adds to Colab to run the report
TRAIN_NOTEBOOK = "03_train"
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


def resolve_profile(profile="auto"):
    """The profile a notebook runs: "auto" -> full with a GPU, cpu without;
    a name the user set is kept as it is (checked): ``config.resolve_profile``.

    Args:
        profile: "auto" or a name of ``config.PROFILES``.
    """
    return config.resolve_profile(profile)


def setup(seed=config.SEED, profile=None):
    """Seeds, plot style and output folders for a notebook; returns ``Paths``.

    Args:
        seed: seeds Python's, numpy's and Keras's generators.
        profile: the notebook's resolved profile; recorded in the environment
            (``consistency.PROFILE_ENV``) so that saved figures say which
            profile made them, also outside ``make report``.
    """
    if profile is not None:
        os.environ[PROFILE_ENV] = profile
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


def use_home(home=None, drive=False):
    """Keep models/, build/ and the report outputs under one folder (``LANDMARKLIB_HOME``).

    On Colab, ``drive=True`` mounts Google Drive and uses ``DRIVE_HOME`` so that the
    runs 03_train writes survive for 04/05 and later sessions. Returns the home.

    Args:
        home: a folder (None: ``DRIVE_HOME`` with `drive`, else the current home).
        drive: mount Google Drive first (Colab only).
    """
    if drive:
        from google.colab import drive as colab_drive  # only on Colab

        colab_drive.mount(DRIVE_MOUNT)
        home = home or DRIVE_HOME
    if home is None:
        return config.HOME
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    os.environ[config.HOME_ENV] = str(home)
    config.HOME, config.BUILD = home, home / "build"
    if not os.environ.get("LANDMARKLIB_MODELS"):
        config.MODELS = home / "models"
    config.FIGURES, config.GENERATED = home / "report" / "figures", home / "report" / "generated"
    return home


def missing_run_message(version, profile, folder):
    """The one line a notebook stops with when `version`'s run is not on disk
    (``runs.missing_run_message``)."""
    from ..training import runs  # Keras: not loaded by a notebook's setup

    return runs.missing_run_message(version, profile, folder)


def load_runs(profile, versions=None, train_missing=False, dataset=config.DEFAULT_DATASET):
    """The trained runs of `profile` (dict version -> Run) for 04/05:
    ``runs.RunStore().load_all``.

    Without `train_missing`, a missing run stops with one line (LandmarkError)
    that names the notebook to run; with it, missing runs are trained now.

    Args:
        profile: a resolved profile name.
        versions: keys of ``models.REGISTRY`` (None: all, but a version that
            ``make report`` leaves out here, ``runner.left_out_versions``, only
            where it has a run).
        train_missing: train what is missing instead of stopping.
        dataset: the dataset the runs were trained on.
    """
    from ..training import runs, train  # Keras: not loaded by a notebook's setup
    from .runner import left_out_versions

    store = runs.RunStore()
    if versions is None:
        left_out = left_out_versions()
        versions = [v for v in runs.REGISTRY
                    if v not in left_out or store.is_finished(v, profile, dataset=dataset)]
        for version in set(left_out) - set(versions):
            print(f"{version}: not trained here ({left_out[version]})")
    trainer = train.train if train_missing else None
    return store.load_all(profile, versions, dataset=dataset, trainer=trainer)


def colab_setup_source(repo_url=REPO_URL, requirements=None):
    """The first code cell of every notebook (what ``make colab-links`` writes).

    Args:
        repo_url: the repository to clone on Colab.
        requirements: requirements.txt, read for the extra packages' pins.
    """
    pins = extra_package_pins(requirements)
    return (
        '# Setup: on Colab, fetch the code and install it; elsewhere a no-op. See README, "Colab".\n'
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f"    !git clone -q --depth 1 {repo_url} {COLAB_DIR} || git -C {COLAB_DIR} pull -q\n"
        "    # the project and what it needs that Colab lacks; --no-deps keeps Colab's TF, Keras, numpy\n"
        f"    %pip install -q --no-deps -e {COLAB_DIR} {' '.join(pins)}\n"
        f"    %cd {COLAB_DIR}/notebooks\n"
        f'    sys.path.insert(0, "{COLAB_DIR}")\n'
        "    from google.colab import output\n"
        "    output.enable_custom_widget_manager()  # Colab draws ipywidgets only with this\n"
        "import landmarklib as lm")


def extra_package_pins(requirements=None, names=COLAB_EXTRA_PACKAGES):
    """``name==version`` for `names` (default ``COLAB_EXTRA_PACKAGES``), from requirements.txt.

    Args:
        requirements: the lock file (default: the checkout's requirements.txt).
        names: the packages to pin.
    """
    path = Path(requirements or config.ROOT / "requirements.txt")
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        spec = line.split("#")[0].strip()
        if "==" in spec:
            name, version = spec.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    missing = [n for n in names if n not in pins]
    if missing:
        raise ValueError(f"{path}: no '==' pin for {', '.join(missing)}")
    return [f"{n}=={pins[n]}" for n in names]


def report_pins(requirements=None):
    """The ``pip install`` arguments 00_colab_report adds (papermill at our pin)."""
    return " ".join(extra_package_pins(requirements, REPORT_PACKAGES))


def runtime_line(profile):
    """One line on the accelerator and the profile a report would run."""
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    where = f"GPU {', '.join(gpus)}" if gpus else "no GPU (Runtime > Change runtime type > GPU for full)"
    return f"{where}; profile {profile}; LANDMARKLIB_HOME {config.HOME}"


def run_report(profile, only=()):
    """``python -m landmarklib report --profile <profile>`` with its progress printed live.

    Raises LandmarkError naming the exit status if the report fails.

    Args:
        profile: a resolved profile name.
        only: substrings of notebook runs to keep (``--only``).
    """
    command = [sys.executable, "-m", "landmarklib", "report", "--profile", profile]
    command += [a for word in only for a in ("--only", word)]
    with subprocess.Popen(command, cwd=config.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
    if process.returncode:
        raise LandmarkError(f"{' '.join(command[1:])} stopped with exit status {process.returncode} (see above)")


def deliver(zip_path, drive_folder=DRIVE_HOME):
    """Offer the Overleaf zip: a download on Colab, and a copy in Drive when it is mounted.

    Returns the paths of the copies made.

    Args:
        zip_path: the zip ``overleaf.pack`` wrote.
        drive_folder: where the Drive copy goes.
    """
    zip_path = Path(zip_path)
    copies = []
    if Path(DRIVE_MOUNT).is_dir() and in_colab():
        target = Path(drive_folder) / zip_path.name
        if target.resolve() != zip_path.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(zip_path, target)
        copies.append(target)
        print(f"Drive copy: {target}")
    if in_colab():
        from google.colab import files

        files.download(str(zip_path))
    else:
        print(f"{zip_path}: upload it to Overleaf (New project > Upload project)")
    return copies
