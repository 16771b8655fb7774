"""``make report``: run the notebooks in order, write the report's numbers, build the PDF.

    python -m landmarklib report --profile smoke      (or: make report PROFILE=smoke)

1. **Notebooks.** Every numbered notebook ``notebooks/NN_*.ipynb`` runs in
   name order with papermill; ``03_train`` is a template run once per model
   version (``TRAIN_VERSIONS``). Executed copies, with their outputs, go to
   ``build/notebooks/`` (e.g. ``03_train_v4.ipynb``); the committed notebooks
   stay output-free. The first failing notebook stops the run and the message
   names the notebook, the cell and the error.
2. **Numbers.** ``report/generated/*.tex`` is written from the ``results.json``
   of the profile's runs (``models/<version>-<profile>/``): the results
   tables and one ``\\newcommand`` per number the text quotes. A version that
   has not been trained shows "not run", so a partial report still compiles.
3. **PDF.** ``latexmk`` builds ``report/main.pdf``; without LaTeX the run
   still succeeds and says what to install (or to upload report/ to Overleaf).

Trained models are cached (``landmarklib.train``), so a second ``make report``
with nothing changed only re-draws figures. See report/README.md.
"""
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import config
from ..core.files import atomic_path, read_json
from ..data import registry
from ..evaluation.tables import latex_escape
from ..training import models

# --- what runs, and where -----------------------------------------------------
NOTEBOOKS = config.ROOT / "notebooks"
REPORT = config.ROOT / "report"
EXECUTED = config.BUILD / "notebooks"
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"   # the numbered notebooks of the course
TRAIN_NOTEBOOK = "03_train"
TRAIN_VERSIONS = tuple(models.REGISTRY)  # v1, v2, v3, v4, heatmap, transfer
KERNEL = "python3"
KERNEL_START_TIMEOUT = 180   # seconds; TensorFlow kernels start slowly on busy CPUs
# Longest a single cell may run, per profile (None: no limit). A cell that runs
# past it fails the notebook instead of hanging the report (a lost kernel
# message leaves papermill waiting forever); a timed-out notebook is run once
# more in a fresh kernel before the report gives up.
CELL_TIMEOUT = {"smoke": 900, "cpu": 7200, "full": None}
RETRIES_AFTER_TIMEOUT = 1
# Parameters a notebook receives if its `parameters` cell declares them.
# interactive=False: no live ipywidgets in a headless run (nbclient can wait forever on a widget's messages).
OPTIONAL_PARAMETERS = ("figures_dir", "generated_dir", "interactive")

# Exit codes of make_report.
OK, NOTEBOOK_FAILED, LATEX_FAILED = 0, 1, 2

# --- LaTeX ----------------------------------------------------------------------
LATEX_TOOLS = ("latexmk", "pdflatex")
LATEX_PACKAGES = ("texlive-latex-base", "texlive-latex-recommended",
                  "texlive-fonts-recommended", "latexmk", "lmodern")
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error")
LOG_TAIL_LINES = 25

# --- generated tables -----------------------------------------------------------
TEST_SPLITS = {"test": "YouTube-Faces test", "test_mtfl": "MTFL test"}
# metric -> (column header, formatter); percentages are shown as percent.
METRICS = {
    "rmse": ("RMSE", lambda v: f"{v:.2f}"),
    "mae": ("MAE", lambda v: f"{v:.2f}"),
    "nme": ("NME", lambda v: f"{v:.2f}"),
    "pck": ("PCK", lambda v: f"{100 * v:.1f}"),
    "failure_rate": ("fail", lambda v: f"{100 * v:.1f}"),
}
# Units of the numbers quoted in the text (the tables put them in the header).
UNITS = {"rmse": r"\,px", "mae": r"\,px", "nme": r"\,\%", "pck": r"\,\%", "failure_rate": r"\,\%"}
# Split names in macro names: letters only (\VfourTestRmse, \VfourMtflNme, ...).
SPLIT_MACRO = {"val": "Val", "val_flip": "ValFlip", "test": "Test", "test_flip": "TestFlip",
               "test_mtfl": "Mtfl", "test_mtfl_flip": "MtflFlip"}
METRIC_MACRO = {"rmse": "Rmse", "mae": "Mae", "nme": "Nme", "pck": "Pck", "failure_rate": "Fail"}
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# How tables name a version: V1..V4 as in the original project, the others as they are.
VERSION_LABELS = {v: v.upper() if v[1:].isdigit() else v for v in models.REGISTRY}
DATA_DESCRIPTIONS = {
    "faces15": "YouTube-Faces (Udacity download, 15 keypoints mapped from iBUG's 68) "
               "and MTFL (5 keypoints labelled, 10 missing)",
    "kaggle": "the Kaggle Facial Keypoints Detection training.csv",
}
# Each version is compared with the one it changes (\ChangeVtwoTestNme: "0.12 points lower").
COMPARED_WITH = {"v2": "v1", "v3": "v2", "v4": "v3", "heatmap": "v4", "transfer": "v4"}
NOT_RUN = r"\emph{not run}"
MISSING = "--"


# === Notebooks ====================================================================

@dataclass
class Job:
    """One papermill execution: a notebook, its parameters, the executed copy."""

    name: str
    source: Path
    output: Path
    parameters: dict = field(default_factory=dict)


def plan(profile, notebooks_dir=NOTEBOOKS, build_dir=EXECUTED, report_dir=REPORT, only=None):
    """The jobs of a report run, in order (``03_train`` once per version).

    ``only``: keep the jobs whose name contains one of these strings
    (``["03_train_v4"]``, ``["explore"]``).
    """
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
                         {**params, "model_version": v}) for v in TRAIN_VERSIONS]
        else:
            jobs.append(Job(source.stem, source, build_dir / source.name, params))
    if only:
        jobs = [j for j in jobs if any(word in j.name for word in only)]
        if not jobs:
            raise ValueError(f"--only {only}: matches no notebook in {notebooks_dir}")
    return jobs


def _declared_parameters(path):
    """Names in the notebook's `parameters` cell (empty if it has none)."""
    import papermill

    return set(papermill.inspect_notebook(str(path)))


def run_notebook(job, cwd):
    """Execute one job with papermill; raises papermill's errors on failure."""
    import papermill

    job.output.parent.mkdir(parents=True, exist_ok=True)
    timeout = CELL_TIMEOUT.get(job.parameters.get("profile"), CELL_TIMEOUT["cpu"])
    for attempt in range(RETRIES_AFTER_TIMEOUT + 1):
        try:
            papermill.execute_notebook(
                str(job.source), str(job.output), parameters=job.parameters, kernel_name=KERNEL,
                cwd=str(cwd), log_output=True, progress_bar=sys.stderr.isatty(),
                start_timeout=KERNEL_START_TIMEOUT, execution_timeout=timeout)
            return
        except TimeoutError:  # nbclient's CellTimeoutError
            if attempt == RETRIES_AFTER_TIMEOUT:
                raise
            print(f"    {job.name}: a cell ran past {timeout} s; running the notebook again",
                  flush=True)


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
        t0 = time.perf_counter()
        try:
            run_notebook(job, cwd)
        except Exception as error:  # papermill's, a missing kernel, ...: all end the run
            print(f"[{i}/{len(jobs)}] {job.name} failed after {_duration(time.perf_counter() - t0)}",
                  flush=True)
            return job, error
        print(f"[{i}/{len(jobs)}] {job.name} done in {_duration(time.perf_counter() - t0)} "
              f"(total {_duration(time.perf_counter() - start)})", flush=True)
    return None


def _duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# === Results of the runs ============================================================

def resolve_profile(profile):
    """"auto" -> ``config.default_profile()``; other names are checked."""
    if profile in (None, "auto"):
        return config.default_profile()
    if profile not in config.PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose auto or one of {sorted(config.PROFILES)}")
    return profile


def collect_results(profile, models_dir=None, versions=TRAIN_VERSIONS):
    """Dict version -> (results.json, config.json) of ``models/<version>-<profile>``; None if missing."""
    models_dir = Path(models_dir or config.MODELS)
    out = {}
    for version in versions:
        run_dir = models_dir / f"{version}-{profile}"
        if (run_dir / "results.json").exists() and (run_dir / "config.json").exists():
            out[version] = (read_json(run_dir / "results.json"), read_json(run_dir / "config.json"))
        else:
            out[version] = None
    return out


def results_frame(results, splits=None):
    """One run's metrics as a table: a row per split, a column per metric."""
    splits = splits or list(results["splits"])
    rows = {}
    for split in splits:
        metrics = results["splits"].get(split)
        if metrics:
            rows[split] = {m: metrics.get(m) for m in (*METRICS, "images")}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame.rename_axis(f"{results['version']} ({results['profile']})")


def markdown_results(profile):
    """The README's results table (Markdown) from the runs of `profile`.

    ``python -c "import landmarklib as lm; print(lm.report.markdown_results('cpu'))"``
    """
    lines = ["| version | change | YTF test RMSE px | YTF test NME % | YTF test with flip NME % "
             "| MTFL test NME % | val MAE px | params | train min |",
             "|---|---|---|---|---|---|---|---|---|"]
    for version, found in collect_results(profile).items():
        if found is None:
            lines.append(f"| {version} | {models.get_version(version).description} | not run "
                         "| | | | | | |")
            continue
        r, s = found[0], found[0]["splits"]
        lines.append(
            f"| {version} | {r['description']} | {s['test']['rmse']:.2f} | {s['test']['nme']:.2f} "
            f"| {s['test_flip']['nme']:.2f} | {s['test_mtfl']['nme']:.2f} | {s['val']['mae']:.2f} "
            f"| {r['parameters'] / 1e6:.2f} M | {r['train_seconds'] / 60:.1f} |")
    return "\n".join(lines)


def versions_frame():
    """What each model version changes (from ``models.REGISTRY``)."""
    return pd.DataFrame([{"version": VERSION_LABELS.get(v.name, v.name), "builder": v.builder,
                          "rows": "complete only" if v.complete_rows_only else "all (masked)",
                          "augment": v.augment, "change": v.description}
                         for v in models.REGISTRY.values()]).set_index("version")


# === Generated LaTeX ===================================================================

def macro_name(*parts):
    """``("v4", "test", "rmse")`` -> ``"VfourTestRmse"``: letters only, as TeX needs."""
    words = []
    for part in parts:
        for piece in re.split(r"[_\W]+", str(part)):
            piece = re.sub(r"\d", lambda m: DIGIT_WORDS[int(m.group())], piece)
            if piece:
                words.append(piece[0].upper() + piece[1:])
    name = "".join(words)
    if not re.fullmatch(r"[A-Za-z]+", name):
        raise ValueError(f"cannot make a TeX macro name from {parts!r} (got {name!r})")
    return name


def _with_unit(metric, value):
    """A metric as the text quotes it: "3.21\\,px", "12.40\\,\\%"; "--" if undefined."""
    text = _fmt(metric, value)
    return text if text == MISSING else text + UNITS[metric]


def _newcommand(name, value, comment=None):
    line = f"\\newcommand{{\\{name}}}{{{value}}}"
    return f"{line}  % {comment}" if comment else line


def _fmt(metric, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return METRICS[metric][1](value)


def format_count(n):
    """3541822 -> '3.54\\,M'; 12345 -> '12.3\\,k'."""
    if n >= 1e6:
        return f"{n / 1e6:.2f}\\,M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}\\,k"
    return str(int(n))


def format_seconds(seconds):
    """Training time in the unit that reads best (s, min or h)."""
    return _duration(seconds).replace(" ", r"\,")


def results_table_tex(found, profile):
    """The main results table: test metrics per version on both test sets."""
    metric_cols = "r" * len(METRICS)
    lines = [
        "% Generated by landmarklib.report from models/*-" + profile + "/results.json. Do not edit.",
        r"\begin{table}[tbp]",
        r"\centering\small\setlength{\tabcolsep}{3pt}",
        rf"\caption{{Test results of every model version (profile \texttt{{{latex_escape(profile)}}}). "
        r"RMSE and MAE in pixels of the $96\times96$ crop; NME in percent of the "
        r"inter-ocular distance; PCK: percentage of keypoints within \PckThreshold\,px; fail: "
        r"percentage of images with NME above \FailureNme\,\%. Lower is better except PCK.}",
        r"\label{tab:results}",
        rf"\begin{{tabular}}{{l{metric_cols}@{{\hspace{{8pt}}}}{metric_cols}rr}}",
        r"\toprule",
        " & " + " & ".join(rf"\multicolumn{{{len(METRICS)}}}{{c}}{{{title}}}"
                           for title in TEST_SPLITS.values()) + r" & & \\",
        "".join(rf"\cmidrule(lr){{{2 + i * len(METRICS)}-{1 + (i + 1) * len(METRICS)}}}"
                for i in range(len(TEST_SPLITS))),
        "version & " + " & ".join(h for _ in TEST_SPLITS for h, _f in METRICS.values())
        + r" & params & time \\",
        r"\midrule",
    ]
    width = len(TEST_SPLITS) * len(METRICS) + 2
    for version, run in found.items():
        label = VERSION_LABELS[version]
        if run is None:
            lines.append(rf"{label} & \multicolumn{{{width}}}{{c}}{{{NOT_RUN}}} \\")
            continue
        results = run[0]
        cells = [_fmt(m, results["splits"].get(s, {}).get(m)) for s in TEST_SPLITS for m in METRICS]
        cells += [format_count(results["parameters"]), format_seconds(results["train_seconds"])]
        lines.append(f"{label} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def flip_table_tex(found, profile):
    """Test-time flip: NME with and without averaging over the mirrored image."""
    lines = [
        "% Generated by landmarklib.report. Do not edit.",
        r"\begin{table}[tbp]", r"\centering\small",
        rf"\caption{{Test-time flip augmentation (profile \texttt{{{latex_escape(profile)}}}): "
        r"NME in percent without and with averaging the prediction of the mirrored image.}",
        r"\label{tab:flip}",
        r"\begin{tabular}{lrrrr}", r"\toprule",
        r" & \multicolumn{2}{c}{YouTube-Faces test} & \multicolumn{2}{c}{MTFL test} \\",
        r"\cmidrule(lr){2-3}\cmidrule(lr){4-5}",
        r"version & plain & flip & plain & flip \\", r"\midrule",
    ]
    for version, run in found.items():
        label = VERSION_LABELS[version]
        if run is None:
            lines.append(rf"{label} & \multicolumn{{4}}{{c}}{{{NOT_RUN}}} \\")
            continue
        splits = run[0]["splits"]
        cells = [_fmt("nme", splits.get(s, {}).get("nme"))
                 for s in ("test", "test_flip", "test_mtfl", "test_mtfl_flip")]
        lines.append(f"{label} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def versions_table_tex():
    """What each version changes, from ``models.REGISTRY``."""
    lines = ["% Generated by landmarklib.report from landmarklib.models.REGISTRY. Do not edit.",
             r"\begin{tabular}{lllll}", r"\toprule",
             r"version & network & training rows & augmentation & the change \\", r"\midrule"]
    for version, row in versions_frame().iterrows():
        cells = [version, row["builder"], row["rows"], row["augment"], row["change"]]
        lines.append(" & ".join(latex_escape(c) for c in cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def _recipe_cell(recipe, fields):
    """One augmenter's ranges in a recipe, e.g. "zoom 0.9--1.1, shift $\\pm$5\\,\\%"; "--" if off."""
    from ..data import augment

    default = augment.NONE
    parts = []
    for name in fields:
        value = getattr(recipe, name)
        if value == getattr(default, name):
            continue
        if name in ("blur_sigma", "cutout_size") and not getattr(recipe, name.split("_")[0]):
            continue
        parts.append(RECIPE_FORMATS[name](value))
    return ", ".join(parts) or MISSING


RECIPE_FORMATS = {
    "rotation": lambda v: rf"$\pm{v:g}^\circ$",
    "flip": lambda v: rf"$p={v:g}$",
    "scale": lambda v: rf"zoom {v[0]:g}--{v[1]:g}",
    "shift": lambda v: rf"shift $\pm{100 * v:g}\,\%$",
    "perspective": lambda v: rf"corners $\pm{100 * v:g}\,\%$",
    "brightness": lambda v: rf"$\pm{v:g}$",
    "contrast": lambda v: rf"contrast {v[0]:g}--{v[1]:g}",
    "gamma": lambda v: rf"{v[0]:g}--{v[1]:g}",
    "blur": lambda v: rf"$p={v:g}$",
    "blur_sigma": lambda v: rf"$\sigma$ {v[0]:g}--{v[1]:g}\,px",
    "noise": lambda v: rf"$\sigma\le{v:g}$",
    "cutout": lambda v: rf"$p={v:g}$",
    "cutout_size": lambda v: rf"sides {v[0]:g}--{v[1]:g}",
}


def augment_table_tex():
    """The augmentation recipes the model versions use (from ``augment.RECIPES``)."""
    from ..data import augment

    names = sorted({v.augment for v in models.REGISTRY.values()} - {"none"})
    lines = ["% Generated by landmarklib.report from landmarklib.augment.RECIPES. Do not edit.",
             r"\begin{tabular}{l" + "l" * len(names) + "}", r"\toprule",
             "augmenter & " + " & ".join(rf"\texttt{{{n}}}" for n in names) + r" \\",
             r"\midrule"]
    for augmenter, fields in augment.AUGMENTERS.items():
        cells = [_recipe_cell(augment.RECIPES[n], fields) for n in names]
        if all(c == MISSING for c in cells):
            continue
        lines.append(latex_escape(augmenter) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def results_macros_tex(found):
    """``\\newcommand`` for every number the text quotes; "not run" where missing."""
    lines = ["% Generated by landmarklib.report from models/*/results.json. Do not edit.",
             r"\providecommand{\notrun}{\emph{not run}}"]
    for version, run in found.items():
        results = run[0] if run else None
        lines.append(f"% {version}")
        for split, split_name in SPLIT_MACRO.items():
            for metric, metric_name in METRIC_MACRO.items():
                name = macro_name(version, split_name, metric_name)
                if results is None:
                    value = r"\notrun"
                else:
                    value = _with_unit(metric, results["splits"].get(split, {}).get(metric))
                lines.append(_newcommand(name, value))
        extras = {
            "Params": lambda r: format_count(r["parameters"]),
            "TrainTime": lambda r: format_seconds(r["train_seconds"]),
            "Epochs": lambda r: str(r["epochs"]),
            "TrainImages": lambda r: str(r["train_images"]),
            "ImagesPerSecond": lambda r: f"{r['images_per_second']:.0f}",
        }
        for suffix, get in extras.items():
            lines.append(_newcommand(macro_name(version, suffix),
                                     get(results) if results else r"\notrun"))
    lines += _best_macros(found) + _change_macros(found)
    return "\n".join(lines) + "\n"


def _best_macros(found):
    """The version with the lowest YouTube-Faces test NME, and its numbers."""
    scored = {v: run[0]["splits"].get("test", {}).get("nme") for v, run in found.items() if run}
    scored = {v: s for v, s in scored.items() if s is not None}
    lines = ["% best version by YouTube-Faces test NME"]
    if not scored:
        return lines + [_newcommand("BestVersion", r"\notrun")] + [
            _newcommand(macro_name("Best", SPLIT_MACRO[s], METRIC_MACRO[m]), r"\notrun")
            for s in TEST_SPLITS for m in METRICS]
    best = min(scored, key=scored.get)
    splits = found[best][0]["splits"]
    lines.append(_newcommand("BestVersion", VERSION_LABELS[best]))
    lines += [_newcommand(macro_name("Best", SPLIT_MACRO[s], METRIC_MACRO[m]),
                          _with_unit(m, splits.get(s, {}).get(m)))
              for s in TEST_SPLITS for m in METRICS]
    return lines


def _change_macros(found):
    """``\\ChangeVtwoTestNme`` = "0.12 points lower" (than V1), for the text's comparisons."""
    lines = ["% change against the version each one builds on (COMPARED_WITH)"]
    for version, base in COMPARED_WITH.items():
        for split in TEST_SPLITS:
            for metric in ("rmse", "nme"):
                name = macro_name("Change", version, SPLIT_MACRO[split], METRIC_MACRO[metric])
                lines.append(_newcommand(name, _change_text(found, version, base, split, metric)))
    return lines


def _change_text(found, version, base, split, metric):
    if not (found.get(version) and found.get(base)):
        return "n/a"
    new = found[version][0]["splits"].get(split, {}).get(metric)
    old = found[base][0]["splits"].get(split, {}).get(metric)
    if new is None or old is None:
        return MISSING
    diff = float(_fmt(metric, new)) - float(_fmt(metric, old))  # as printed
    unit = "points" if metric == "nme" else r"\,px"
    if abs(diff) < 0.005:
        return "unchanged"
    return f"{abs(diff):.2f}{' ' if unit == 'points' else ''}{unit} {'lower' if diff < 0 else 'higher'}"


def profile_tex(profile, found):
    """Macros naming the profile, its settings and the data behind the numbers."""
    prof = config.get_profile(profile)
    runs = [run for run in found.values() if run]
    datasets = sorted({run[1]["profile"]["dataset"] for run in runs}) or [prof.dataset]
    dataset = datasets[0] if len(datasets) == 1 else ", ".join(datasets)
    describe = "; ".join(DATA_DESCRIPTIONS.get(d, d) for d in datasets)
    reference = next((run[0] for v, run in found.items() if run and v == "v4"),
                     runs[0][0] if runs else None)
    machine = _machine_text(reference["machine"]) if reference else r"\notrun"
    test_images = {s: str(reference["splits"].get(s, {}).get("images", MISSING)) if reference
                   else r"\notrun" for s in TEST_SPLITS}
    values = {
        "ProfileName": rf"\texttt{{{latex_escape(profile)}}}",
        "ProfileDataset": rf"\texttt{{{latex_escape(dataset)}}}",
        "ProfileDataDescription": latex_escape(describe),
        "ProfileEpochs": str(prof.epochs),
        "ProfileVoneEpochs": str(prof.v1_epochs),
        "ProfileBatchSize": str(prof.batch_size),
        "ProfileLearningRate": f"{prof.learning_rate:g}",
        "ProfileLrSchedule": latex_escape(prof.lr_schedule),
        "ProfileLoss": latex_escape(prof.loss),
        "ProfileMaxImages": "all" if prof.max_images is None else str(prof.max_images),
        "ProfileValidationSplit": f"{prof.validation_split:g}",
        "TestPercent": f"{100 * registry.TEST_FRACTION:g}",
        "ValidationPercent": f"{100 * registry.VALIDATION_FRACTION:g}",
        "PckThreshold": f"{prof.pck_threshold:g}",
        "FailureNme": f"{_failure_nme():g}",
        "TrainMachine": machine,
        "TestImages": test_images["test"],
        "MtflTestImages": test_images["test_mtfl"],
        "RunsDone": str(len(runs)),
        "RunsPlanned": str(len(found)),
    }
    lines = [f"% Generated by landmarklib.report for profile {profile}. Do not edit."]
    lines += [_newcommand(name, value) for name, value in values.items()]
    return "\n".join(lines) + "\n"


def _failure_nme():
    from ..core.metrics import FAILURE_NME

    return FAILURE_NME


def _machine_text(machine):
    gpus = machine.get("gpus") or []
    where = f"{len(gpus)} GPU" + ("s" if len(gpus) > 1 else "") if gpus else "no GPU"
    return latex_escape(f"{machine.get('cpu_count', '?')} CPU cores, {where}, "
                        f"TensorFlow {machine.get('tensorflow', '?')}")


def write_generated(profile, generated_dir=None, models_dir=None):
    """Write report/generated/*.tex for `profile`; returns the paths written."""
    generated_dir = Path(generated_dir or config.GENERATED)
    found = collect_results(profile, models_dir)
    texts = {
        "results_table.tex": results_table_tex(found, profile),
        "flip_table.tex": flip_table_tex(found, profile),
        "versions_table.tex": versions_table_tex(),
        "augment_table.tex": augment_table_tex(),
        "results_macros.tex": results_macros_tex(found),
        "profile.tex": profile_tex(profile, found),
    }
    written = []
    for name, text in texts.items():
        path = generated_dir / name
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    missing = [v for v, run in found.items() if run is None]
    if missing:
        print(f"note: no {profile} run of {', '.join(missing)}: the tables say 'not run'")
    return written


# === LaTeX ==============================================================================

def latex_available():
    """The LaTeX tools that are missing (empty if the PDF can be built)."""
    return [tool for tool in LATEX_TOOLS if shutil.which(tool) is None]


def install_hint(report_dir=REPORT):
    return (
        "LaTeX is not installed, so the PDF was not built; the figures and tables are ready in\n"
        f"{report_dir}/figures and {report_dir}/generated. Either\n"
        "  * install it (Debian/Ubuntu, about 63 MB):\n"
        "      sudo apt-get install --no-install-recommends " + " ".join(LATEX_PACKAGES) + "\n"
        "    and run `make report` again (nothing retrains), or\n"
        f"  * upload the folder {report_dir} to Overleaf (see report/README.md).")


def build_pdf(report_dir=REPORT):
    """Run latexmk on report/main.tex; returns OK or LATEX_FAILED (prints why)."""
    report_dir = Path(report_dir)
    print(f"building {report_dir / 'main.pdf'} with latexmk", flush=True)
    proc = subprocess.run([*LATEXMK, "main.tex"], cwd=report_dir, capture_output=True, text=True)
    log = report_dir / "main.log"
    log_text = log.read_text(errors="replace") if log.exists() else proc.stdout
    if proc.returncode != 0:
        errors = [line for line in log_text.splitlines() if line.startswith(("!", "./", "l."))]
        print(f"FAILED: LaTeX could not build {report_dir / 'main.pdf'}:", file=sys.stderr)
        print("\n".join((errors or log_text.splitlines())[-LOG_TAIL_LINES:]), file=sys.stderr)
        print(f"full log: {log}", file=sys.stderr)
        return LATEX_FAILED
    for warning in latex_warnings(log_text):
        print(f"LaTeX warning: {warning}")
    print(f"wrote {report_dir / 'main.pdf'}")
    return OK


def latex_warnings(log_text):
    """Undefined references and overfull boxes from a LaTeX log."""
    pattern = re.compile(r"(LaTeX Warning: (Reference|Citation).*undefined.*|"
                         r"Overfull \\[hv]box \((\d+\.\d+)pt too \w+\).*)")
    return [m.group(0) for m in pattern.finditer(log_text)
            if not m.group(3) or float(m.group(3)) > 1.0]


# === The whole report ===================================================================

def make_report(profile="auto", only=None, notebooks_dir=NOTEBOOKS, build_dir=EXECUTED,
                report_dir=REPORT, models_dir=None, pdf=True):
    """Run the notebooks, write report/generated/, build report/main.pdf; returns an exit code.

    Args:
        profile: "smoke", "cpu", "full" or "auto" (full with a GPU, cpu without).
        only: run only the notebooks whose job name contains one of these strings.
        notebooks_dir, build_dir, report_dir: where the notebooks are, where the
            executed copies go, and the LaTeX folder (figures/, generated/, main.tex).
        models_dir: where the tables read the runs from (default ``config.MODELS``;
            the notebooks use ``config.MODELS``: set LANDMARKLIB_MODELS to move both).
        pdf: build the PDF (if LaTeX is installed).

    Returns OK (0), NOTEBOOK_FAILED (1) or LATEX_FAILED (2).
    """
    profile = resolve_profile(profile)
    report_dir = Path(report_dir)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # kernels: no TensorFlow INFO lines
    jobs = plan(profile, notebooks_dir, build_dir, report_dir, only)
    print(f"report, profile {profile}: {len(jobs)} notebook runs from {notebooks_dir}", flush=True)
    failed = run_notebooks(jobs, cwd=Path(notebooks_dir))
    if failed:
        print(describe_failure(*failed), file=sys.stderr, flush=True)
        return NOTEBOOK_FAILED
    return build(profile, report_dir, models_dir, pdf)


def build(profile="auto", report_dir=REPORT, models_dir=None, pdf=True):
    """Write report/generated/ from the runs on disk and build the PDF (no notebooks).

    What ``make pdf`` runs; returns OK or LATEX_FAILED. Without LaTeX it says
    what to install and returns OK.
    """
    profile = resolve_profile(profile)
    report_dir = Path(report_dir)
    for path in write_generated(profile, report_dir / "generated", models_dir):
        print(f"wrote {path}")
    if not pdf:
        return OK
    missing = latex_available()
    if missing:
        print(f"{' and '.join(missing)} not found.\n" + install_hint(report_dir))
        return OK
    return build_pdf(report_dir)
