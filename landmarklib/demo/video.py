"""Landmarks on a video file: read, track, draw, write (``python -m landmarklib video``).

``python -m landmarklib video IN.mp4 --model models/v4-cpu --out OUT.mp4
--csv OUT.csv`` writes the annotated video (same size, fps and frame count
as the input; mp4v codec, which OpenCV writes without ffmpeg: convert with
``ffmpeg -i OUT.mp4 -c:v libx264 -pix_fmt yuv420p OUT-h264.mp4`` for
browsers) and one CSV row per face per frame (``CSV_COLUMNS``; the derived
measurements are explained in ``demo.measurements``). Faces are found and
followed by ``demo.tracking.FaceTracker`` (the detector, then the keypoints
of each frame frame the next one), cropped and refined by ``inference.photo``.

Both files are written under temporary names and renamed at the end, so an
interrupted run leaves nothing that looks complete. A video whose decoding
stops before the frame count its container claims is not passed off as
complete either: the frames that were read go to ``OUT.partial.mp4`` (and
``OUT.partial.csv``) and the command fails naming how many frames it read of
how many. See 05_demo.
"""
import csv
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np

from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import atomic_path
from ..inference.photo import make_predictor, predictor_for_run  # noqa: F401  (lm.video.make_predictor)
from .draw import draw
from .measurements import MEASUREMENTS, measure
from .tracking import FaceTracker

FOURCC = "mp4v"          # OpenCV writes it without ffmpeg
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
DEFAULT_FPS = 30.0       # when a file does not say
CSV_COLUMNS = (("frame", "time_s", "face_id", "box_x", "box_y", "box_w", "box_h")
               + kp.COLUMNS + MEASUREMENTS)
# Containers may estimate their frame count from the duration: a video is
# complete if at most this many frames (or this fraction) are missing.
MISSING_FRAMES_OK = 2
MISSING_FRACTION_OK = 0.01
PROGRESS_EVERY = 100     # frames between progress lines


class PartialVideoError(ValueError):
    """Decoding stopped early; ``stats`` holds the counts, the outputs are ``*.partial.*``."""

    def __init__(self, message, stats):
        super().__init__(message)
        self.stats = stats


def open_video(path):
    """(cv2.VideoCapture, info dict) for a readable video, else a clear error.

    Args:
        path: the video file.

    Returns:
        info: width, height, fps, frames (as the container claims), first (the
        first frame, already decoded to check that decoding works).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    if path.stat().st_size == 0:
        raise LandmarkError(f"{path}: the file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise LandmarkError(f"{path}: OpenCV cannot open this as a video: it is not a video "
                         f"file, or it has no frames, or it is damaged")
    claimed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, first = cap.read()
    if not ok or first is None:
        cap.release()
        if claimed <= 0:
            raise LandmarkError(f"{path}: the video has no frames")
        raise LandmarkError(f"{path}: no frame could be decoded: its codec is not one this "
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
        raise LandmarkError(f"{path}: OpenCV cannot write a {FOURCC} video here")
    return writer


def check_output(path, what="--out"):
    """`path` as a Path if it names a video file, else a clear error."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise LandmarkError(f"{path}: {what} should be a video file ending in one of "
                         f"{', '.join(VIDEO_SUFFIXES)}")
    return path


def partial_path(path):
    """Where the output of an incompletely decoded video goes: NAME.partial.SUFFIX."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def is_complete(read, claimed):
    """True if `read` frames are all of a video whose container claims `claimed`."""
    missing = claimed - read
    return claimed <= 0 or missing <= max(MISSING_FRAMES_OK, MISSING_FRACTION_OK * claimed)


def csv_rows(frame_index, t, faces):
    """CSV_COLUMNS rows (lists) for the faces of one frame."""
    rows = []
    for face in faces:
        m = measure(face.keypoints)
        rows.append([frame_index, round(t, 4), face.face_id, *np.round(face.box, 1),
                     *np.round(face.keypoints, 2), *(round(float(m[c]), 3) for c in MEASUREMENTS)])
    return rows


def write_csv(rows, path, columns=CSV_COLUMNS):
    """A header of `columns` + rows, to `path`."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(rows)


def annotate_video(src, predictor, out, csv_path=None, smooth="one-euro", max_faces=1,
                   names=False, progress=False, detector=None, **tracker_args):
    """Landmarks on every frame of `src` -> annotated `out` (+ measurements CSV).

    Args:
        src: input video; out: annotated video (.mp4 ...); csv_path: optional CSV.
        predictor: crops -> keypoints (``inference.photo.make_predictor``).
        smooth, max_faces, detector, **tracker_args: of ``tracking.FaceTracker``.
        names: draw keypoint names where they fit.
        progress: print a line every PROGRESS_EVERY frames.

    Returns:
        dict: frames, rows (faces found), frames_with_faces, detections
        (detector runs), seconds, fps (processing speed), and the video's
        width, height, fps and claimed frame count.

    Raises:
        PartialVideoError: decoding stopped early (outputs in ``*.partial.*``).
    """
    out = check_output(out)
    if Path(src).resolve() == out.resolve():
        raise LandmarkError(f"{out}: the output would overwrite the input video")
    cap, info = open_video(src)
    tracker = FaceTracker(predictor, detector=detector, max_faces=max_faces, smooth=smooth,
                          **tracker_args)
    staged = {out: partial_path(out)}
    if csv_path:
        staged[Path(csv_path)] = partial_path(csv_path)
    count, rows, with_faces = 0, [], 0
    start = time.perf_counter()
    try:
        with ExitStack() as stack:
            tmp_video = stack.enter_context(atomic_path(staged[out]))
            tmp_csv = stack.enter_context(atomic_path(staged[Path(csv_path)])) if csv_path else None
            writer = open_writer(tmp_video, info["width"], info["height"], info["fps"])
            try:
                for count, frame in enumerate(read_frames(cap, info["first"]), start=1):
                    t = (count - 1) / info["fps"]
                    faces = tracker(frame, t)
                    with_faces += bool(faces)
                    rows.extend(csv_rows(count - 1, t, faces))
                    writer.write(draw(frame, faces, names=names))
                    if progress and count % PROGRESS_EVERY == 0:
                        print(f"  frame {count}/{info['frames']}", file=sys.stderr)
            finally:
                writer.release()
            if tmp_csv is not None:
                write_csv(rows, tmp_csv)
    finally:
        cap.release()
    seconds = time.perf_counter() - start
    stats = {"frames": count, "rows": len(rows), "frames_with_faces": with_faces,
             "detections": tracker.detections, "seconds": seconds,
             "fps": count / max(seconds, 1e-9), "width": info["width"],
             "height": info["height"], "video_fps": info["fps"], "claimed_frames": info["frames"]}
    if not is_complete(count, info["frames"]):
        raise PartialVideoError(
            f"{src}: decoding stopped after {count} of the {info['frames']} frames the file "
            f"claims (damaged or cut short); the {count} frames read are in "
            + " and ".join(str(p) for p in staged.values()), stats)
    for final, partial in staged.items():
        os.replace(partial, final)
    return stats


def video_cli(args):
    """``python -m landmarklib video INPUT --model RUN --out OUT.mp4 [--csv OUT.csv]``."""
    check_output(args.out)
    if not Path(args.input).is_file():
        raise FileNotFoundError(f"{args.input}: no such video file")
    open_video(args.input)[0].release()  # bad input fails before the model loads
    predictor = predictor_for_run(args.model)
    s = annotate_video(args.input, predictor, args.out, csv_path=args.csv, smooth=args.smooth,
                       max_faces=args.max_faces, names=args.names, progress=True)
    print(f"wrote {args.out} ({s['frames']} frames, {s['width']}x{s['height']} at "
          f"{s['video_fps']:g} fps; faces in {s['frames_with_faces']} frames; processed at "
          f"{s['fps']:.0f} frames/s)" + (f" and {args.csv} ({s['rows']} rows)" if args.csv else ""))
