"""The results of a profile's runs, read from ``models/<version>-<profile>/``, as
tables: pandas DataFrames for the notebooks and the README's Markdown table.

A version that has not been trained is ``None`` in ``collect_results``, so
every table can say "not run" instead of failing.
"""
import pandas as pd

from ..training import versions
from ..training.runs import RunStore
from .runner import TRAIN_VERSIONS

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
# How tables name a version (``Version.label``): V1..V5 as in the original project, the
# others as they are.
VERSION_LABELS = {name: spec.label for name, spec in versions.REGISTRY.items()}


def collect_results(profile, models_dir=None, versions=TRAIN_VERSIONS):
    """Dict version -> (results.json, config.json) of ``models/<version>-<profile>``; None if missing.

    Args:
        profile: a resolved profile name.
        models_dir: the models folder (default ``config.MODELS``).
        versions: keys of ``versions.REGISTRY``.
    """
    store = RunStore(models_dir)
    return {version: store.records(version, profile) for version in versions}


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
            lines.append(f"| {version} | {versions.get_version(version).description} | not run "
                         "| | | | | | |")
            continue
        r, s = found[0], found[0]["splits"]
        lines.append(
            f"| {version} | {r['description']} | {s['test']['rmse']:.2f} | {s['test']['nme']:.2f} "
            f"| {s['test_flip']['nme']:.2f} | {s['test_mtfl']['nme']:.2f} | {s['val']['mae']:.2f} "
            f"| {r['parameters'] / 1e6:.2f} M | {r['train_seconds'] / 60:.1f} |")
    return "\n".join(lines)


def versions_frame():
    """What each model version changes (from ``versions.REGISTRY``)."""
    return pd.DataFrame([{"version": v.label, "builder": v.builder,
                          "rows": "complete only" if v.complete_rows_only else "all (masked)",
                          "augment": v.augment, "change": v.description}
                         for v in versions.REGISTRY.values()]).set_index("version")
