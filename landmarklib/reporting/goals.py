"""V6's goals (issue 24), each beside what a real run measured.

Every value comes from a file a run or a benchmark wrote; a goal with no such
file yet says what produces it instead of a number:

* landmark-framed test RMSE / NME: V6's ``results.json`` (``03_train``, ``make climb``);
* real pipeline (photos and videos of test people through the face detector):
  04_evaluate's ``build/findings/<profile>/realworld.csv``, V6's row;
* training time on 2 cores: ``benchmarks/train_speed.py``'s images/s for V6
  (``build/benchmarks/train_speed.json``, with the load average it ran under)
  times the run's epochs and training images; the run's own minutes beside it;
* TFLite ms per face on one core: the same benchmark;
* ``make report`` minutes: ``build/notebooks/timing.json`` (``reporting.runner``),
  only if its last run of the profile included V6.
"""
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core import config
from ..core.files import read_json
from ..inference.photo import MAX_PASSES
from ..training.runs import RunStore
from .latex import latex_escape

VERSION = "v6"
TIMING = Path("notebooks") / "timing.json"        # below the build folder
SPEED = Path("benchmarks") / "train_speed.json"
REALWORLD = "realworld.csv"                      # in build/findings/<profile>/
HEADER = "| goal | target | measured | met | measured by |"


@dataclass(frozen=True)
class Goal:
    """One goal: a number that must stay at or below `limit`."""

    name: str
    limit: float
    unit: str

    @property
    def target(self):
        """"<= 1.10 px", as the issue writes it."""
        return f"<= {self.limit:.2f} {self.unit}" if self.unit == "px" else f"<= {self.limit:g} {self.unit}"


GOALS = (
    Goal("YouTube-Faces test RMSE, landmark-framed", 1.10, "px"),
    Goal("MTFL test NME, landmark-framed", 4.0, "%"),
    Goal("real pipeline: worst median NME (photos YTF, photos MTFL, videos)", 4.5, "%"),
    Goal("real pipeline: worst failure rate (photos, videos)", 3.0, "%"),
    Goal("training time, cpu profile, 2 quiet cores", 15.0, "min"),
    Goal("TFLite inference per face, 1 core", 2.0, "ms"),
    Goal("make report PROFILE=cpu, V6 included", 90.0, "min"),
)


def _load_text(load):
    return "load not recorded" if load is None or load != load else f"load average {load:.1f}"


def speed_records(build_dir=None):
    """({version: record}, load average) that ``benchmarks/train_speed.py`` saved, or ({}, None).

    Args:
        build_dir: the build folder (default ``config.BUILD``).
    """
    path = Path(build_dir or config.BUILD) / SPEED
    if not path.exists():
        return {}, None
    saved = read_json(path)
    return {r["version"]: r for r in saved.get("records", [])}, saved.get("load_average")


def _framed(results, run_name, version, profile):
    """The two landmark-framed goals: V6's test RMSE (YouTube-Faces) and NME (MTFL)."""
    if not results:
        why = f"no run: `python -m landmarklib train --version {version} --profile {profile}`"
        return [(None, why)] * 2
    splits, where = results["splits"], f"`models/{run_name}/results.json`"
    return [(splits["test"]["rmse"], where), (splits["test_mtfl"]["nme"], where)]


def _real_pipeline(build, version, profile):
    """The two real-pipeline goals: the worst median NME and the worst failure rate."""
    path = build / "findings" / profile / REALWORLD
    table = pd.read_csv(path, index_col=0) if path.exists() else None
    if table is None or version not in table.index:
        return [(None, f"not in 04_evaluate's `{REALWORLD}` of `{profile}` yet")] * 2
    row = table.loc[version]
    medians = [f"photos YTF {MAX_PASSES}p", f"photos MTFL {MAX_PASSES}p", "videos"]
    where = (f"`build/findings/{profile}/{REALWORLD}` (`realworld_versions.compare_versions`, "
             f"as 04_evaluate runs it)")
    return [(float(row[medians].max()), where),
            (float(row[["photo failures %", "video failures %"]].max()), where)]


def _speed(build, results, version):
    """The training-time goal (the benchmark's rate x the run's epochs and faces) and TFLite's."""
    records, load = speed_records(build)
    command = f"`python benchmarks/train_speed.py --versions {version}`"
    if version not in records:
        return [(None, f"{command} and V6's run"), (None, command)]
    record = records[version]
    tflite = (record["tflite_ms_one_core"], f"`benchmarks/train_speed.py` ({_load_text(load)})")
    if not results:
        return [(None, f"V6's run (`python -m landmarklib train --version {version}`)"), tflite]
    rate = record["train_images_per_second"]
    minutes = results["epochs"] * results["train_images"] / rate / 60
    return [(minutes, f"`benchmarks/train_speed.py`: {rate:.0f} images/s ({_load_text(load)}) "
                      f"x {results['epochs']} epochs of {results['train_images']} faces; the run "
                      f"itself took {results['train_seconds'] / 60:.1f} min (its load not recorded)"),
            tflite]


def _report_time(build, version, profile):
    """The ``make report`` goal, from the last report of `profile` if it trained `version`."""
    path = build / TIMING
    jobs = {k: t for k, t in read_json(path).items()
            if t.get("profile") == profile} if path.exists() else {}
    if f"03_train_{version}" not in jobs:
        return (None, f"not measured with {version}: `make report PROFILE={profile}`")
    total = sum(t["seconds"] for t in jobs.values()) / 60
    loads = [t["load_end"] for t in jobs.values() if t.get("load_end") is not None]
    where = f"`build/notebooks/timing.json` ({len(jobs)} notebooks"
    return (total, where + (f"; load average up to {max(loads):.1f})" if loads else ")"))


def measurements(profile="cpu", models_dir=None, build_dir=None, version=VERSION):
    """{goal name: (value or None, where it comes from / what would measure it)}.

    Args:
        profile: the profile of the runs (cpu: the goals are set for 2 cores).
        models_dir: the run folders (default ``config.MODELS``).
        build_dir: where findings, benchmarks and timing.json are (default ``config.BUILD``).
        version: the version whose goals these are.
    """
    build = Path(build_dir or config.BUILD)
    store = RunStore(models_dir)
    results = store.results(version, profile)
    values = (_framed(results, store.path(version, profile).name, version, profile)
              + _real_pipeline(build, version, profile) + _speed(build, results, version)
              + [_report_time(build, version, profile)])
    return dict(zip((g.name for g in GOALS), values))


def goals_frame(profile="cpu", models_dir=None, build_dir=None):
    """One row per goal: target, measured value (NaN if none), met (None if unmeasured), source."""
    measured = measurements(profile, models_dir, build_dir)
    rows = []
    for goal in GOALS:
        value, where = measured[goal.name]
        rows.append({"goal": goal.name, "limit": goal.limit, "unit": goal.unit,
                     "target": goal.target,
                     "measured": math.nan if value is None else value,
                     "met": None if value is None else bool(value <= goal.limit),
                     "measured by": where})
    return pd.DataFrame(rows)


def _met_text(met):
    return "not measured" if met is None else ("yes" if met else "no")


def goals_block(profile="cpu", models_dir=None, build_dir=None):
    """The README's goals table (Markdown), every goal a row, or None if none is measured."""
    frame = goals_frame(profile, models_dir, build_dir)
    if frame["met"].isna().all():
        return None
    lines = [HEADER, "|---|---|---|---|---|"]
    for _, r in frame.iterrows():
        value = "--" if pd.isna(r["measured"]) else f"{r['measured']:.2f} {r['unit']}"
        lines.append(f"| {r['goal']} | {r['target']} | {value} | "
                     f"{_met_text(r['met'])} | {r['measured by']} |")
    return (f"V6's goals (issue 24) against the `{profile}` runs and benchmarks on disk "
            f"(`reporting/goals.py`); a goal not measured yet names what measures it.\n\n"
            + "\n".join(lines))


def goals_table_tex(profile="cpu", models_dir=None, build_dir=None):
    """The report's goals table (``generated/goals_table.tex``)."""
    frame = goals_frame(profile, models_dir, build_dir)
    lines = [
        "% Generated by landmarklib.reporting.goals. Do not edit.",
        r"\begin{table}[tbp]", r"\centering\small",
        rf"\caption{{V6's goals and what the runs of profile \texttt{{{latex_escape(profile)}}} "
        r"measured (--: not measured in this build).}",
        r"\label{tab:goals}",
        r"\begin{tabular}{p{0.5\linewidth}rrl}", r"\toprule",
        r"goal & target & measured & met \\", r"\midrule",
    ]
    for _, r in frame.iterrows():
        unit = latex_escape(r["unit"])
        value = "--" if pd.isna(r["measured"]) else f"{r['measured']:.2f}\\,{unit}"
        target = r["target"].replace("<= ", r"$\le$ ").replace(f" {r['unit']}", rf"\,{unit}")
        lines.append(f"{latex_escape(r['goal'])} & {target} & {value} & "
                     f"{_met_text(r['met'])} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)
