"""The real pipeline, scored honestly: photos and videos of people no model trained on.

On crops framed from their own landmarks the models look excellent; a user's
photo goes through a face detector first. Here the whole user-facing code
path is scored, in photo (or frame) pixels:

* ``photo_split``: the *original photos* of the test people (``photos_of_test_people``:
  YouTube-Faces photos whose identity ``data.registry`` puts in the test
  split, and MTFL's testing.txt) through ``inference.photo.landmarks_in_photo``, exactly as
  ``predict-image`` runs it, keeping the largest face as the demo does (no
  peeking at the truth to pick a face). A photo with no face, or whose face
  is off by more than ``FAILURE_NME``, is a failure.
* ``video_scores``: a test video of ``realworld_videos.SCENARIOS`` (faces of
  test people at 60-250 px, roll up to +-20 degrees, motion, blur, a
  brightness change, blank frames at the end) annotated by the ``video``
  command's code (``realworld_videos.evaluate_videos`` runs them all):
  detection rate on face frames, false detections on blank frames, NME,
  failures, jitter and speed per video.
* ``framing_errors``: how far the detector's first framing is from the
  landmark framing (shift, scale, roll), measured on *training* people to
  set the augmentation of the detector-robust version (``v5``).

NME is the mean point error in percent of the true inter-ocular distance,
over the labelled keypoints (MTFL labels 5 of the 15). Every version through
it, and the demo's version chosen from it: ``realworld_versions``. See
04_evaluate, "The real pipeline", and benchmarks/realworld.py.
"""
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..core.metrics import FAILURE_NME, interocular, nme_per_image
from ..data.crop import read_image
from ..inference import photo
from ..inference.framing import split_photos


def photos_of_test_people(limit=None, seed=0):
    """[(source, path, keypoints)] of the test people's photos: YouTube-Faces and MTFL.

    ``inference.framing.split_photos`` of the registry's "test" (YouTube-Faces)
    and "test_mtfl" (MTFL testing.txt) splits; `limit` photos per source.
    """

    return (split_photos("test", limit=limit, seed=seed, sources=("youtube-faces",))
            + split_photos("test_mtfl", limit=limit, seed=seed, sources=("mtfl",)))


class _Found:
    """A detector that answers with faces found earlier: one detection serves every model."""

    def __init__(self, faces, name):
        self.faces, self.name = faces, name

    def detect(self, image):
        return self.faces


def photo_split(model, photos=None, detector=None, passes=None, limit=None):
    """Score the real pipeline on photos; one row per photo.

    Args:
        model: a predictor, keras model or run folder (``photo.as_predictor``).
        photos: [(source, path, keypoints)], default ``photos_of_test_people(limit)``.
        detector: default ``photo.default_detector()``.
        passes: predictions per face (default ``photo.MAX_PASSES``).
        limit: photos per source when `photos` is None.

    Returns:
        DataFrame: source, file, found (faces detected), nme (%; inf when no
        face was found), passes, ms (detect + predict).
    """

    table = photo_split_models({"model": model}, photos, detector,
                               passes=(passes or photo.MAX_PASSES,), limit=limit)
    return table.drop(columns=["model", "max_passes"])


def photo_split_models(models, photos=None, detector=None, passes=None, limit=None):
    """``photo_split`` for several models and pass counts, detecting each photo once.

    The detector's faces of a photo are found once and handed to every model
    (detection does not depend on the model), so comparing versions costs
    little more than one of them.

    Args:
        models: dict name -> predictor, keras model or run folder.
        photos, detector, limit: as ``photo_split``.
        passes: the pass counts to score (default ``(photo.MAX_PASSES,)``).

    Returns:
        DataFrame: model, max_passes, then ``photo_split``'s columns; ms is the
        detection plus this model's prediction.
    """

    predictors = {name: photo.as_predictor(m) for name, m in models.items()}
    detector = detector or photo.default_detector()
    photos = photos_of_test_people(limit) if photos is None else photos
    rows = []
    for source, path, truth in photos:
        image = read_image(path, color=True)
        start = time.perf_counter()
        found = _Found(detector.detect(image), detector.name)
        detect_ms = 1000 * (time.perf_counter() - start)
        for name, predictor in predictors.items():
            for limit_passes in passes or (photo.MAX_PASSES,):
                start = time.perf_counter()
                faces = photo.landmarks_in_photo(image, predictor, detector=found, max_faces=1,
                                                 passes=limit_passes)
                ms = detect_ms + 1000 * (time.perf_counter() - start)
                error = (float(nme_per_image(truth[None], faces[0].keypoints[None])[0]) if faces
                         else math.inf)
                rows.append({"model": name, "max_passes": limit_passes, "source": source,
                             "file": str(path), "found": len(faces), "nme": error,
                             "passes": faces[0].passes if faces else 0, "ms": ms})
    return pd.DataFrame(rows)


def summarise_photos(table):
    """Per source: photos, detection %, median / mean NME (found faces), failures %."""
    out = {}
    for source, rows in table.groupby("source"):
        found = rows[rows["found"] > 0]
        out[source] = {"photos": len(rows), "detected %": 100 * len(found) / len(rows),
                       "median NME %": float(np.median(found["nme"])) if len(found) else math.nan,
                       "mean NME %": float(np.mean(found["nme"])) if len(found) else math.nan,
                       "failures %": 100 * float(np.mean(~(rows["nme"] <= FAILURE_NME))),
                       "mean passes": float(found["passes"].mean()) if len(found) else math.nan,
                       "ms per photo": float(rows["ms"].median())}
    return pd.DataFrame(out).T


def errors_vs_truth(table, truth):
    """Error of each CSV row against the nearest true face of its frame.

    Args:
        table: the video CSV (a DataFrame).
        truth: (frames, faces, 30) from ``make_test_video``.

    Returns:
        (rows,) mean point errors in percent of the true inter-ocular distance
        (NME); inf for a row on a frame with no face.
    """

    est = kp.as_points(table[list(kp.COLUMNS)].to_numpy(np.float64))
    out = np.full(len(est), np.inf)
    for r, (frame, points) in enumerate(zip(table["frame"].to_numpy(), est)):
        faces = truth[frame][~np.isnan(truth[frame]).any(axis=1)]
        if len(faces):
            errors = np.linalg.norm(kp.as_points(faces) - points, axis=-1).mean(axis=1)
            out[r] = np.min(100 * errors / interocular(faces))
    return out


def truth_path(video):
    """Where a test video's true keypoints are kept (``realworld_videos.scenario_videos``)."""
    video = Path(video)
    return video.with_name(video.stem + "_truth.npy")


def video_scores(table, truth, stats=None):
    """Scores of one annotated test video against its true keypoints.

    Args:
        table: the video CSV (DataFrame); truth: (frames, faces, 30) from
            ``realworld_videos.make_test_video``; stats: ``annotate_video``'s result.

    Returns:
        dict: face frames, detection % (face frames with a face reported),
        false detections (rows on frames showing no face), median / mean NME
        %, failures % (face frames without a face or with NME > FAILURE_NME),
        jitter % (mean frame-to-frame change of the keypoint *error*, in % of
        the eye distance: noise that the motion does not explain), fps.
    """
    shown = ~np.isnan(truth).any(axis=2)             # (frames, faces)
    face_frames = np.flatnonzero(shown.any(axis=1))
    errors = errors_vs_truth(table, truth)
    frames = table["frame"].to_numpy()
    on_blank = ~np.isin(frames, face_frames)
    ok = ~on_blank
    best = pd.Series(errors[ok]).groupby(frames[ok]).min()
    detected = best.reindex(face_frames)
    jitter = _jitter(table[ok], truth)
    return {"face frames": len(face_frames),
            "detection %": 100 * float(detected.notna().mean()),
            "false detections": int(on_blank.sum()),
            "median NME %": float(np.median(errors[ok])) if ok.any() else math.nan,
            "mean NME %": float(np.mean(errors[ok])) if ok.any() else math.nan,
            "failures %": 100 * float((~(detected <= FAILURE_NME)).mean()),
            "jitter %": jitter,
            "fps": float(stats["fps"]) if stats else math.nan}


def pooled_video_scores(scored):
    """``video_scores`` over several videos' frames together (one timeline).

    Args:
        scored: [(video CSV table, truth (frames, faces, 30))], e.g. the videos
            of one scenario, one person each.
    """
    tables, offset = [], 0
    for table, truth in scored:
        table = table.copy()
        table["frame"] = table["frame"].astype(int) + offset   # unique; videos never consecutive
        tables.append(table)
        offset += len(truth) + 1
    gap = np.full((1,) + scored[0][1].shape[1:], np.nan)   # a blank frame between videos
    truth = np.concatenate([np.concatenate([t, gap]) for _, t in scored])
    return video_scores(pd.concat(tables, ignore_index=True), truth)


def _jitter(table, truth):
    """Mean |change of the error vector| between consecutive frames of one face, % of IOD."""
    if len(table) < 2 or truth.shape[1] != 1:
        return math.nan
    frames = table["frame"].to_numpy()
    est = kp.as_points(table[list(kp.COLUMNS)].to_numpy(np.float64))
    true = truth[frames, 0]
    err = est - kp.as_points(true)
    consecutive = np.diff(frames) == 1
    step = np.linalg.norm(np.diff(err, axis=0), axis=-1).mean(axis=1)
    iod = interocular(true)[1:]
    return float(np.mean(100 * step[consecutive] / iod[consecutive])) if consecutive.any() else math.nan


def framing_errors(detector=None, photos=None, count=200, seed=0):
    """How far the detector's first framing is from the landmark framing.

    On training people only (``framing.split_photos("train")``): for each photo, the
    largest detected face's first framing (``photo.first_framing``) against the
    framing of its true keypoints (``photo.framing_from_keypoints``).

    Args:
        detector: default ``photo.default_detector()``.
        photos: [(source, path, keypoints)], default `count` per source of the
            training split.
        count, seed: of that default.

    Returns:
        DataFrame, one row per photo found: dx, dy (centre error along and
        across the true eye line, in fractions of the true side), scale
        (first side / true side), roll (first - true, degrees).
    """

    detector = detector or photo.default_detector()
    photos = split_photos("train", limit=count, seed=seed) if photos is None else photos
    rows = []
    for source, path, keypoints in photos:
        faces = detector.detect(read_image(path, color=True))
        if not faces:
            continue
        first, true = photo.first_framing(faces[0]), photo.framing_from_keypoints(keypoints)
        a = math.radians(true.roll)
        d = np.array([first.cx - true.cx, first.cy - true.cy]) / true.side
        rows.append({"source": source,
                     "dx": d[0] * math.cos(a) + d[1] * math.sin(a),
                     "dy": -d[0] * math.sin(a) + d[1] * math.cos(a),
                     "scale": first.side / true.side, "roll": first.roll - true.roll})
    return pd.DataFrame(rows)

