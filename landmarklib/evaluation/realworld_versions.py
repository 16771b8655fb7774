"""Every version through the real pipeline, beside its landmark-framed numbers.

04_evaluate's table of the real pipeline per version (issue: models are
judged where users meet them): the landmark-framed test NME from each run's
``results.json``, the test people's photos through the ``predict-image`` code
with one pass and with refinement (``evaluation.realworld.photo_split_models``:
each photo's faces are detected once for all versions) and the test videos of
``realworld_videos.SCENARIOS`` through the ``video`` command's code
(``realworld_videos.evaluate_videos`` with ``annotate=lm.video.annotate_video``).
NME is in % of the true eye distance.

The demo's version is chosen on *validation* people the same way
(``compare_versions(split="val")``, ``choose_version``) and saved for 05_demo
and the README (``save_choice``, ``chosen_version``); the test table only
reports (as LaTeX: ``reporting.latex.realworld_table``). Until issue 23 this
was ``demo.realworld_versions``; ``lm.realworld_versions`` names it.
"""
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.files import write_json
from ..core.metrics import FAILURE_NME, nme_per_image
from ..data import load_dataset
from ..inference import photo
from ..inference.face_detectors import RememberingDetector
from ..inference.framing import split_photos
from ..training import versions
from ..training.runs import RunStore
from . import offtheshelf
from .realworld import photo_split_models, photos_of_test_people, pooled_video_scores
from .realworld_videos import SCENARIO_PEOPLE, check_pipeline, evaluate_videos, scenario_videos

# Columns of ``compare_versions``: the landmark-framed NME (results.json) of
# each split's people, then the real pipeline's median NME (%) and failures.
FRAMED = {"test": {"framed YTF": "test", "framed MTFL": "test_mtfl"},
          "val": {"framed val": "val"}}
COMPARED_PASSES = (1, 3)
# The demo's version when 04_evaluate has not chosen one (``chosen_version``).
FALLBACK_VERSION = versions.MAIN_VERSION


def compare_versions(runs, folder, photos=None, scenarios=None, detector=None, limit=None,
                     passes=COMPARED_PASSES, people=SCENARIO_PEOPLE, split="test",
                     annotate=None):
    """Landmark-framed and real-pipeline numbers of every version, side by side.

    Args:
        runs: dict version -> Run (``training.runs.Run``).
        folder: where the test videos (``videos/``) and each version's annotated
            copies and CSVs (``<version>/``) go.
        annotate: the video pipeline to score, ``lm.video.annotate_video`` (the
            ``video`` command's; see ``realworld_videos.evaluate_videos``).
        photos: [(source, path, keypoints)], default the photos of `split`'s
            people (``photos_of_test_people(limit)`` or ``framing.split_photos``).
        scenarios: ``realworld_videos.SCENARIOS`` names (default all).
        detector: default ``photo.default_detector()``.
        limit: photos per source when `photos` is None.
        passes: the photo pass counts to report (1 = the detector's framing only).
        people: test videos per scenario (one person each).
        split: "test" (to report) or "val" (to choose on: ``choose_version``);
            the videos show that split's people, and dlib / MediaPipe rows
            (scored on the test people only) come with "test".

    Returns:
        (DataFrame indexed by version, the photo rows of ``photo_split_models``).
        Columns: framed YTF / MTFL (test NME on landmark-framed crops; "framed
        val" for split "val"), photos YTF / MTFL with each pass count (median
        NME in photo pixels), photo failures % (no face or NME > FAILURE_NME,
        last pass count), videos (median of the scenarios' median NME,
        ``video.annotate_video`` with its defaults), video failures % (mean
        over scenarios).
    """
    if split not in FRAMED:
        raise ValueError(f"split must be one of {sorted(FRAMED)}, got {split!r}")
    check_pipeline(annotate)
    # Each version's tracker runs the detector on many of the frames another version's did:
    # those are detected once (the videos' fps, which this table does not report, would
    # count them as free).
    detector = RememberingDetector(detector or photo.default_detector())
    predictors = {v: photo.predictor_for_run(run.dir) for v, run in runs.items()}
    if photos is None:
        photos = (photos_of_test_people(limit) if split == "test"
                  else split_photos(split, limit=limit))
    rows = photo_split_models(predictors, photos, detector, passes=passes)
    made = scenario_videos(Path(folder) / "videos", scenarios, people,   # once, for every version
                           split=split)
    table = {}
    for version, run in runs.items():
        row = {name: run.results["splits"].get(key, {}).get("nme", math.nan)
               for name, key in FRAMED[split].items()}
        mine = rows[rows["model"] == version]
        for source, short in (("youtube-faces", "YTF"), ("mtfl", "MTFL")):
            for n in passes:
                part = mine[(mine["source"] == source) & (mine["max_passes"] == n)]
                found = part[part["found"] > 0]["nme"]
                row[f"photos {short} {n}p"] = float(found.median()) if len(found) else math.nan
        last = mine[mine["max_passes"] == passes[-1]]
        row["photo failures %"] = 100 * float(np.mean(~(last["nme"] <= FAILURE_NME)))
        videos = evaluate_videos(predictors[version], Path(folder) / version, annotate,
                                 detector=detector, videos=made)
        row["videos"] = float(videos["median NME %"].median())
        row["video failures %"] = float(videos["failures %"].mean())
        table[version] = row
    if split == "test":
        table.update(detector_rows(made))
    frame = pd.DataFrame(table).T.reindex(columns=list(next(iter(table.values()))))
    frame.index.name = "version"
    return frame, rows


def choose_version(table, passes=None):
    """The version whose worst real-pipeline median is lowest: the demo's.

    The goal is a low error on photos *and* videos, so each version is judged
    by the largest of its median NME on YouTube-Faces photos, on MTFL photos
    (with the demo's pass count) and on videos.

    Args:
        table: ``compare_versions(split="val")``'s table (never the test one:
            choosing on it would make the reported test numbers optimistic).
        passes: the photo pass count of the demo (default ``photo.MAX_PASSES``).

    Returns:
        (version, Series of each version's worst median NME %, ascending).
    """
    n = passes or photo.MAX_PASSES
    columns = [f"photos YTF {n}p", f"photos MTFL {n}p", "videos"]
    missing = [c for c in columns if c not in table]
    if missing:
        raise ValueError(f"the table has no column {missing[0]!r}; expected "
                         f"compare_versions' columns with {n} pass(es)")
    worst = table[columns].max(axis=1).dropna().sort_values()
    if worst.empty:
        raise ValueError("no version has real-pipeline numbers to choose from")
    return str(worst.index[0]), worst


def choice_path(profile, folder=None):
    """Where 04_evaluate keeps the demo's version of a profile:
    ``build/findings/<profile>/demo_version.json`` (``runs.RunStore.choice_path``).

    Args:
        profile: "smoke", "cpu" or "full".
        folder: the findings folder (default ``build/findings``).
    """
    return RunStore(findings_dir=folder).choice_path(profile)


def save_choice(version, worst, profile, folder=None):
    """Keep ``choose_version``'s result for 05_demo and the README.

    Args:
        version, worst: ``choose_version``'s result.
        profile: the profile of the runs compared.
        folder: default ``build/findings``.
    """
    path = choice_path(profile, folder)
    write_json({"version": version, "chosen_on": "validation",
                "worst_median_nme": {v: float(x) for v, x in worst.items()}}, path)
    return path


def chosen_version(profile, folder=None, fallback=FALLBACK_VERSION):
    """The demo's version of `profile` as 04_evaluate chose it, else `fallback`.

    Args:
        profile: "smoke", "cpu" or "full".
        folder: default ``build/findings``.
        fallback: the version when no choice was saved (04_evaluate not run).
    """
    return RunStore(findings_dir=folder).chosen_version(profile, fallback)


def detector_rows(videos, faces=None):
    """{name: row} of dlib and MediaPipe Face Mesh, where ``compare_detectors.py`` saved them.

    Photos: their saved predictions on the test photos (each finding the face
    itself; median NME of the faces found; a missed face is a failure), in the
    "1p" columns. Videos: their CSVs of the test videos (``--videos``), scored
    like ours. Framed columns stay empty (they take no crops). Nothing saved, or
    saved for other faces or videos: no row.

    Args:
        videos: ``scenario_videos``' result (the videos the versions were scored on).
        faces: the faces15 FaceSet (default: loaded).
    """
    rows = {}
    for scenario, made in videos.items():
        for name, scored in offtheshelf.video_tables(made).items():
            scores = pooled_video_scores(scored)
            rows.setdefault(name, {}).setdefault("videos", []).append(scores["median NME %"])
            rows[name].setdefault("video failures %", []).append(scores["failures %"])
    rows = {name: {k: float(np.median(v) if k == "videos" else np.mean(v))
                   for k, v in r.items()} for name, r in rows.items()}
    faces = load_dataset("faces15", progress=False) if faces is None else faces
    if offtheshelf.predictions_current(faces):
        errors = {}
        for split, short in (("test", "YTF"), ("test_mtfl", "MTFL")):
            saved = np.load(offtheshelf.predictions_path(split))
            truth = faces.keypoints[saved["rows"]]
            for name in offtheshelf.VIDEO_SLUGS:
                if name in saved.files:
                    found = ~np.isnan(saved[name]).any(axis=1)
                    nme = np.full(len(found), np.inf)       # a missed face is a failure
                    nme[found] = nme_per_image(truth[found], saved[name][found])
                    rows.setdefault(name, {})[f"photos {short} 1p"] = float(np.median(nme[found]))
                    errors.setdefault(name, []).append(nme)
        for name, nme in errors.items():
            rows[name]["photo failures %"] = 100 * float(np.mean(~(np.concatenate(nme)
                                                                  <= FAILURE_NME)))
    return rows
