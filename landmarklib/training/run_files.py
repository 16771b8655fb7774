"""The files of a run folder, read without Keras or TensorFlow.

What ``runs.load_run`` checks before it opens a model, usable where nothing
heavy may load yet (a command line checking its arguments): the folder and
its files (``check_run_folder``), its JSON files (``read_run_json``: the file
and line when one is not JSON), whether a model.keras is a whole archive
(``is_keras_archive``) and how far an unfinished training got
(``last_finished_epoch``). See ``training.runs`` for what a run folder holds.
"""
import json
import zipfile
import zlib
from pathlib import Path

from ..core.errors import LandmarkError

# What a run folder holds (see ``training.runs``); results.json marks it finished.
MODEL_FILE, CONFIG_FILE, RESULTS_FILE = "model.keras", "config.json", "results.json"
HISTORY_FILE, CHECKPOINT_DIR = "history.csv", "checkpoint"


def read_run_json(path):
    """A JSON file of a run folder; LandmarkError naming the file and line if it is not JSON.

    Args:
        path: e.g. ``models/v4-cpu/config.json``.
    """
    path = Path(path)
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise LandmarkError(f"{path}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise LandmarkError(f"{path}: not JSON (line {error.lineno}, column {error.colno}: "
                            f"{error.msg})") from None
    if not isinstance(value, dict):
        raise LandmarkError(f"{path}: expected a JSON object {{...}}, got a {type(value).__name__}")
    return value


def last_finished_epoch(path):
    """The last epoch the checkpoint of the run folder `path` finished (0: none yet)."""
    state = Path(path) / CHECKPOINT_DIR / "state.json"
    try:
        return int(json.loads(state.read_text()).get("epoch", 0)) if state.exists() else 0
    except (ValueError, TypeError, AttributeError):  # being written, or damaged
        return 0


def is_keras_archive(path):
    """Whether `path` is a whole .keras file: a zip whose members' checksums hold,
    with Keras's config.json inside (an empty, truncated or overwritten file is not).

    Args:
        path: a model.keras file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist() and archive.testzip() is None
    except PermissionError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        return False


def check_run_folder(path):
    """The checks of ``load_run`` that need no model: the folder, its files, config.json.

    Returns:
        dict: the run's config.json.

    Raises:
        FileNotFoundError: no such folder, or model.keras / config.json missing.
        LandmarkError: training still running or interrupted (a checkpoint and
            no model.keras), or config.json is not JSON.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model folder (train one with "
                                f"`python -m landmarklib train --version v4`)")
    if not (path / MODEL_FILE).exists() and (path / CHECKPOINT_DIR).is_dir():
        epoch = last_finished_epoch(path)
        done = f"last finished epoch {epoch}" if epoch else "no epoch finished yet"
        raise LandmarkError(f"{path}: training in progress or interrupted: {done}; "
                            f"rerun train to resume")
    for name in (MODEL_FILE, CONFIG_FILE):
        if not (path / name).exists():
            raise FileNotFoundError(f"{path}: not a model folder, {name} is missing")
    return read_run_json(path / CONFIG_FILE)
