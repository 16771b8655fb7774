"""Run the course's notebooks in order with papermill, and say clearly which one failed.

Every numbered notebook ``notebooks/NN_*.ipynb`` runs in name order;
``03_train`` is a template run once per model version (``TRAIN_VERSIONS``).
Executed copies, with their outputs, go to ``build/notebooks/`` (e.g.
``03_train_v4.ipynb``); the committed notebooks stay output-free. The first
failing notebook stops the run and ``describe_failure`` names the notebook,
the cell and the error. Each finished job's wall time and the machine's load
average before and after it go to ``build/notebooks/timing.json``
(``record_timing``), which the README's report-time table reads.
``landmarklib.report.make_report`` drives it.
"""
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import config
from ..core.errors import LandmarkError
from ..core.files import read_json, write_json
from ..training import models, runs
from .execute import execute_notebook

NOTEBOOKS = config.ROOT / "notebooks"
REPORT = config.ROOT / "report"
EXECUTED = config.BUILD / "notebooks"
TIMING = "timing.json"       # in the executed copies' folder: {job: seconds, load, profile}
NOTEBOOK_PATTERN = "[0-9][1-9]_*.ipynb"  # 00_colab_report runs the report itself: not part of it   # the numbered notebooks of the course
TRAIN_NOTEBOOK = "03_train"
TRAIN_VERSIONS = tuple(models.REGISTRY)  # v1, v2, v3, v4, v5, heatmap, transfer, v6
KERNEL = "python3"
KERNEL_START_TIMEOUT = 180   # seconds; TensorFlow kernels start slowly on busy CPUs
# Longest a single cell may run, per profile (None: no limit), unless the cell's
# metadata gives its own budget (execute.CELL_METADATA: the widget cells). A cell
# past it fails the notebook instead of hanging the report; a timed-out notebook
# is run once more in a fresh kernel before the report gives up.
CELL_TIMEOUT = {"smoke": 900, "cpu": 7200, "full": 4 * 3600}  # full: 100 epochs of one version on a Colab T4 fit; a hung kernel stops
RETRIES_AFTER_TIMEOUT = 1
# Parameters a notebook receives if its `parameters` cell declares them.
# interactive=False: a headless run has no browser (no live widgets, no camera).
OPTIONAL_PARAMETERS = ("figures_dir", "generated_dir", "interactive")
# The host Keras downloads the transfer backbone's ImageNet weights from
# (keras.applications' WEIGHTS_PATH): ``transfer_weights_missing`` tries it.
KERAS_WEIGHTS_HOST = ("storage.googleapis.com", 443)


@dataclass
class Job:
    """One papermill execution: a notebook, its parameters, the executed copy."""

    name: str
    source: Path
    output: Path
    parameters: dict = field(default_factory=dict)


def transfer_weights_missing(weights=None, timeout=3.0):
    """Why the transfer backbone would start from random weights here; None if it would not.

    "none" is a choice, not a lack (None). A weights file must exist. "imagenet"
    needs the file in Keras's cache (``runs.keras_weights_file``) or a connection to
    the host Keras downloads it from (``KERAS_WEIGHTS_HOST``), tried once.

    Args:
        weights: "imagenet", a path or "none"; default ``config.TRANSFER_WEIGHTS``.
        timeout: seconds to wait for the connection.
    """
    source = runs.transfer_weights_source(weights)
    if source.startswith("file-missing:"):
        return f"its weights file {source.split(':', 1)[1]} does not exist"
    if source != "imagenet:download":
        return None
    host, port = KERAS_WEIGHTS_HOST
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        return (f"no ImageNet weights: none in {runs.keras_weights_file().parent} and {host} "
                f"cannot be reached ({type(err).__name__})")
    return None


def left_out_versions():
    """{version: why} for the versions ``make report`` does not train on this machine.

    Only ``transfer``, and only when its backbone would start from random weights
    (``transfer_weights_missing``: offline, with no ImageNet weights in Keras's
    cache). MobileNetV3 trained from scratch is no transfer learning: at ``cpu`` it
    took 5 of the report's minutes to reach 16 % NME (issue 24). Online, on Colab
    for instance, Keras downloads the weights and ``transfer`` is trained.
    """
    why = transfer_weights_missing()
    return {name: why for name, spec in models.REGISTRY.items()
            if why and spec.builder == "transfer"}


def plan(profile, notebooks_dir=NOTEBOOKS, build_dir=EXECUTED, report_dir=REPORT, only=None,
         left_out=None):
    """The jobs of a report run, in order (``03_train`` once per version).

    Args:
        profile: the profile every notebook runs with.
        only: keep the jobs whose name contains one of these strings
            (``["03_train_v4"]``, ``["explore"]``).
        left_out: versions not to train (default ``left_out_versions()``).
    """
    left_out = left_out_versions() if left_out is None else left_out
    notebooks_dir, build_dir, report_dir = Path(notebooks_dir), Path(build_dir), Path(report_dir)
    sources = sorted(notebooks_dir.glob(NOTEBOOK_PATTERN))
    if not sources:
        raise FileNotFoundError(f"{notebooks_dir}: no numbered notebooks ({NOTEBOOK_PATTERN})")
    shared = {"profile": profile, "figures_dir": str((report_dir / "figures").resolve()),
              "generated_dir": str((report_dir / "generated").resolve()), "interactive": False}
    jobs = []
    for source in sources:
        declared = _declared_parameters(source)
        params = {"profile": profile}
        params.update({k: shared[k] for k in OPTIONAL_PARAMETERS if k in declared})
        if source.stem == TRAIN_NOTEBOOK:
            jobs += [Job(f"{source.stem}_{v}", source, build_dir / f"{source.stem}_{v}.ipynb",
                         {**params, "model_version": v})
                     for v in TRAIN_VERSIONS if v not in left_out]
        else:
            jobs.append(Job(source.stem, source, build_dir / source.name, params))
    if only:
        jobs = [j for j in jobs if any(word in j.name for word in only)]
        if not jobs:
            raise LandmarkError(f"--only {only}: matches no notebook in {notebooks_dir}")
    return jobs


def _declared_parameters(path):
    """Names in the notebook's `parameters` cell (empty if it has none)."""
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def run_notebook(job, cwd):
    """Execute one job with papermill (``execute``: a hang fails fast); raises on failure.

    A cell past its budget, or whose reply never came, raises ``execute.CellHung``
    (a TimeoutError); the notebook then runs once more in a fresh kernel.
    """
    job.output.parent.mkdir(parents=True, exist_ok=True)
    timeout = CELL_TIMEOUT.get(job.parameters.get("profile"), CELL_TIMEOUT["cpu"])
    for attempt in range(RETRIES_AFTER_TIMEOUT + 1):
        try:
            execute_notebook(job.source, job.output, parameters=job.parameters, kernel_name=KERNEL,
                             cwd=cwd, cell_timeout=timeout, start_timeout=KERNEL_START_TIMEOUT,
                             log_output=True, progress_bar=sys.stderr.isatty())
            return
        except TimeoutError as error:  # execute.CellHung
            if attempt == RETRIES_AFTER_TIMEOUT:
                raise
            print(f"    {job.name}: {error}; running the notebook again", flush=True)


def describe_failure(job, error):
    """A few lines saying which notebook and cell failed, and why."""
    from papermill.exceptions import PapermillExecutionError

    params = ", ".join(f"{k}={v}" for k, v in job.parameters.items()
                       if k not in OPTIONAL_PARAMETERS)
    lines = [f"FAILED: notebook {job.source.name} ({params})"]
    if isinstance(error, PapermillExecutionError):
        cell = _source_cell_number(job.source, error.source)
        where = f"cell {cell} of {job.source.name}" if cell else f"cell {error.cell_index + 1}"
        first = next((s for s in error.source.splitlines() if s.strip()), "")
        lines += [f"  in {where} (In [{error.exec_count}] of the executed copy): {first.strip()}",
                  f"  {error.ename}: {error.evalue}"]
    else:
        lines += [f"  {type(error).__name__}: {error}"]
    lines.append(f"  executed copy with the full traceback: {job.output}")
    return "\n".join(lines)


def _source_cell_number(source, cell_source):
    """1-based number of the cell with this source in the committed notebook."""
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.source == cell_source:
            return number
    return None


def _log_papermill_output():
    """Show the cells' output as they run (papermill logs it at INFO)."""
    logger = logging.getLogger("papermill")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("    %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def run_notebooks(jobs, cwd):
    """Run the jobs in order; returns the failed (job, error) or None."""
    _log_papermill_output()
    start = time.perf_counter()
    for i, job in enumerate(jobs, start=1):
        print(f"[{i}/{len(jobs)}] {job.name} -> {job.output}", flush=True)
        t0, load = time.perf_counter(), load_average()
        try:
            run_notebook(job, cwd)
        except Exception as error:  # papermill's, a missing kernel, ...: all end the run
            print(f"[{i}/{len(jobs)}] {job.name} failed after {format_duration(time.perf_counter() - t0)}",
                  flush=True)
            return job, error
        print(f"[{i}/{len(jobs)}] {job.name} done in {format_duration(time.perf_counter() - t0)} "
              f"(total {format_duration(time.perf_counter() - start)})", flush=True)
        record_timing(job, time.perf_counter() - t0, load, load_average())
    return None


def load_average():
    """The machine's 1-minute load average (NaN where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def record_timing(job, seconds, load_start, load_end):
    """Add a finished job to ``timing.json`` beside its executed copy (others are kept).

    Args:
        job: the ``Job``; seconds: its wall time; load_start, load_end: the
            1-minute load average before and after it.
    """
    path = Path(job.output).parent / TIMING
    saved = read_json(path) if path.exists() else {}
    saved[job.name] = {"seconds": round(seconds, 1), "profile": job.parameters.get("profile"),
                       "finished": time.strftime("%Y-%m-%d %H:%M"),
                       "load_start": round(load_start, 2), "load_end": round(load_end, 2),
                       "cores": os.cpu_count()}
    write_json(saved, path)


def format_duration(seconds):
    """Seconds in the unit that reads best: "45 s", "12.5 min", "2.1 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
