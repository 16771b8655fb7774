"""The README's tables of numbers, written by code from real runs (``make readme``).

Each table lives between two markers in README.md::

    <!-- begin: results -->
    ...generated...
    <!-- end: results -->

and is rebuilt from the files the runs and benchmarks write:

* ``results``:        ``models/*/results.json`` (+ ``config.json``) of a profile's runs;
* ``ablation``:       runs trained with another augmentation recipe (``train --recipe``);
* ``detector-crops``: the detector-framed test split of 04_evaluate (``build/comparison.csv``);
* ``detectors``:      ``build/benchmarks/compare_detectors.json`` (benchmarks/compare_detectors.py);
* ``speed``:          ``build/benchmarks/<name>.json`` of the speed benchmarks, each
  with the machine's load average when it ran.

A block whose inputs are absent (a fresh clone) is left as it is, and
``update_readme`` says so. ``python -m landmarklib.reporting.readme [--check]``.
"""
import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd

from ..core import config
from ..core.files import atomic_path, read_json, write_json

README = config.ROOT / "README.md"
BENCHMARKS = config.BUILD / "benchmarks"
COMPARISON_CSV = config.BUILD / "comparison.csv"
BLOCKS = ("results", "ablation", "detector-crops", "detectors", "speed")
BEGIN, END = "<!-- begin: {} -->", "<!-- end: {} -->"
# The benchmarks whose output the speed block shows, in this order.
SPEED_BENCHMARKS = ("data_speed", "augment_speed", "train_speed", "video_speed", "inspector_speed")
RESULTS_HEADER = ("| version | change | YTF test RMSE px | YTF test NME % | YTF test with flip "
                  "NME % | MTFL test NME % | val MAE px | params | train min |")
ABLATION_HEADER = ("| run | recipe | val RMSE px | val NME % | YTF test RMSE px | YTF test NME % "
                   "| MTFL test NME % |")
DETECTOR_CROPS_HEADER = "| model | RMSE px | NME % |"
DETECTORS_HEADER = ("| method | YTF RMSE px | YTF NME % | YTF failures % | MTFL RMSE px "
                    "| MTFL NME % | MTFL failures % |")
NUMBER = r"-?\d+\.\d\d"
# Cell patterns of each generated row (after the name cells), for format_problems.
ROW_FORMATS = {
    "results": (2, [NUMBER] * 5 + [r"\d+\.\d\d M", r"\d+\.\d"]),
    "ablation": (2, [NUMBER] * 5),
    "detector-crops": (1, [NUMBER] * 2),
    "detectors": (1, [NUMBER, NUMBER, r"\d+\.\d"] * 2),
}
HEADERS = {"results": RESULTS_HEADER, "ablation": ABLATION_HEADER,
           "detector-crops": DETECTOR_CROPS_HEADER, "detectors": DETECTORS_HEADER}
DETECTOR_SPLITS = ("test", "test_mtfl")
# What the README's ablation block says until an ablation run exists (generate never writes it).
ABLATION_PLACEHOLDER = ("No ablation run of this profile yet: `python -m landmarklib train "
                        "--version v4 --recipe strong`, then `make readme`.")


# --- inputs --------------------------------------------------------------------------

def collect_runs(profile, models_dir=None):
    """[(folder name, results dict, config dict)] of the finished runs of `profile`.

    Args:
        profile: profile name (``results.json``'s "profile").
        models_dir: where run folders are (default ``config.MODELS``).
    """
    found = []
    for path in sorted(Path(models_dir or config.MODELS).glob("*/results.json")):
        results = read_json(path)
        if results.get("profile") != profile:
            continue
        cfg_path = path.parent / "config.json"
        found.append((path.parent.name, results, read_json(cfg_path) if cfg_path.exists() else {}))
    return found


def _version_specs():
    """{version: (description, default recipe)} in the registry's order."""
    from ..training import models

    return {name: (v.description, v.augment) for name, v in models.REGISTRY.items()}


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
    return (f"The YouTube-Faces test photos cropped from the face detector's box, as the "
            f"video demo does (`{path.name}`, written by 04_evaluate).\n\n"
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
            "detector-crops": detector_crops_block(build / "comparison.csv"),
            "detectors": detectors_block(build / "benchmarks" / "compare_detectors.json"),
            "speed": speed_block(build / "benchmarks")}


# --- README.md -----------------------------------------------------------------------

def read_blocks(text):
    """{name: content} of every marked block of a README text."""
    blocks = {}
    for name in BLOCKS:
        begin, end = BEGIN.format(name), END.format(name)
        if begin in text and end in text:
            blocks[name] = text.split(begin, 1)[1].split(end, 1)[0].strip("\n")
    return blocks


def replace_blocks(text, blocks):
    """`text` with each block of `blocks` (name -> Markdown, None = keep) rewritten.

    Raises ValueError if a block's markers are missing or doubled (a bug of the
    README, which tests/test_readme.py checks).
    """
    for name, content in blocks.items():
        if content is None:
            continue
        begin, end = BEGIN.format(name), END.format(name)
        if text.count(begin) != 1 or text.count(end) != 1:
            raise ValueError(f"README: expected one {begin} and one {end}")
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{begin}\n{content}\n{end}{tail}"
    return text


def format_problems(name, content):
    """How a block's content departs from what ``generate`` writes (empty: none)."""
    if name not in HEADERS or (name == "ablation" and content == ABLATION_PLACEHOLDER):
        return []
    lines = [line for line in content.splitlines() if line.startswith("|")]
    if not lines or lines[0] != HEADERS[name]:
        return [f"{name}: the table header is not {HEADERS[name]!r}"]
    names, patterns = ROW_FORMATS[name]
    problems = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != names + len(patterns):
            problems.append(f"{name}: {len(cells)} cells in {line!r}")
            continue
        for cell, pattern in zip(cells[names:], patterns):
            if not re.fullmatch(pattern, cell):
                problems.append(f"{name}: cell {cell!r} of {line!r} is not as generated")
    return problems


def update_readme(path=None, profile="cpu", models_dir=None, build_dir=None, check=False):
    """Rewrite the generated blocks of README.md; returns {name: what happened}.

    Args:
        path: the README (default the checkout's README.md).
        profile: whose runs fill the results tables.
        models_dir, build_dir: see ``generate``.
        check: compare only; nothing is written.
    """
    path = Path(path or README)
    text = path.read_text()
    blocks = generate(profile, models_dir, build_dir)
    current = read_blocks(text)
    status = {}
    for name, content in blocks.items():
        if content is None:
            status[name] = "kept (no inputs: " + ("no runs" if name in ("results", "ablation")
                                                  else "not measured here") + ")"
        elif current.get(name) == content:
            status[name] = "up to date"
        else:
            status[name] = "differs" if check else "rewritten"
    if not check:
        new = replace_blocks(text, blocks)
        if new != text:
            with atomic_path(path) as tmp:
                Path(tmp).write_text(new)
    return status


def write_benchmark_output(name, text, load_average=None, records=None, folder=None):
    """Save a benchmark's table for the README's blocks: build/benchmarks/<name>.json.

    Args:
        name: the benchmark script's name without .py.
        text: the table it printed.
        load_average: the 1-minute load average when it started (default: now).
        records: machine-readable rows (a list of dicts), if any.
        folder: where to write (default build/benchmarks).
    """
    if load_average is None:
        load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    out = Path(folder or BENCHMARKS) / f"{name}.json"
    write_json({"benchmark": name, "date": time.strftime("%Y-%m-%d"),
                "load_average": round(float(load_average), 2), "text": text,
                "records": records or []}, out)
    return out


def main(argv=None):
    """``python -m landmarklib.reporting.readme [--profile P] [--readme PATH] [--check]``;
    exits with 1 when --check finds a block that differs from what would be written."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="auto", help="cpu, full, smoke or auto")
    parser.add_argument("--readme", default=str(README))
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    parser.add_argument("--models", default=str(config.MODELS), help="run folders")
    parser.add_argument("--build", default=str(config.BUILD),
                        help="folder of comparison.csv and benchmarks/")
    args = parser.parse_args(argv)
    profile = profile_with_runs(args.models) if args.profile == "auto" else args.profile
    status = update_readme(args.readme, profile, args.models, args.build, check=args.check)
    for name, what in status.items():
        print(f"{args.readme}: {name}: {what}")
    if args.check and "differs" in status.values():
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
