"""``make report``: run the notebooks in order, write the report's numbers, build the PDF.

    python -m landmarklib report --profile smoke      (or: make report PROFILE=smoke)

1. **Notebooks** (``landmarklib.runner``). Every numbered notebook runs in
   name order with papermill, ``03_train`` once per model version; the first
   failing notebook stops the run, naming the notebook, the cell and the error.
2. **Numbers** (``landmarklib.latex``, ``landmarklib.findings``).
   ``report/generated/*.tex`` is written from the ``results.json`` of the
   profile's runs (``landmarklib.results``): the results tables, one
   ``\\newcommand`` per number the text quotes, and the computed findings of
   the Discussion; figures and tables from another profile are warned about
   (``landmarklib.consistency``).
3. **PDF** (here). ``latexmk`` builds ``report/main.pdf``; without LaTeX the run
   still succeeds and says what to install (or to upload report/ to Overleaf).

This module is the entry point (``make_report``, ``build``) and re-exports what
the notebooks, the Makefile and the tests use as ``lm.report.<name>``.

Trained models are cached (``landmarklib.train``), so a second ``make report``
with nothing changed only re-draws figures. See report/README.md.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ..core.config import resolve_profile
from .consistency import PROFILE_ENV, warn_mixed_profiles
from .findings import write_findings
from .generated import write_generated
from .results import VERSION_LABELS, markdown_results, results_frame, versions_frame
from .runner import (EXECUTED, NOTEBOOK_PATTERN, NOTEBOOKS, REPORT, TRAIN_NOTEBOOK, TRAIN_VERSIONS,
                     describe_failure, left_out_versions, plan, run_notebooks)

# lm.report.<name>: the entry points and what notebooks (versions_frame,
# results_frame), the README (markdown_results) and tests use from the parts.
__all__ = [
    "EXECUTED", "LATEX_FAILED", "LATEX_PACKAGES", "NOTEBOOKS", "NOTEBOOK_FAILED",
    "NOTEBOOK_PATTERN", "OK", "REPORT", "TRAIN_NOTEBOOK", "TRAIN_VERSIONS", "VERSION_LABELS",
    "build", "build_pdf", "describe_failure", "install_hint", "latex_available", "latex_warnings",
    "left_out_versions", "make_report", "markdown_results", "plan", "results_frame",
    "versions_frame", "write_generated",
]

# --- LaTeX ----------------------------------------------------------------------
LATEX_TOOLS = ("latexmk", "pdflatex")
LATEX_PACKAGES = ("texlive-latex-base", "texlive-latex-recommended",
                  "texlive-fonts-recommended", "latexmk", "lmodern")
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error")
LOG_TAIL_LINES = 25

# Exit codes of make_report.
OK, NOTEBOOK_FAILED, LATEX_FAILED = 0, 1, 2


# === latexmk ==============================================================================

def latex_available():
    """The LaTeX tools that are missing (empty if the PDF can be built)."""
    return [tool for tool in LATEX_TOOLS if shutil.which(tool) is None]


def install_hint(report_dir=REPORT):
    """What to do without LaTeX: the apt-get line, or Overleaf."""
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
    os.environ[PROFILE_ENV] = profile  # every figure the notebooks save records it
    left_out = left_out_versions()
    for version, why in left_out.items():
        print(f"report: {version} is not trained here: {why}", flush=True)
    jobs = plan(profile, notebooks_dir, build_dir, report_dir, only, left_out=left_out)
    print(f"report, profile {profile}: {len(jobs)} notebook runs from {notebooks_dir}", flush=True)
    failed = run_notebooks(jobs, cwd=Path(notebooks_dir))
    if failed:
        print(describe_failure(*failed), file=sys.stderr, flush=True)
        return NOTEBOOK_FAILED
    return _build(profile, report_dir, models_dir, pdf)


def build(profile="auto", report_dir=REPORT, models_dir=None, pdf=True):
    """Write report/generated/ from the runs on disk and build the PDF (no notebooks).

    What ``make pdf`` runs; returns OK or LATEX_FAILED. Without LaTeX it says
    what to install and returns OK.

    Args:
        profile: "smoke", "cpu", "full" or "auto" (full with a GPU, cpu without).
        report_dir: the LaTeX folder (figures/, generated/, main.tex).
        models_dir: where the tables read the runs from (default ``config.MODELS``).
        pdf: build the PDF (if LaTeX is installed).
    """
    return _build(resolve_profile(profile), report_dir, models_dir, pdf)


def _build(profile, report_dir, models_dir, pdf):
    """``build`` with `profile` resolved already (a name of ``config.PROFILES``)."""
    report_dir = Path(report_dir)
    for path in write_generated(profile, report_dir / "generated", models_dir):
        print(f"wrote {path}")
    for path in write_findings(report_dir / "generated", profile, models_dir):
        print(f"wrote {path}")
    warn_mixed_profiles(report_dir, profile)
    if not pdf:
        return OK
    missing = latex_available()
    if missing:
        print(f"{' and '.join(missing)} not found.\n" + install_hint(report_dir))
        return OK
    return build_pdf(report_dir)
