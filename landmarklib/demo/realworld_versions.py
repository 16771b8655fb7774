"""Every version through the real pipeline, beside its landmark-framed numbers.

04_evaluate's table of the real pipeline per version (issue: models are
judged where users meet them): the landmark-framed test NME from each run's
``results.json``, the test people's photos through the ``predict-image`` code
with one pass and with refinement (``evaluation.realworld.photo_split_models``:
each photo's faces are detected once for all versions) and the test videos of
``testvideo.SCENARIOS`` through the ``video`` command's code
(``testvideo.evaluate_videos``). NME is in % of the true eye distance.
"""
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.metrics import FAILURE_NME
from ..evaluation.realworld import photo_split_models
from ..evaluation.tables import write_latex
from .testvideo import SCENARIO_PEOPLE, evaluate_videos

# Columns of ``compare_versions``: the landmark-framed test NME (results.json),
# then the real pipeline's median NME (%) and failures.
FRAMED = {"framed YTF": "test", "framed MTFL": "test_mtfl"}
COMPARED_PASSES = (1, 3)


def compare_versions(runs, folder, photos=None, scenarios=None, detector=None, limit=None,
                     passes=COMPARED_PASSES, people=SCENARIO_PEOPLE):
    """Landmark-framed and real-pipeline numbers of every version, side by side.

    Args:
        runs: dict version -> Run (``training.runs.Run``).
        folder: where the test videos and their CSVs go (one folder per version).
        photos: [(source, path, keypoints)], default ``photos_of_test_people(limit)``.
        scenarios: ``testvideo.SCENARIOS`` names (default all).
        detector: default ``photo.default_detector()``.
        limit: photos per source when `photos` is None.
        passes: the photo pass counts to report (1 = the detector's framing only).
        people: test videos per scenario (one test person each).

    Returns:
        (DataFrame indexed by version, the photo rows of ``photo_split_models``).
        Columns: framed YTF / MTFL (test NME on landmark-framed crops), photos
        YTF / MTFL with each pass count (median NME in photo pixels), photo
        failures % (no face or NME > FAILURE_NME, last pass count), videos
        (median of the test videos' median NME, ``video.annotate_video`` with
        its defaults), video failures % (mean over videos).
    """
    from ..inference import photo

    detector = detector or photo.default_detector()
    predictors = {v: photo.predictor_for_run(run.dir) for v, run in runs.items()}
    rows = photo_split_models(predictors, photos, detector, passes=passes, limit=limit)
    table = {}
    for version, run in runs.items():
        row = {name: run.results["splits"].get(split, {}).get("nme", math.nan)
               for name, split in FRAMED.items()}
        mine = rows[rows["model"] == version]
        for source, short in (("youtube-faces", "YTF"), ("mtfl", "MTFL")):
            for n in passes:
                part = mine[(mine["source"] == source) & (mine["max_passes"] == n)]
                found = part[part["found"] > 0]["nme"]
                row[f"photos {short} {n}p"] = float(found.median()) if len(found) else math.nan
        last = mine[mine["max_passes"] == passes[-1]]
        row["photo failures %"] = 100 * float(np.mean(~(last["nme"] <= FAILURE_NME)))
        videos = evaluate_videos(predictors[version], Path(folder) / version, scenarios=scenarios,
                                 detector=detector, people=people)
        row["videos"] = float(videos["median NME %"].median())
        row["video failures %"] = float(videos["failures %"].mean())
        table[version] = row
    frame = pd.DataFrame(table).T
    frame.index.name = "version"
    return frame, rows


def write_latex_table(table, path):
    """``compare_versions``' table as a booktabs tabular at `path` (one decimal); returns it."""
    out = table.copy()
    out.index = pd.Index([v.upper() if v[1:].isdigit() else v for v in out.index], name="version")
    return write_latex(out, path, decimals=1)
