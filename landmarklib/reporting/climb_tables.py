"""V6's climb as a table: one change per row, from the runs on disk.

Reads the run of every row of ``training.versions.CLIMB`` (``make climb``
trains them) and writes it for the README (``climb_block``, the ``climb`` block)
and the report (``climb_table_tex``, ``generated/climb_table.tex``). Rows are
compared on the **validation** people (the choice of each piece is made
there); the test columns only report. A row whose run is missing is named
with the command that trains it, and left out of the numbers. The README's
table also gives each row's network speed as ``benchmarks/train_speed.py``
measured it (training images/s, TFLite ms per face on one core), where it ran.
"""
import math

import pandas as pd

from ..training.climb import step_run
from ..training.runs import RunStore
from ..training.versions import CLIMB
from .goals import speed_records
from .latex import MISSING, latex_escape

# (column, split, metric) of the numbers each row shows, in this order.
COLUMNS = (("val RMSE px", "val", "rmse"), ("val NME %", "val", "nme"), ("val MAE px", "val", "mae"),
           ("YTF test RMSE px", "test", "rmse"), ("YTF test NME %", "test", "nme"),
           ("MTFL test NME %", "test_mtfl", "nme"))
DELTA = "val NME change"   # points of NME against the row it changes (negative: better)
HEADER = ("| row | change | run | epochs | " + " | ".join(c for c, _s, _m in COLUMNS[:3])
          + f" | {DELTA} | " + " | ".join(c for c, _s, _m in COLUMNS[3:])
          + " | params | train img/s | TFLite ms 1 core |")


def command(step, profile):
    """The ``python -m landmarklib train ...`` line of one row's run."""
    recipe, overrides = step_run(step)
    words = ["python -m landmarklib train --version", step.version, "--profile", profile]
    if recipe:
        words += ["--recipe", recipe]
    words += [f"--set {field}={value}" for field, value in overrides.items()]
    return " ".join(words)


def climb_frame(profile, models_dir=None, steps=CLIMB):
    """One row per step: its run folder and numbers (NaN where it has no run).

    Args:
        profile: a resolved profile name ("cpu").
        models_dir: where the runs are (default ``config.MODELS``).
        steps: the rows (default ``versions.CLIMB``).
    """
    store = RunStore(models_dir)
    rows = []
    for index, step in enumerate(steps):
        recipe, overrides = step_run(step)
        where = {"recipe": recipe, "overrides": overrides}
        found = store.records(step.version, profile, **where)
        results = found[0] if found else {}
        splits = results.get("splits", {})
        row = {"row": index + 1, "change": step.change,
               "run": store.path(step.version, profile, **where).name,
               "trained": bool(found), "epochs": results.get("epochs", math.nan),
               "parameters": results.get("parameters", math.nan)}
        for column, split, metric in COLUMNS:
            row[column] = splits.get(split, {}).get(metric, math.nan)
        base = None if index == 0 else rows[index - 1 if step.base is None else step.base]
        row["base row"] = math.nan if base is None else base["row"]
        row[DELTA] = math.nan if base is None else row["val NME %"] - base["val NME %"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("row")


def _number(value, text="{:.2f}"):
    return MISSING if value is None or pd.isna(value) else text.format(value)


def climb_block(profile, models_dir=None, steps=CLIMB, build_dir=None):
    """The README's climb table (Markdown), or None while no row has a run.

    Args:
        profile: a resolved profile name ("cpu").
        models_dir: where the runs are (default ``config.MODELS``).
        steps: the rows (default ``versions.CLIMB``).
        build_dir: where ``benchmarks/train_speed.json`` is (default ``config.BUILD``).
    """
    frame = climb_frame(profile, models_dir, steps)
    done = frame[frame["trained"]]
    if done.empty:
        return None
    speed, load = speed_records(build_dir)
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for row, r in done.iterrows():
        cells = [str(row), r["change"], f"`{r['run']}`", str(int(r["epochs"]))]
        cells += [_number(r[c]) for c, _s, _m in COLUMNS[:3]]
        cells.append(_number(r[DELTA], "{:+.2f}"))
        cells += [_number(r[c]) for c, _s, _m in COLUMNS[3:]]
        cells.append(f"{r['parameters'] / 1e6:.2f} M")
        network = speed.get(steps[row - 1].version, {})
        cells += [_number(network.get("train_images_per_second"), "{:.0f}"),
                  _number(network.get("tflite_ms_one_core"))]
        lines.append("| " + " | ".join(cells) + " |")
    missing = frame[~frame["trained"]]
    note = (f"From `results.json` of the `{profile}` runs of `versions.CLIMB` (`make climb "
            f"PROFILE={profile}` trains them). Each row changes one thing over the row it "
            f"names; *{DELTA}* is in points against that row, on the validation people (where "
            f"each piece is chosen); the test columns only report.")
    if speed:
        note += (f" Speed is the network's, from `benchmarks/train_speed.py` (batch 64 with its "
                 f"recipe, load average {load:.1f} when it started; -- where it was not run).")
    if not missing.empty:
        note += " Not trained yet: " + "; ".join(
            f"row {row} (`{command(steps[row - 1], profile)}`)" for row in missing.index) + "."
    return note + "\n\n" + "\n".join(lines)


def climb_table_tex(profile, models_dir=None, steps=CLIMB):
    """The report's climb table (``generated/climb_table.tex``); rows without a run say so."""
    frame = climb_frame(profile, models_dir, steps)
    lines = [
        "% Generated by landmarklib.reporting.climb_tables from models/*/results.json. Do not edit.",
        r"\begin{table}[tbp]", r"\centering\footnotesize\setlength{\tabcolsep}{3pt}",
        rf"\caption{{Beyond V4: V6's climb, one change per row (profile "
        rf"\texttt{{{latex_escape(profile)}}}). Each piece is chosen on the validation people "
        r"(val); $\Delta$: points of validation NME against the row it changes. The test "
        r"columns only report. RMSE and MAE in pixels, NME in percent.}",
        r"\label{tab:climb}",
        r"\begin{tabular}{rp{0.30\linewidth}rrrrrrr}", r"\toprule",
        r"& & & \multicolumn{3}{c}{validation} & \multicolumn{3}{c}{test (reported only)} \\",
        r"\cmidrule(lr){4-6}\cmidrule(lr){7-9}",
        r"& change & epochs & RMSE & NME & $\Delta$ & YTF RMSE & YTF NME & MTFL NME \\",
        r"\midrule",
    ]
    for row, r in frame.iterrows():
        if not r["trained"]:
            lines.append(rf"{row} & {latex_escape(r['change'])} & \multicolumn{{7}}{{c}}"
                         rf"{{\emph{{not trained (make climb)}}}} \\")
            continue
        cells = [str(int(r["epochs"])), _number(r["val RMSE px"]), _number(r["val NME %"]),
                 _number(r[DELTA], "{:+.2f}"), _number(r["YTF test RMSE px"]),
                 _number(r["YTF test NME %"]), _number(r["MTFL test NME %"])]
        lines.append(f"{row} & {latex_escape(r['change'])} & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)

