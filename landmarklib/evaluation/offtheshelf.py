"""Off-the-shelf landmark detectors, scored on our crops: dlib and MediaPipe.

The models issue asks whether our small, matched models beat detectors that
anyone can ``pip install``: dlib's 68-point shape predictor (iBUG 300-W) and
MediaPipe Face Mesh (468 points). Each runs on the **original photo** at its
full resolution and finds the face itself (dlib's HOG detector, MediaPipe's
BlazeFace); its points are mapped to the 15 Kaggle keypoints
(``keypoints.from_ibug68`` / ``from_mediapipe468``) and then into the 96x96
crop of that face (``datasets.source_to_crop``), so they are scored with the
same metrics, in the same pixels, as our models.

Neither package is a dependency of landmarklib: MediaPipe 0.10.14 (the last
release whose wheel ships the Face Mesh model, so it runs offline) needs
numpy < 2, which TensorFlow 2.21 does not allow. They live in a separate
environment made by ``make detectors-venv`` from
``benchmarks/requirements-detectors.txt``; this module needs only numpy,
pandas and OpenCV, never TensorFlow. See ``benchmarks/compare_detectors.py``.
"""
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import config
from ..core import keypoints as kp
from ..core.files import read_json
from ..data import face_frame, find_root, load_dataset, read_gray, read_mtfl_list, source_to_crop
from ..data.sources import mtfl_keypoints, youtube_faces_annotations

DLIB_UPSAMPLE_BELOW = 500  # px: smaller photos are searched at twice their size
# The test splits compared, and where benchmarks/compare_detectors.py --predict
# leaves the detectors' keypoints (one .npz per split).
SPLITS = {"test": "YouTube-Faces test", "test_mtfl": "MTFL test"}
PREDICTIONS = config.BUILD / "benchmarks"


def _need(module, package):
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(
            f"{package} is not installed in this environment; the detector comparison "
            "runs in its own: make detectors-venv (see benchmarks/compare_detectors.py)"
        ) from None


def _nearest(centres, target):
    """Index of the centre (N, 2) nearest to `target` (2,), or None if N == 0."""
    if len(centres) == 0:
        return None
    return int(np.argmin(np.linalg.norm(np.asarray(centres) - target, axis=1)))


def _largest(areas):
    """Index of the largest area, or None if there is none."""
    return int(np.argmax(areas)) if len(areas) else None


class DlibDetector:
    """dlib's HOG face detector + 68-point shape predictor -> 15 keypoints."""

    name = "dlib 68-point"

    def __init__(self, predictor_path=None):
        dlib = _need("dlib", "dlib (pip: dlib-bin)")
        if predictor_path is None:
            models = _need("face_recognition_models", "face_recognition_models")
            predictor_path = models.pose_predictor_model_location()
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path))

    def __call__(self, gray, near=None):
        """Keypoints (30,) in photo pixels of the face nearest `near` (None: the largest), or None."""
        upsample = 1 if max(gray.shape) < DLIB_UPSAMPLE_BELOW else 0
        boxes = list(self.detector(gray, upsample))
        centres = [((b.left() + b.right()) / 2, (b.top() + b.bottom()) / 2) for b in boxes]
        i = (_largest([b.width() * b.height() for b in boxes]) if near is None
             else _nearest(centres, near))
        if i is None:
            return None
        shape = self.predictor(gray, boxes[i])
        points = np.array([(p.x, p.y) for p in shape.parts()], np.float64)
        return kp.from_ibug68(points)


class MediaPipeDetector:
    """MediaPipe Face Mesh (up to 4 faces) -> 15 keypoints.

    Args:
        video: MediaPipe's video mode (tracks the mesh from frame to frame; one
            detector per video), else every image on its own.
    """

    name = "MediaPipe Face Mesh"

    def __init__(self, video=False):
        mp = _need("mediapipe", "mediapipe")
        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video, max_num_faces=4, min_detection_confidence=0.5)

    def __call__(self, gray, near=None):
        import cv2

        h, w = gray.shape
        found = self.mesh.process(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)).multi_face_landmarks
        faces = [np.array([(p.x * w, p.y * h) for p in f.landmark], np.float64)
                 for f in (found or [])]
        i = (_largest([np.ptp(f, axis=0).prod() for f in faces]) if near is None
             else _nearest([f.mean(axis=0) for f in faces], near))
        return None if i is None else kp.from_mediapipe468(faces[i])


def source_annotations(meta, shared_root=None):
    """Photo path and source-pixel keypoints (30,) of each row of a faces15 `meta`.

    The crops keep the file name; the annotation is read again from the
    source's own list, so the crop box (``face_frame``) is the one the
    converter used.
    """
    tables = {}
    paths, points = [], []
    for source, file in zip(meta["source"], meta["file"]):
        root = find_root(source, None if shared_root is None
                         else Path(shared_root) / source, download=False)
        if source not in tables:
            tables[source] = _annotations(source, root)
        paths.append(root / file)
        points.append(tables[source][file])
    return paths, np.stack(points)


def _annotations(source, root):
    """{file: keypoints (30,) in photo pixels} for one source."""
    if source == "youtube-faces":
        return youtube_faces_annotations(root)
    if source == "mtfl":
        out = {}
        for name in ("training.txt", "testing.txt"):
            table = read_mtfl_list(root / name)
            out.update(zip(table["file"], mtfl_keypoints(table)))
        return out
    raise ValueError(f"no source annotations for {source!r} (youtube-faces or mtfl)")


def predict_crops(detector, paths, source_points, progress=True):
    """Run `detector` on each photo; keypoints (N, 30) in crop pixels, NaN if missed.

    The face nearest the annotated face's centre is the one scored, and its
    points are mapped into the crop that ``face_frame(source_points)`` defines.
    """
    from tqdm.auto import tqdm

    out = np.full((len(paths), 2 * kp.NUM_KEYPOINTS), np.nan, np.float32)
    for i, (path, points) in enumerate(tqdm(list(zip(paths, source_points)),
                                            desc=detector.name, disable=not progress)):
        box = face_frame(points)
        near = np.array([box[0] + box[2] / 2, box[1] + box[2] / 2])
        found = detector(read_gray(path), near)
        if found is not None:
            out[i] = source_to_crop(kp.as_points(found), box).reshape(-1)
    return out


def predictions_path(split, folder=None):
    """The .npz with each detector's keypoints on `split` (see SPLITS)."""
    return Path(folder or PREDICTIONS) / f"detectors_{split}.npz"


def predictions_current(faces, folder=None):
    """Whether the saved detector predictions are of these faces (their ``files``).

    ``benchmarks/compare_detectors.py --predict`` saves the file of every row
    it predicted; predictions of another conversion (other rows, other splits)
    are stale. Faces without ``meta`` (tests) are not checked.
    """
    if getattr(faces, "meta", None) is None:
        return True
    for split in SPLITS:
        path = predictions_path(split, folder)
        if not path.exists():
            return False
        saved = np.load(path)
        if "files" not in saved.files or len(saved["files"]) != len(saved["rows"]):
            return False
        rows = saved["rows"]
        if rows.max(initial=-1) >= len(faces.meta) or list(
                faces.meta["file"].to_numpy()[rows]) != list(saved["files"]):
            return False
    return True


def comparison(runs, flip=False, folder=None, faces=None):
    """Detectors and trained runs on the same test faces: a DataFrame, or None.

    One row per method (each detector, then each run in `runs`, a dict
    version -> Run), per split: faces scored, RMSE (px), NME (%), failure
    rate (% of faces with NME > 10 %) and ms per face. Only faces that every
    detector found are scored, for every method; ``missed`` counts the others.
    None when the detectors' predictions were never made.
    """
    # Keras: not at the top, where the detectors' own venv (no TensorFlow) imports this module
    from ..core import metrics
    from ..inference.predict import predict

    if not all(predictions_path(s, folder).exists() for s in SPLITS):
        return None
    faces = load_dataset("faces15", progress=False) if faces is None else faces
    if not predictions_current(faces, folder):
        print("the detectors' saved predictions are of other faces (an older dataset): "
              "rerun benchmarks/compare_detectors.py")
        return None
    records = []
    for split in SPLITS:
        saved = np.load(predictions_path(split, folder))
        names = [k for k in saved.files if k not in ("rows", "files") and not k.endswith(" ms")]
        missed = {n: int(np.isnan(saved[n]).all(axis=1).sum()) for n in names}
        found = np.all([~np.isnan(saved[n]).all(axis=1) for n in names], axis=0)
        rows = saved["rows"][found]
        methods = {n: (saved[n][found], float(saved[n + " ms"]), missed[n]) for n in names}
        for version, run in runs.items():
            start = time.perf_counter()
            pred = predict(run.model, faces.images[rows], flip=flip)
            ms = 1000 * (time.perf_counter() - start) / max(len(rows), 1)
            methods[version + (" + flip" if flip else "")] = (pred, ms, 0)
        for name, (pred, ms, miss) in methods.items():
            s = metrics.summary(faces.keypoints[rows], pred)
            records.append({"split": split, "method": name, "faces": s["images"],
                            "missed": miss, "rmse": s["rmse"], "nme": s["nme"],
                            "failure_rate": 100 * s["failure_rate"], "ms_per_face": ms})
    return pd.DataFrame.from_records(records)


# --- the test videos ------------------------------------------------------------------------

VIDEO_SLUGS = {DlibDetector.name: "dlib", MediaPipeDetector.name: "mediapipe"}


def truth_digest(truth_file):
    """A short hash of a test video's saved truth: which video a detector's CSV belongs to."""
    import hashlib

    return hashlib.sha256(Path(truth_file).read_bytes()).hexdigest()[:16]


def predict_video(detector, video):
    """`detector` on every frame of `video` (largest face): DataFrame frame + 30 keypoints, ms/frame."""
    import time

    import cv2

    capture, rows, frame_index = cv2.VideoCapture(str(video)), [], 0
    start = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        found = detector(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        if found is not None:
            rows.append([frame_index, *found])
        frame_index += 1
    capture.release()
    ms = 1000 * (time.perf_counter() - start) / max(frame_index, 1)
    return pd.DataFrame(rows, columns=["frame", *kp.COLUMNS]), ms


def detector_csv(video, name):
    """Where ``benchmarks/compare_detectors.py --videos`` writes detector `name`'s CSV of `video`."""
    video = Path(video)
    return video.with_name(f"{video.stem}.{VIDEO_SLUGS[name]}.csv")


def video_tables(videos):
    """{detector name: [(CSV table, truth)] per video} of `videos` [(video, truth)].

    Only detectors whose CSVs exist for every video and were made from the same
    truth (``truth_digest`` in the CSV's ``truth`` column) are returned.
    """
    from .realworld import truth_path  # Keras (core.metrics): see comparison

    out = {}
    for name in VIDEO_SLUGS:
        scored = []
        for video, truth in videos:
            path = detector_csv(video, name)
            meta = path.with_suffix(".json")
            truth_file = truth_path(video)
            if not (path.exists() and meta.exists() and truth_file.exists()
                    and read_json(meta).get("truth") == truth_digest(truth_file)):
                break
            scored.append((pd.read_csv(path), truth))
        else:
            if scored:
                out[name] = scored
    return out
