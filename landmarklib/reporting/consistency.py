"""Do the report's figures and tables come from one profile?

Every figure written by ``plots.save_figure`` has a sidecar ``<name>.json``
that records the profile it was drawn for (``$LANDMARKLIB_PROFILE``, which
the report runner sets for the notebooks). Every generated table names its
profile in its first comment line. ``check_profiles`` compares them with the
profile of the build; ``warn_mixed_profiles`` prints one warning per
mismatch (the PDF build calls it before LaTeX runs).
"""
import json
import re
import sys
from pathlib import Path

PROFILE_ENV = "LANDMARKLIB_PROFILE"    # set by the report runner, read by save_figure
UNKNOWN = "unknown"
# How a generated table names its profile: "for profile cpu" or "models/*-cpu/".
TABLE_PROFILE = re.compile(r"for profile (\w+)|models/\*-(\w+)/")


def figure_profiles(figures_dir):
    """Dict figure name -> profile, from the sidecars (UNKNOWN for a figure without one).

    Args:
        figures_dir: the report's ``figures/`` folder.
    """
    out = {}
    for pdf in sorted(Path(figures_dir).glob("*.pdf")):
        sidecar = pdf.with_suffix(".json")
        try:
            out[pdf.stem] = json.loads(sidecar.read_text()).get("profile") or UNKNOWN
        except (OSError, ValueError):
            out[pdf.stem] = UNKNOWN
    return out


def table_profiles(generated_dir):
    """Dict generated file name -> the profile its header names (files naming none left out).

    Args:
        generated_dir: the report's ``generated/`` folder.
    """
    out = {}
    for path in sorted(Path(generated_dir).glob("*.tex")):
        with open(path, errors="replace") as f:
            header = "".join(line for _, line in zip(range(3), f) if line.startswith("%"))
        found = TABLE_PROFILE.search(header)
        if found:
            out[path.name] = found.group(1) or found.group(2)
    return out


def check_profiles(report_dir, profile):
    """One line per figure or table whose profile is not `profile`.

    Args:
        report_dir: the folder with ``figures/`` and ``generated/``.
        profile: the profile the build is for.
    """
    report_dir = Path(report_dir)
    problems = []
    for name, found in figure_profiles(report_dir / "figures").items():
        if found == UNKNOWN:
            problems.append(f"figures/{name}.pdf records no profile (drawn outside "
                            f"`make report`?); the tables are from {profile}")
        elif found != profile:
            problems.append(f"figures/{name}.pdf was drawn for profile {found}, "
                            f"the tables are from {profile}")
    for name, found in table_profiles(report_dir / "generated").items():
        if found != profile:
            problems.append(f"generated/{name} is from profile {found}, not {profile}")
    return problems


def warn_mixed_profiles(report_dir, profile, stream=None):
    """Print a warning per mismatch (see ``check_profiles``); returns the warnings.

    Args:
        report_dir: the folder with ``figures/`` and ``generated/``.
        profile: the profile the build is for.
        stream: where to print (default stderr).
    """
    problems = check_profiles(report_dir, profile)
    for line in problems:
        print(f"warning: mixed profiles: {line}", file=stream or sys.stderr)
    return problems
