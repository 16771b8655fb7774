"""Landmarks on videos, a webcam and still images.

``FacePipeline`` turns one frame into faces with 15 keypoints each:

1. find faces: a cheap Haar search around each tracked face; a full-frame
   search only while fewer than ``max_faces`` faces are tracked (at most
   every ``DETECT_EVERY`` frames) or right after a face was lost;
2. map each detector box to the training framing (``detect.box_to_frame``)
   and crop it to 96x96 grayscale exactly as the training data was cropped;
3. predict keypoints (TFLite by default: the fastest on a CPU), map them
   back to frame pixels (optionally re-crop from them: ``REFINE``);
4. give each face a stable id and smooth its keypoints over time
   (``smoothing.Tracker``: One-Euro filter per face).

``python -m landmarklib video IN.mp4 --model models/v4-cpu --out OUT.mp4
--csv OUT.csv`` writes the annotated video (same size, fps and frame count
as the input; mp4v codec, which OpenCV writes without ffmpeg: convert with
``ffmpeg -i OUT.mp4 -c:v libx264 -pix_fmt yuv420p OUT-h264.mp4`` for
browsers) and one CSV row per face per frame (``CSV_COLUMNS``; the derived
measurements are explained in ``landmarklib.measurements``). Both files are
written under temporary names and renamed at the end, so an interrupted run
leaves nothing that looks complete. See 05_demo.
"""
import csv
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..core import keypoints as kp
from ..core.files import atomic_path
from ..data.crop import crop_face, crop_to_source, face_frame, to_gray
from ..inference import detect
from . import smoothing
from .measurements import MEASUREMENTS, measure

DETECT_EVERY = 5         # frames between full-frame searches while a face is missing
# Re-cropping from the predicted keypoints (the exact training framing) did not
# help: on the moving test video it raised the error of a 10-epoch v2 model
# from 8.6 % to 9.2 % of the eye distance, so the calibrated detector box is used.
REFINE = 0               # re-crops from the predicted keypoints
FOURCC = "mp4v"          # OpenCV writes it without ffmpeg
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
DEFAULT_FPS = 30.0       # when a file does not say
CSV_COLUMNS = (("frame", "time_s", "face_id", "box_x", "box_y", "box_w", "box_h")
               + kp.COLUMNS + MEASUREMENTS)
WINDOW = "landmarklib webcam (q quits)"

# Drawing: BGR colour per face part; sizes relative to the face box.
PART_COLOURS = {"eye": (80, 220, 80), "eyebrow": (220, 160, 60), "nose": (60, 200, 240),
                "mouth": (80, 80, 240)}
BOX_COLOUR = (200, 200, 200)
TEXT_COLOUR = (255, 255, 255)

# The synthetic test video (make_test_video).
TEST_FACE_SIDE = 0.4     # training-frame side of a face, as a fraction of the frame height
TEST_DRIFT = (0.12, 0.06)  # horizontal / vertical drift, fraction of width / height
TEST_ZOOM = 0.2          # face size varies by +-20 %
TEST_ROLL_DEG = 12.0     # head roll varies by +-12 degrees
TEST_NOISE = 3.0         # std of the per-frame sensor noise (grey levels)


@dataclass
class Face:
    """One face in one frame: keypoints in frame pixels (smoothed and raw)."""

    face_id: int
    box: np.ndarray        # detector box (x, y, w, h), frame px
    keypoints: np.ndarray  # (30,) after smoothing
    raw: np.ndarray        # (30,) as predicted


# --- landmark models ---------------------------------------------------------

def make_predictor(model, backend="tflite"):
    """A function uint8 crops (N, 96, 96) -> keypoints (N, 30) in crop pixels.

    ``backend``: "tflite" (converted in memory; fastest on a CPU),
    "function" (a ``tf.function`` with a fixed input signature) or "keras"
    (eager calls: simple but ~10x slower per face).
    """
    from ..data.pipeline import to_model_input
    from ..inference import export

    export.check_landmark_model(model)
    if backend == "tflite":
        return export.TFLitePredictor(export.to_tflite(model))
    if backend == "function":
        import tensorflow as tf

        spec = tf.TensorSpec((None, kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1), tf.float32)
        graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        return lambda crops: graph(to_model_input(crops)).numpy()
    if backend == "keras":
        return lambda crops: np.asarray(model(to_model_input(crops), training=False))
    raise ValueError(f"unknown backend {backend!r}; choose tflite, function or keras")


def predictor_for_run(model_dir):
    """Open a run folder (clear errors if it is not one) and its cached TFLite model."""
    from ..inference import export
    from ..training.runs import load_run

    run = load_run(model_dir)
    export.check_landmark_model(run.model, where=str(run.dir))
    return export.TFLitePredictor(export.cached_tflite(run))


# --- one frame -----------------------------------------------------------------

def crop_frame(gray, frame):
    """96x96 crop of the square `frame` (x0, y0, side), cropped as in training.

    Cuts a padded region around the square first, so that the anti-alias blur
    of ``crop_face`` runs on the face only, not on the whole frame.
    """
    x0, y0, side = frame
    pad = int(3 * side / kp.IMAGE_SIZE) + 2  # covers the blur of a downscale
    xa, ya = max(int(x0) - pad, 0), max(int(y0) - pad, 0)
    xb = min(int(x0 + side) + pad + 1, gray.shape[1])
    yb = min(int(y0 + side) + pad + 1, gray.shape[0])
    if xb <= xa or yb <= ya:
        return np.zeros((kp.IMAGE_SIZE, kp.IMAGE_SIZE), np.uint8)
    no_points = np.full(2 * kp.NUM_KEYPOINTS, np.nan)
    crop, _ = crop_face(gray[ya:yb, xa:xb], no_points, box=(x0 - xa, y0 - ya, side))
    return crop


def predict_in_frames(gray, frames, predictor):
    """Keypoints (K, 30) in frame pixels for K square frames of one image."""
    if not frames:
        return np.zeros((0, 2 * kp.NUM_KEYPOINTS))
    crops = np.stack([crop_frame(gray, f) for f in frames])
    pred = np.asarray(predictor(crops), dtype=np.float64)
    return np.stack([crop_to_source(kp.as_points(p), f).reshape(-1)
                     for p, f in zip(pred, frames)])


class FacePipeline:
    """Frames in, tracked and smoothed faces with keypoints out.

    Args:
        predictor: crops (N, 96, 96) uint8 -> (N, 30), e.g. ``make_predictor(model)``.
        smooth: "one-euro" or "none".
        max_faces: the largest faces kept per frame.
        detect_every: frames between full-frame searches while fewer than
            `max_faces` faces are tracked (1 = every such frame).
        refine: re-crops from the predicted keypoints (0 = detector framing only).
        detector: a ``detect.FaceDetector`` (default settings if None).
    """

    def __init__(self, predictor, smooth="one-euro", max_faces=1, detect_every=DETECT_EVERY,
                 refine=REFINE, detector=None, **filter_args):
        if max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        self.predictor, self.max_faces = predictor, max_faces
        self.detect_every, self.refine = max(int(detect_every), 1), refine
        self.detector = detector or detect.FaceDetector()
        self.tracker = smoothing.Tracker(smooth, **filter_args)
        self._since_full = self.detect_every  # search the whole first frame

    def find_faces(self, gray):
        """Detector boxes (K, 4) for this frame.

        Tracked faces are searched for around their last box (cheap). The
        whole frame is searched only while fewer than ``max_faces`` faces are
        tracked, at most every ``detect_every`` frames, and on the frame
        after a tracked face was lost.
        """
        tracks = self.tracker.tracks[:self.max_faces]
        seen = sum(tr.missed == 0 for tr in tracks)  # found in the previous frame
        self._since_full += 1
        if seen < self.max_faces and self._since_full >= self.detect_every:
            self._since_full = 0
            return list(self.detector.detect(gray, self.max_faces))
        boxes = [self.detector.detect_near(gray, tr.box) for tr in tracks]
        if any(b is None for b in boxes):
            self._since_full = self.detect_every  # a face was lost: full search next frame
        return [b for b in boxes if b is not None]

    def __call__(self, frame, t):
        """Faces of one frame (BGR or gray) at time `t` seconds."""
        gray = to_gray(frame)
        boxes = self.find_faces(gray)
        points = predict_in_frames(gray, [detect.box_to_frame(b) for b in boxes],
                                   self.predictor)
        for _ in range(self.refine):
            points = predict_in_frames(gray, [face_frame(p) for p in points], self.predictor)
        tracked = self.tracker.update(boxes, points, t)
        return [Face(face_id, np.asarray(box), smoothed, raw)
                for (face_id, smoothed), box, raw in zip(tracked, boxes, points)]


# --- drawing ---------------------------------------------------------------------

def _part(name):
    return next(p for p in ("eyebrow", "eye", "nose", "mouth") if p in name)


def draw(frame, faces, names=False, fps=None):
    """A copy of `frame` (BGR) with boxes, keypoints, optional names and FPS."""
    out = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame.copy()
    for face in faces:
        x, y, w, h = (int(round(v)) for v in face.box)
        size = max(w, 1)
        cv2.rectangle(out, (x, y), (x + w, y + h), BOX_COLOUR, 1, cv2.LINE_AA)
        cv2.putText(out, f"face {face.face_id}", (x, max(y - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, BOX_COLOUR, 1, cv2.LINE_AA)
        radius = max(2, size // 60)
        for name, (px, py) in zip(kp.NAMES, kp.as_points(face.keypoints)):
            if np.isnan(px) or np.isnan(py):
                continue
            centre = (int(round(px)), int(round(py)))
            cv2.circle(out, centre, radius, PART_COLOURS[_part(name)], -1, cv2.LINE_AA)
            if names:
                cv2.putText(out, name, (centre[0] + radius + 1, centre[1] + 3),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.3, TEXT_COLOUR, 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(out, f"{fps:.0f} FPS", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    TEXT_COLOUR, 2, cv2.LINE_AA)
    return out


def csv_rows(frame_index, t, faces):
    """CSV_COLUMNS rows (lists) for the faces of one frame."""
    rows = []
    for face in faces:
        m = measure(face.keypoints)
        rows.append([frame_index, round(t, 4), face.face_id, *np.round(face.box, 1),
                     *np.round(face.keypoints, 2), *(round(float(m[c]), 3) for c in MEASUREMENTS)])
    return rows


# --- video files -----------------------------------------------------------------

def open_video(path):
    """(cv2.VideoCapture, info dict) for a readable video, else a clear error.

    info: width, height, fps, frames (as the container claims), first (the
    first frame, already decoded to check that decoding works).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this as a video: it is not a video "
                         f"file, or it has no frames, or it is damaged")
    claimed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    if not ok or first is None:
        cap.release()
        if claimed <= 0:
            raise ValueError(f"{path}: the video has no frames")
        raise ValueError(f"{path}: no frame could be decoded: its codec is not one this "
                         f"OpenCV reads; convert it, e.g. `ffmpeg -i {path.name} -c:v "
                         f"mpeg4 converted.mp4`")
    fps = cap.get(cv2.CAP_PROP_FPS)
    if not fps or not np.isfinite(fps) or fps <= 0:
        fps = DEFAULT_FPS
    return cap, {"width": first.shape[1], "height": first.shape[0], "fps": float(fps),
                 "frames": claimed, "first": first}


def read_frames(cap, first):
    """Yield every frame of an opened video, starting with the already read `first`."""
    frame = first
    while frame is not None:
        yield frame
        ok, frame = cap.read()
        if not ok:
            break


def open_writer(path, width, height, fps):
    """A cv2.VideoWriter (mp4v) at `path`, or a clear error."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), fps, (width, height))
    if not writer.isOpened():
        raise ValueError(f"{path}: OpenCV cannot write a {FOURCC} video here")
    return writer


def _check_output(path, what="--out"):
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ValueError(f"{path}: {what} should be a video file ending in one of "
                         f"{', '.join(VIDEO_SUFFIXES)}")
    return path


def annotate_video(src, predictor, out, csv_path=None, smooth="one-euro", max_faces=1,
                   names=False, progress=False, **pipeline_args):
    """Landmarks on every frame of `src` -> annotated `out` (+ measurements CSV).

    Returns a dict: frames, rows (faces found), frames_with_faces, seconds, fps
    (processing speed), and the video's width, height and fps.
    """
    out = _check_output(out)
    if Path(src).resolve() == out.resolve():
        raise ValueError(f"{out}: the output would overwrite the input video")
    cap, info = open_video(src)
    pipeline = FacePipeline(predictor, smooth=smooth, max_faces=max_faces, **pipeline_args)
    count, rows, with_faces = 0, [], 0
    start = time.perf_counter()
    try:
        with ExitStack() as stack:
            tmp_video = stack.enter_context(atomic_path(out))
            tmp_csv = stack.enter_context(atomic_path(csv_path)) if csv_path else None
            writer = open_writer(tmp_video, info["width"], info["height"], info["fps"])
            try:
                for count, frame in enumerate(read_frames(cap, info["first"]), start=1):
                    t = (count - 1) / info["fps"]
                    faces = pipeline(frame, t)
                    with_faces += bool(faces)
                    rows.extend(csv_rows(count - 1, t, faces))
                    writer.write(draw(frame, faces, names=names))
                    if progress and count % 100 == 0:
                        print(f"  frame {count}/{info['frames']}", file=sys.stderr)
            finally:
                writer.release()
            if tmp_csv is not None:
                write_csv(rows, tmp_csv)
    finally:
        cap.release()
    seconds = time.perf_counter() - start
    if info["frames"] > 0 and count < info["frames"]:
        print(f"warning: {src}: decoding stopped after {count} of {info['frames']} frames",
              file=sys.stderr)
    return {"frames": count, "rows": len(rows), "frames_with_faces": with_faces,
            "seconds": seconds, "fps": count / max(seconds, 1e-9),
            "width": info["width"], "height": info["height"], "video_fps": info["fps"]}


def write_csv(rows, path):
    """CSV_COLUMNS header + rows, to `path`."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)


def video_cli(args):
    """``python -m landmarklib video INPUT --model RUN --out OUT.mp4 [--csv OUT.csv]``."""
    _check_output(args.out)
    if not Path(args.input).is_file():
        raise FileNotFoundError(f"{args.input}: no such video file")
    open_video(args.input)[0].release()  # bad input fails before the model loads
    predictor = predictor_for_run(args.model)
    s = annotate_video(args.input, predictor, args.out, csv_path=args.csv, smooth=args.smooth,
                       max_faces=args.max_faces, names=args.names, progress=True)
    print(f"wrote {args.out} ({s['frames']} frames, {s['width']}x{s['height']} at "
          f"{s['video_fps']:g} fps; faces in {s['frames_with_faces']} frames; processed at "
          f"{s['fps']:.0f} frames/s)" + (f" and {args.csv} ({s['rows']} rows)" if args.csv else ""))


# --- the synthetic test video --------------------------------------------------------

def youtube_faces_photos(count, split="test", seed=0, detector=None):
    """`count` YouTube-Faces source photos (BGR) with their 15 keypoints (30,) in photo px.

    Taken from the default dataset's `split` (person-disjoint from training),
    keeping near-frontal, level faces the detector finds in the photo itself.
    """
    import pandas as pd

    from ..data import find_root, load_dataset

    root = find_root("youtube-faces")
    meta = load_dataset("faces15", progress=False).meta
    files = set(meta.loc[(meta["source"] == "youtube-faces") & (meta["split"] == split), "file"])
    tables = [pd.read_csv(root / f"{name}_frames_keypoints.csv")
              for name in ("training", "test")]
    names = np.concatenate([t.iloc[:, 0].to_numpy(str) for t in tables])
    folders = np.repeat(["training", "test"], [len(t) for t in tables])
    coords = np.concatenate([t.iloc[:, 1:].to_numpy(np.float64) for t in tables])
    wanted = [i for i, (fo, fi) in enumerate(zip(folders, names)) if f"{fo}/{fi}" in files]
    detector = detector or detect.FaceDetector()
    rng = np.random.default_rng(seed)
    photos = []
    for i in rng.permutation(wanted):
        points = kp.from_ibug68(coords[i].reshape(68, 2))
        m = measure(points)
        x0, y0, side = face_frame(points)
        if abs(m["roll_deg"]) > 8 or m["eye_mouth_ratio"] < 0.8 or side < 100:
            continue
        image = cv2.imread(str(root / folders[i] / names[i]), cv2.IMREAD_COLOR)
        boxes = detector.detect(image)
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        near = np.linalg.norm(centres - (x0 + side / 2, y0 + side / 2), axis=1) < side / 4
        if near.any():
            photos.append((image, points))
        if len(photos) == count:
            return photos
    raise ValueError(f"only {len(photos)} usable YouTube-Faces photos in split {split!r}")


def errors_vs_truth(table, truth):
    """Error of each CSV row against the nearest true face of its frame.

    `table`: the video CSV (a DataFrame); `truth`: (frames, faces, 30) from
    ``make_test_video``. Returns (rows,) mean point errors in percent of the
    true inter-ocular distance (NME); inf for a row on a frame with no face.
    """
    from ..core.metrics import interocular

    est = kp.as_points(table[list(kp.COLUMNS)].to_numpy(np.float64))
    out = np.full(len(est), np.inf)
    for r, (frame, points) in enumerate(zip(table["frame"].to_numpy(), est)):
        faces = truth[frame][~np.isnan(truth[frame]).any(axis=1)]
        if len(faces):
            errors = np.linalg.norm(kp.as_points(faces) - points, axis=-1).mean(axis=1)
            out[r] = np.min(100 * errors / interocular(faces))
    return out


def _background(height, width, rng):
    """A smooth random texture (BGR), so the face is not on a flat colour."""
    coarse = rng.uniform(40, 200, (height // 40 + 2, width // 40 + 2, 3)).astype(np.float32)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255)


def _pose(i, frames, motion, slot, count, width, height):
    """(centre x, centre y, zoom, roll degrees) of a face in frame i."""
    cx, cy = (slot + 0.5) * width / count, height / 2
    if motion == "static":
        return cx, cy, 1.0, 0.0
    u = i / max(frames - 1, 1)
    return (cx + TEST_DRIFT[0] * width * np.sin(2 * np.pi * u),
            cy + TEST_DRIFT[1] * height * np.sin(4 * np.pi * u),
            1.0 + TEST_ZOOM * np.sin(2 * np.pi * u + 1.0),
            TEST_ROLL_DEG * np.sin(3 * np.pi * u))


def make_test_video(path, photos, frames=60, size=(640, 480), fps=30.0, motion="moving",
                    blank_frames=(), noise=TEST_NOISE, seed=0):
    """Write a video of real faces pasted on a background; return the true keypoints.

    Args:
        path: output video (.mp4, mp4v codec).
        photos: list of (image uint8 BGR or gray, keypoints (30,) in image px),
            e.g. ``youtube_faces_photos(2)``; one face per photo, side by side.
        frames, size (width, height), fps: of the video.
        motion: "moving" (drift, zoom +-TEST_ZOOM, roll +-TEST_ROLL_DEG) or
            "static" (the same pose every frame: only sensor noise changes).
        blank_frames: frame indices showing the background only.
        noise: std of the Gaussian noise added to every frame (grey levels).

    Returns: true keypoints (frames, len(photos), 30) in frame px, NaN where
    a frame shows no face.
    """
    if motion not in ("moving", "static"):
        raise ValueError(f"motion must be 'moving' or 'static', got {motion!r}")
    width, height = size
    rng = np.random.default_rng(seed)
    background = _background(height, width, rng)
    truth = np.full((frames, len(photos), 2 * kp.NUM_KEYPOINTS), np.nan)
    blank = set(blank_frames)
    with atomic_path(_check_output(path, "path")) as tmp:
        writer = open_writer(tmp, width, height, fps)
        try:
            for i in range(frames):
                frame = background.copy()
                for slot, (image, points) in enumerate(photos):
                    if i in blank:
                        continue
                    pose = _pose(i, frames, motion, slot, len(photos), width, height)
                    truth[i, slot] = _paste(frame, image, points, pose, height / len(photos) ** 0.5)
                frame += rng.normal(0, noise, frame.shape)
                writer.write(frame.clip(0, 255).astype(np.uint8))
        finally:
            writer.release()
    return truth


def _paste(frame, image, points, pose, room):
    """Paste `image` into `frame` (float, in place) at `pose`; its keypoints there."""
    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    x0, y0, side = face_frame(points)
    cx, cy, zoom, roll = pose
    scale = TEST_FACE_SIDE * room * zoom / side
    m = cv2.getRotationMatrix2D((x0 + side / 2, y0 + side / 2), roll, scale)
    m[:, 2] += (cx - (x0 + side / 2), cy - (y0 + side / 2))
    h, w = frame.shape[:2]
    warped = cv2.warpAffine(image.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones(image.shape[:2], np.float32), m, (w, h))[..., None]
    frame *= 1 - mask
    frame += warped * mask
    pts = kp.as_points(np.asarray(points, dtype=np.float64))
    return (pts @ m[:, :2].T + m[:, 2]).reshape(-1)


# --- still images ------------------------------------------------------------------

def read_color(path):
    """Read an image file as BGR uint8, or a clear error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: not a readable image (JPEG or PNG expected)")
    return image


def annotate_image(image, predictor, max_faces=5, names=True):
    """(drawn BGR image, faces) for one still image."""
    pipeline = FacePipeline(predictor, smooth="none", max_faces=max_faces, detect_every=1)
    faces = pipeline(image, 0.0)
    return draw(image, faces, names=names), faces


def predict_image_cli(args):
    """``python -m landmarklib predict-image IMG... --model RUN --out DIR``."""
    images = [read_color(p) for p in args.images]  # every input checked before any work
    predictor = predictor_for_run(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, image in zip(map(Path, args.images), images):
        drawn, faces = annotate_image(image, predictor, max_faces=args.max_faces)
        target = out / f"{path.stem}_landmarks.png"
        with atomic_path(target) as tmp:
            if not cv2.imwrite(str(tmp), drawn):
                raise ValueError(f"{target}: OpenCV could not write this image")
        rows.extend([str(path)] + r[2:] for r in csv_rows(0, 0.0, faces))
        print(f"{path}: {len(faces)} face(s) -> {target}")
    with atomic_path(out / "landmarks.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("file",) + CSV_COLUMNS[2:])
            writer.writerows(rows)


# --- webcam ------------------------------------------------------------------------

# Colab runs the notebook on a server: the browser grabs a webcam frame in
# JavaScript and returns it as a JPEG data URL (google.colab.output.eval_js).
COLAB_CAPTURE_JS = """
async function captureFrame(quality) {
  const video = document.createElement('video');
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  document.body.appendChild(video);
  video.srcObject = stream;
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 800));  // let exposure settle
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  video.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


def colab_capture(quality=0.9):
    """One webcam frame (BGR) through the browser, on Colab only."""
    import base64

    try:
        from google.colab.output import eval_js
    except ImportError:
        raise NoDisplayError("colab_capture works in Google Colab only; locally use "
                             "capture_frame() or `python -m landmarklib webcam`") from None
    url = eval_js(COLAB_CAPTURE_JS + f"captureFrame({quality})")
    data = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def capture_frame(camera=0):
    """One frame (BGR) from a local camera; needs no GUI."""
    cap = cv2.VideoCapture(camera)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"camera {camera}: cannot be opened or gave no frame")
    return frame



class NoDisplayError(RuntimeError):
    """This OpenCV build has no GUI (opencv-python-headless)."""


def gui_available():
    """True if this OpenCV can open windows (the headless wheel cannot)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


def check_display():
    """NoDisplayError, with what to do, if this OpenCV cannot open windows."""
    if not gui_available():
        raise NoDisplayError(
            "this OpenCV has no GUI (opencv-python-headless, as the project pins for servers "
            "and Colab); for a local window run `pip install opencv-python` in this "
            "environment, or use the Colab / local paths of notebooks/05_demo.ipynb")


def webcam(predictor, camera=0, smooth="one-euro", max_faces=1, names=False):
    """Live landmarks in a resizable, aspect-keeping window; `q` or closing it quits."""
    check_display()
    cap = cv2.VideoCapture(camera)
    if not cap.isOpened():
        raise ValueError(f"camera {camera}: cannot be opened (is it connected and free?)")
    pipeline = FacePipeline(predictor, smooth=smooth, max_faces=max_faces)
    cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
    fps, last, start = None, time.perf_counter(), time.perf_counter()
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                raise ValueError(f"camera {camera}: stopped delivering frames")
            now = time.perf_counter()
            fps = 1 / (now - last) if fps is None else 0.9 * fps + 0.1 / max(now - last, 1e-6)
            last = now
            cv2.imshow(WINDOW, draw(frame, pipeline(frame, now - start), names=names, fps=fps))
            key = cv2.waitKey(1) & 0xFF
            if key == ord("q") or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                break
    finally:
        cap.release()
        cv2.destroyAllWindows()


def webcam_cli(args):
    """``python -m landmarklib webcam --model RUN``."""
    try:
        check_display()  # say so before loading a model
    except NoDisplayError as err:
        raise SystemExit(f"error: {err}") from None
    webcam(predictor_for_run(args.model), camera=args.camera, smooth=args.smooth,
           max_faces=args.max_faces, names=getattr(args, "names", False))


# --- figures for 05_demo ------------------------------------------------------------------

def read_frame(path, index):
    """Frame `index` of a video as RGB (for matplotlib)."""
    cap, info = open_video(path)
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = cap.read()
    finally:
        cap.release()
    if not ok:
        raise ValueError(f"{path}: no frame {index}")
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def jitter_axes(ax, raw, smoothed, fps):
    """Per-frame displacement (px, mean over keypoints) of a still face, raw vs smoothed."""
    t = np.arange(1, len(raw)) / fps
    for name, points in (("raw", raw), ("One-Euro", smoothed)):
        step = np.linalg.norm(np.diff(kp.as_points(points), axis=0), axis=-1).mean(axis=1)
        ax.plot(t, step, label=f"{name}: mean {smoothing.jitter(points):.2f} px")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frame-to-frame move (px)")
    ax.set_title("still face: jitter")
    ax.legend()


def smoothing_figure(raw, fps, unit, min_cutoff=smoothing.MIN_CUTOFF, beta=smoothing.BETA,
                     keypoint="nose_tip"):
    """Raw vs smoothed trajectory of one keypoint and the jitter, for chosen filter settings.

    `raw`: (T, 30) unsmoothed keypoints of one face in frame px, `unit` the
    face unit (px) of ``smoothing.Track``. Use it with ipywidgets.interact.
    """
    import matplotlib.pyplot as plt

    times = np.arange(len(raw)) / fps
    smoothed = smoothing.smooth_trajectory(raw, times, unit, min_cutoff=min_cutoff, beta=beta)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    i = 2 * kp.INDEX[keypoint]
    left.plot(times, raw[:, i], ".", label="raw", alpha=0.6)
    left.plot(times, smoothed[:, i], label="One-Euro")
    left.set_xlabel("time (s)")
    left.set_ylabel(f"{keypoint} x (px)")
    left.set_title(f"min_cutoff {min_cutoff:g} Hz, beta {beta:g}")
    left.legend()
    jitter_axes(right, raw, smoothed, fps)
    fig.tight_layout()
    return fig


def smoothing_widget(raw, fps, unit):
    """Sliders (min_cutoff, beta, keypoint) that redraw ``smoothing_figure`` live."""
    import ipywidgets
    import matplotlib.pyplot as plt

    def redraw(min_cutoff, beta, keypoint):
        smoothing_figure(raw, fps, unit, min_cutoff=min_cutoff, beta=beta, keypoint=keypoint)
        plt.show()

    return ipywidgets.interactive(
        redraw, keypoint=ipywidgets.Dropdown(options=kp.NAMES, value="nose_tip"),
        min_cutoff=ipywidgets.FloatSlider(value=smoothing.MIN_CUTOFF, min=0.1, max=5, step=0.1),
        beta=ipywidgets.FloatSlider(value=smoothing.BETA, min=0, max=0.5, step=0.01))


def demo_figure(video_path, table, truth, frames, still_raw, still_smoothed, fps, save_to=None):
    """The report's demo figure: annotated frames, jitter of a still face, roll vs truth.

    Args:
        video_path: the annotated video; `frames` the frame indices to show.
        table: its CSV (DataFrame); `truth` the true keypoints of the video.
        still_raw, still_smoothed: (T, 30) keypoints of a still face without
            and with smoothing; `fps` their frame rate.
        save_to: path without suffix for PDF and PNG (``plots.save_figure``).
    """
    import matplotlib.pyplot as plt

    from ..evaluation.plots import save_figure

    fig = plt.figure(figsize=(10, 5.6))
    grid = fig.add_gridspec(2, len(frames), height_ratios=(1, 0.9))
    for col, index in enumerate(frames):
        ax = fig.add_subplot(grid[0, col])
        ax.imshow(read_frame(video_path, index))
        rows = table[table["frame"] == index]
        label = ", ".join(f"roll {r.roll_deg:+.0f}°" for r in rows.itertuples()) or "no face"
        ax.set_title(f"frame {index}: {label}", fontsize=8)
        ax.set_axis_off()
    half = max(len(frames) // 2, 1)
    jitter_axes(fig.add_subplot(grid[1, :half]), still_raw, still_smoothed, fps)
    ax = fig.add_subplot(grid[1, half:])
    true_roll = measure(truth)["roll_deg"]
    for face in range(truth.shape[1]):
        ax.plot(np.arange(len(truth)) / fps, true_roll[:, face], color="gray",
                label="true" if face == 0 else None)
    for face_id, rows in table.groupby("face_id"):
        ax.plot(rows["time_s"], rows["roll_deg"], ".", ms=3, label=f"face {face_id}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("head roll (degrees)")
    ax.set_title("moving faces: roll from the eye line")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    if save_to is not None:
        save_figure(fig, save_to)
    return fig
