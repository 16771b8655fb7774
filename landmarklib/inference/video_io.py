"""Reading and writing video files with OpenCV, with errors that say what is wrong.

``open_video`` opens a file and decodes its first frame (a file OpenCV cannot
decode fails here, naming the file and what to do); ``read_frames`` yields every
frame; ``open_writer`` writes mp4v, which OpenCV writes without ffmpeg;
``check_output`` checks an output's suffix; ``is_complete`` and ``partial_path``
tell a video whose decoding stopped early from a complete one. The ``video``
command (``demo.video``) and the real-pipeline test videos
(``evaluation.realworld_videos``) use them.
"""
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import LandmarkError

FOURCC = "mp4v"          # OpenCV writes it without ffmpeg
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v")
DEFAULT_FPS = 30.0       # when a file does not say
# Containers may estimate their frame count from the duration: a video is
# complete if at most this many frames (or this fraction) are missing.
MISSING_FRAMES_OK = 2
MISSING_FRACTION_OK = 0.01


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
