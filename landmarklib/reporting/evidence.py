"""The evidence of the report's findings: what the notebooks save, and collecting it.

04_evaluate and 05_demo save what the Discussion quotes (``save_attributes``,
``save_video``, ``save_realworld``) under ``build/findings/<profile>/``;
``collect(profile)`` gathers it with the runs' ``results.json`` and
04_evaluate's comparison table for ``reporting.findings``.
"""
from pathlib import Path

import pandas as pd

from ..core import config
from ..core.files import atomic_path, read_json, write_json
from ..training.versions import REGISTRY
from ..training.runs import RunStore

EVIDENCE = config.BUILD / "findings"            # per profile: attributes.csv, video.json, ...
COMPARISON_CSV = config.BUILD / "comparison.csv"
MATCH_NME = 0.01                               # points: comparison.csv belongs to these runs


def collect(profile, models_dir=None, comparison_csv=None, evidence_dir=None):
    """Everything the findings are computed from, for one profile.

    Returns a dict: ``nme`` (split -> version -> NME %, flip splits included),
    ``comparison_profile_ok`` (False when comparison.csv is from other runs,
    None when absent), ``attributes`` (DataFrame or None), ``video``
    (dict or None), ``realworld`` (DataFrame or None) and ``demo_choice``
    (``realworld_versions.save_choice``'s dict, or None).

    Args:
        profile: "smoke", "cpu" or "full".
        models_dir: where ``<version>-<profile>/results.json`` are (default ``config.MODELS``).
        comparison_csv: 04_evaluate's comparison table (default ``build/comparison.csv``).
        evidence_dir: where ``save_attributes`` and ``save_video`` wrote (default
            ``build/findings``).
    """
    folder = Path(evidence_dir or EVIDENCE) / profile
    store = RunStore(models_dir, findings_dir=folder.parent)
    nme = {}
    for version in REGISTRY:
        results = store.results(version, profile)
        for split, values in (results["splits"] if results else {}).items():
            if values.get("nme") is not None:
                nme.setdefault(split, {})[version] = float(values["nme"])
    ok = _merge_comparison(nme, Path(comparison_csv or COMPARISON_CSV))
    attributes = folder / "attributes.csv"
    video, real = folder / "video.json", folder / "realworld.csv"
    choice = store.choice_path(profile)
    return {"nme": nme, "comparison_profile_ok": ok,
            "attributes": pd.read_csv(attributes) if attributes.exists() else None,
            "video": read_json(video) if video.exists() else None,
            "realworld": pd.read_csv(real, index_col=0) if real.exists() else None,
            "demo_choice": read_json(choice) if choice.exists() else None}


def _merge_comparison(nme, path):
    """Add the detector-crop split of comparison.csv if it matches these runs' test NME."""
    if not path.exists():
        return None
    table = pd.read_csv(path)
    table = table[~table["flip"].astype(str).str.lower().isin(("true", "1"))]
    test = table[table["split"] == "test"].set_index("model")["nme"]
    shared = [v for v in test.index if v in nme.get("test", {})]
    if not shared or any(abs(test[v] - nme["test"][v]) > MATCH_NME for v in shared):
        return False
    detector = table[table["split"] == "test_detector"].set_index("model")["nme"]
    if len(detector):
        nme["test_detector"] = {v: float(x) for v, x in detector.items()}
    return True


def save_attributes(table, profile, evidence_dir=None):
    """Keep ``evaluate.attribute_table``'s result for the report (04_evaluate calls this).

    Args:
        table: the DataFrame of ``attribute_table`` (columns model, attribute,
            group, count, nme, nme_rest, z, ...).
        profile: the profile of the runs it scored.
        evidence_dir: default ``build/findings``.
    """
    path = Path(evidence_dir or EVIDENCE) / profile / "attributes.csv"
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def save_video(profile, version, nme, jitter_raw, jitter_smoothed, evidence_dir=None):
    """Keep the video demo's numbers for the report (05_demo calls this).

    Args:
        profile: the profile of the model used.
        version: the model version (e.g. "v4").
        nme: mean NME (%) on the synthetic test video against its known truth.
        jitter_raw: mean frame-to-frame keypoint motion (px) on a still face.
        jitter_smoothed: the same with the One-Euro filter.
        evidence_dir: default ``build/findings``.
    """
    path = Path(evidence_dir or EVIDENCE) / profile / "video.json"
    write_json({"version": version, "nme": float(nme), "jitter_raw": float(jitter_raw),
                "jitter_smoothed": float(jitter_smoothed)}, path)
    return path


def save_realworld(table, profile, evidence_dir=None):
    """Keep ``realworld_versions.compare_versions``' table for the report (04_evaluate).

    Args:
        table: DataFrame indexed by version (framed / photos / videos NME %).
        profile: the profile of the runs it scored.
        evidence_dir: default ``build/findings``.
    """
    path = Path(evidence_dir or EVIDENCE) / profile / "realworld.csv"
    with atomic_path(path) as tmp:
        table.to_csv(tmp)
    return path
