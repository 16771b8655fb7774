"""The README's generated blocks: Markdown written from what the runs and benchmarks saved.

``generate(profile)`` returns {block name: Markdown, or None where its inputs
are absent}; ``landmarklib.reporting.readme`` puts them between the README's
markers. The blocks and what each is written from:

* ``results``:        ``models/*/results.json`` (+ ``config.json``) of a profile's runs;
* ``ablation``:       runs trained with another augmentation recipe (``train --recipe``);
* ``climb``:          V6's climb, one change per row (``reporting.climb_tables``,
  the runs of ``versions.CLIMB`` that ``make climb`` trains);
* ``goals``:          V6's goals beside what runs and benchmarks measured (``reporting.goals``);
* ``detector-crops``: the detector-framed test split of 04_evaluate (``build/comparison.csv``);
* ``detectors``:      ``build/benchmarks/compare_detectors.json`` (benchmarks/compare_detectors.py);
* ``real-pipeline``:  every version through the face detector, 04_evaluate's
  ``build/findings/<profile>/realworld.csv``;
* ``report-time``:    each notebook's wall time and the load average around it in
  the last ``make report`` (``build/notebooks/timing.json``, ``reporting.runner``);
* ``speed``:          ``build/benchmarks/<name>.json`` of the speed benchmarks, each
  with the machine's load average when it ran;
* ``bad-inputs``:     the bad inputs ``tests/test_cli_hardening.py`` replays through
  the CLI and the one line each gets, as that test recorded them
  (``build/bad_inputs/*.json``, written by ``make test``).
"""
from pathlib import Path

import pandas as pd

from ..core import config
from ..core.files import read_json
from ..training import versions
from ..training.runs import RunStore
from . import climb_tables, goals

BENCHMARKS = config.BUILD / "benchmarks"
COMPARISON_CSV = config.BUILD / "comparison.csv"
BLOCKS = ("results", "ablation", "climb", "goals", "detector-crops", "detectors", "real-pipeline",
          "report-time", "speed", "bad-inputs")
BAD_INPUTS = config.BUILD / "bad_inputs"   # tests/test_cli_hardening.py records each case here
FINDINGS = config.BUILD / "findings"
EXECUTED = config.BUILD / "notebooks"
# The benchmarks whose output the speed block shows, in this order.
SPEED_BENCHMARKS = ("data_speed", "augment_speed", "train_speed", "batchnorm_speed", "video_speed",
                    "inspector_speed", "face_detectors", "realworld")
RESULTS_HEADER = ("| version | change | YTF test RMSE px | YTF test NME % | YTF test with flip "
                  "NME % | MTFL test NME % | val MAE px | params | train min |")
ABLATION_HEADER = ("| run | recipe | val RMSE px | val NME % | YTF test RMSE px | YTF test NME % "
                   "| MTFL test NME % |")
DETECTOR_CROPS_HEADER = "| model | RMSE px | NME % |"
DETECTORS_HEADER = ("| method | YTF RMSE px | YTF NME % | YTF failures % | MTFL RMSE px "
                    "| MTFL NME % | MTFL failures % |")
REAL_PIPELINE_HEADER = ("| version | framed YTF % | framed MTFL % | photos YTF 1p % | photos YTF 3p % "
                        "| photos MTFL 1p % | photos MTFL 3p % | photo failures % | videos % "
                        "| video failures % |")
REPORT_TIME_HEADER = "| notebook | minutes | load before | load after | finished |"
BAD_INPUTS_HEADER = "| bad input | command typed | exit | the one line on stderr | before TensorFlow |"
NUMBER = r"-?\d+\.\d\d"
# Cell patterns of each generated row (after the name cells), for format_problems.
ROW_FORMATS = {
    "results": (2, [NUMBER] * 5 + [r"\d+\.\d\d M", r"\d+\.\d"]),
    "ablation": (2, [NUMBER] * 5),
    "climb": (3, [r"\d+", NUMBER, NUMBER, NUMBER, r"[-+]\d+\.\d\d|--", NUMBER, NUMBER, NUMBER,
                  r"\d+\.\d\d M", r"\d+|--", NUMBER + "|--"]),
    "goals": (1, [r"<= \d+(\.\d+)? (px|%|min|ms)", r"\d+\.\d\d (px|%|min|ms)|--",
                  "yes|no|not measured", ".+"]),
    "detector-crops": (1, [NUMBER] * 2),
    "detectors": (1, [NUMBER, NUMBER, r"\d+\.\d"] * 2),
    "real-pipeline": (1, [NUMBER + "|--"] * 9),
    "bad-inputs": (1, [r"`python -m landmarklib .+`", "2", r"`error: .+`", "yes|no"]),
}
HEADERS = {"results": RESULTS_HEADER, "ablation": ABLATION_HEADER,
           "climb": climb_tables.HEADER, "goals": goals.HEADER,
           "detector-crops": DETECTOR_CROPS_HEADER, "detectors": DETECTORS_HEADER,
           "real-pipeline": REAL_PIPELINE_HEADER, "bad-inputs": BAD_INPUTS_HEADER}
DETECTOR_SPLITS = ("test", "test_mtfl")
# What the README's ablation block says until an ablation run exists (generate never writes it).
ABLATION_PLACEHOLDER = ("No ablation run of this profile yet: `python -m landmarklib train "
                        "--version v4 --recipe strong`, then `make readme`.")
# What a block says until its inputs exist (generate never writes these).
PLACEHOLDERS = {"ablation": ABLATION_PLACEHOLDER,
                "real-pipeline": "Not measured yet: `make report PROFILE=cpu`, then `make readme`.",
                "report-time": "Not measured yet: `make report PROFILE=cpu`, then `make readme`."}


# --- inputs --------------------------------------------------------------------------

def collect_runs(profile, models_dir=None):
    """[(folder name, results dict, config dict)] of the finished runs of `profile`.

    Args:
        profile: profile name (``results.json``'s "profile").
        models_dir: where run folders are (default ``config.MODELS``).
    """
    return RunStore(models_dir).finished_runs(profile)  # runs with --set overrides left out


def _version_specs():
    """{version: (description, default recipe)} in the registry's order."""
    return {name: (v.description, v.augment) for name, v in versions.REGISTRY.items()}


def _split_runs(runs, specs):
    """(main runs by version, ablation runs): ablations use another recipe."""
    main, ablation = {}, []
    for folder, results, cfg in runs:
        version = results.get("version")
        default = specs.get(version, ("", "none"))[1]
        if cfg.get("augment", default) != default:
            ablation.append((folder, results, cfg))
        else:
            main[version] = (folder, results, cfg)
    return main, ablation


def profile_with_runs(models_dir=None):
    """The profile `make readme PROFILE=auto` shows: cpu, unless only full runs exist."""
    profiles = {read_json(p).get("profile")
                for p in Path(models_dir or config.MODELS).glob("*/results.json")}
    return "full" if "full" in profiles and "cpu" not in profiles else "cpu"


# --- the blocks ----------------------------------------------------------------------

def _cells(values):
    return "| " + " | ".join(str(v) for v in values) + " |"


def _table(header, rows):
    columns = header.count("|") - 1
    return "\n".join([header, "|" + "---|" * columns] + [_cells(r) for r in rows])


def change_text(description, backbone_weights):
    """What a version changes, saying where a pretrained backbone really started from.

    Args:
        description: the registry's description of the version.
        backbone_weights: ``results.json``'s "backbone_weights" (None: no backbone).
    """
    if backbone_weights is None:
        return description
    if backbone_weights == "none":
        return "MobileNetV3 backbone trained from scratch (no ImageNet weights loaded)"
    if backbone_weights == "imagenet":
        return "MobileNetV3 backbone, ImageNet weights"
    return f"MobileNetV3 backbone, weights from {Path(str(backbone_weights)).name}"


def results_block(runs, specs):
    """The results table (Markdown) of the main runs, or None without runs."""
    main, _ = _split_runs(runs, specs)
    if not main:
        return None
    rows = []
    for version in [v for v in specs if v in main] + sorted(set(main) - set(specs)):
        r = main[version][1]
        s = r["splits"]
        rows.append([version, change_text(specs.get(version, (r.get("description", ""),))[0],
                                          r.get("backbone_weights")),
                     f"{s['test']['rmse']:.2f}", f"{s['test']['nme']:.2f}",
                     f"{s['test_flip']['nme']:.2f}", f"{s['test_mtfl']['nme']:.2f}",
                     f"{s['val']['mae']:.2f}", f"{r['parameters'] / 1e6:.2f} M",
                     f"{r['train_seconds'] / 60:.1f}"])
    epochs = sorted({main[v][1].get("epochs") for v in main} - {None})
    note = (f"From `results.json` of {len(main)} runs of the `{main[next(iter(main))][1]['profile']}`"
            f" profile ({'/'.join(map(str, epochs))} epochs).")
    return note + "\n\n" + _table(RESULTS_HEADER, rows)


def ablation_block(runs, specs):
    """Runs trained with another recipe beside their version's own, or None."""
    main, ablation = _split_runs(runs, specs)
    if not ablation:
        return None
    rows = []
    for folder, results, cfg in sorted(list(main.values()) + ablation, key=lambda x: x[0]):
        if not any(results.get("version") == a[1].get("version") for a in ablation):
            continue
        s = results["splits"]
        rows.append([folder, cfg.get("augment", "?"), f"{s['val']['rmse']:.2f}",
                     f"{s['val']['nme']:.2f}", f"{s['test']['rmse']:.2f}",
                     f"{s['test']['nme']:.2f}", f"{s['test_mtfl']['nme']:.2f}"])
    return _table(ABLATION_HEADER, rows)


def detector_crops_block(path=None):
    """NME on the detector-framed YouTube-Faces test crops (04_evaluate), or None."""
    path = Path(path or COMPARISON_CSV)
    if not path.exists():
        return None
    table = pd.read_csv(path)
    if "flip" in table:
        table = table[~table["flip"].astype(str).str.lower().isin(("true", "1"))]
    table = table[table["split"] == "test_detector"]
    if table.empty:
        return None
    rows = [[r["model"], f"{r['rmse']:.2f}", f"{r['nme']:.2f}"] for _, r in table.iterrows()]
    return (f"The YouTube-Faces test photos cropped from the face detector's first framing, as "
            f"the demo does (`{path.name}`, written by 04_evaluate).\n\n"
            + _table(DETECTOR_CROPS_HEADER, rows))


def detectors_block(path=None):
    """The off-the-shelf detector comparison (benchmarks/compare_detectors.py), or None."""
    path = Path(path or BENCHMARKS / "compare_detectors.json")
    if not path.exists():
        return None
    saved = read_json(path)
    table = pd.DataFrame.from_records(saved["records"])
    rows = []
    for method, group in table.groupby("method", sort=False):
        by_split = group.set_index("split")
        if not all(s in by_split.index for s in DETECTOR_SPLITS):
            continue
        cells = [method]
        for split in DETECTOR_SPLITS:
            r = by_split.loc[split]
            cells += [f"{r['rmse']:.2f}", f"{r['nme']:.2f}", f"{r['failure_rate']:.1f}"]
        rows.append(cells)
    faces = ", ".join(f"{s}: {int(table[table['split'] == s]['faces'].iloc[0])} faces"
                      for s in DETECTOR_SPLITS if (table["split"] == s).any())
    return (f"Scored on the faces every method found ({faces}); failures: NME > 10 %; "
            f"load average {saved.get('load_average', float('nan')):.1f} when it ran.\n\n"
            + _table(DETECTORS_HEADER, rows))


def speed_block(folder=None):
    """Each speed benchmark's printed table with its load average, or None."""
    folder = Path(folder or BENCHMARKS)
    parts = []
    for name in SPEED_BENCHMARKS:
        path = folder / f"{name}.json"
        if not path.exists():
            continue
        saved = read_json(path)
        parts.append(f"`benchmarks/{name}.py` ({saved['date']}, load average "
                     f"{saved['load_average']:.1f}):\n\n```\n{saved['text'].rstrip()}\n```")
    return "\n\n".join(parts) or None


def real_pipeline_block(path):
    """Every version through the face detector (04_evaluate's realworld.csv), or None."""
    path = Path(path)
    if not path.exists():
        return None
    table = pd.read_csv(path, index_col=0)
    rows = [[version] + ["--" if pd.isna(v) else f"{v:.2f}" for v in row]
            for version, row in table.iterrows()]
    choice = RunStore(findings_dir=path.parent.parent).choice_path(path.parent.name)
    chosen = ""
    if choice.exists():
        saved = read_json(choice)
        worst = saved["worst_median_nme"][saved["version"]]
        chosen = (f" The demo runs **{saved['version']}**, chosen by 04_evaluate on validation "
                  f"people (lowest worst median over photos and videos: {worst:.2f} %; "
                  f"`build/findings/{path.parent.name}/{choice.name}`).")
    header = "| version | " + " | ".join(f"{c} %" if "%" not in c else c
                                         for c in table.columns) + " |"
    return ("NME in % of the true eye distance: *framed* is the mean test NME on crops framed "
            "from the true landmarks, the rest medians through the face detector, on the test "
            "people's photos with 1 or 3 passes (`1p`, `3p`) and over the test videos; dlib and "
            "MediaPipe Face Mesh find the face themselves (`benchmarks/compare_detectors.py`); "
            f"failures: no face or NME > 10 % (`build/findings/{path.parent.name}/{path.name}`, "
            "written by "
            "04_evaluate)." + chosen + "\n\n" + _table(header, rows))


def report_time_block(path, profile):
    """Each notebook's wall time in the last ``make report`` of `profile`, or None."""
    path = Path(path)
    if not path.exists():
        return None
    jobs = {name: t for name, t in sorted(read_json(path).items(), key=lambda x: x[1]["finished"])
            if t.get("profile") == profile}
    if not jobs:
        return None
    load = lambda v: "n/a" if v is None or v != v else f"{v:.1f}"  # noqa: E731  (not recorded)
    rows = [[name, f"{t['seconds'] / 60:.1f}", load(t.get("load_start")),
             load(t.get("load_end")), t["finished"]] for name, t in jobs.items()]
    total = sum(t["seconds"] for t in jobs.values()) / 60
    cores = "/".join(sorted({str(t.get("cores", "?")) for t in jobs.values()}))
    rows.append(["total", f"{total:.1f}", "", "", ""])
    return (f"`make report PROFILE={profile}`: each notebook's wall time and the 1-minute load "
            f"average before and after it on {cores} cores (`build/notebooks/{path.name}`; "
            f"training alone keeps it near the number of cores, more means other work shared "
            f"them).\n\n"
            + _table(REPORT_TIME_HEADER, rows))


def _code(text):
    """`text` as Markdown inline code inside a table cell (pipes escaped)."""
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def bad_inputs_block(folder):
    """The bad inputs the CLI test replayed and the line each got, or None before a run.

    Args:
        folder: where ``tests/test_cli_hardening.py`` saved one JSON per case
            (``case``, ``order``, ``command``, ``exit``, ``line``, ``before_tensorflow``).
    """
    paths = sorted(Path(folder).glob("*.json"))
    if not paths:
        return None
    cases = sorted((read_json(p) for p in paths), key=lambda c: (c["order"], c["case"]))
    rows = [[c["case"], _code(c["command"]), str(c["exit"]), _code(c["line"]),
             "yes" if c["before_tensorflow"] else "no"] for c in cases]
    return (f"Replayed by `tests/test_cli_hardening.py` through `python -m landmarklib` in a "
            f"subprocess ({len(rows)} cases, recorded by `make test` in "
            f"`build/{Path(folder).name}/`); each also leaves every file in its folder "
            f"byte-identical. *before TensorFlow*: the process never imported it.\n\n"
            + _table(BAD_INPUTS_HEADER, rows))


def generate(profile="cpu", models_dir=None, build_dir=None):
    """{block name: Markdown, or None where its inputs are absent}.

    Args:
        profile: whose runs fill the results and ablation tables.
        models_dir: run folders (default ``config.MODELS``).
        build_dir: where comparison.csv and benchmarks/ are (default ``config.BUILD``).
    """
    build = Path(build_dir or config.BUILD)
    runs = collect_runs(profile, models_dir)
    specs = _version_specs() if runs else {}
    return {"results": results_block(runs, specs), "ablation": ablation_block(runs, specs),
            "climb": climb_tables.climb_block(profile, models_dir, build_dir=build),
            "goals": goals.goals_block(profile, models_dir, build),
            "detector-crops": detector_crops_block(build / "comparison.csv"),
            "detectors": detectors_block(build / "benchmarks" / "compare_detectors.json"),
            "real-pipeline": real_pipeline_block(build / "findings" / profile / "realworld.csv"),
            "report-time": report_time_block(build / "notebooks" / "timing.json", profile),
            "speed": speed_block(build / "benchmarks"),
            "bad-inputs": bad_inputs_block(build / BAD_INPUTS.name)}
