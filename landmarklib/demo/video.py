"""Landmarks on a video file: read, track, draw, write (``python -m landmarklib video``).

``python -m landmarklib video IN.mp4 --model models/v4-cpu --out OUT.mp4
--csv OUT.csv`` writes the annotated video (same size, fps and frame count
as the input; mp4v codec, which OpenCV writes without ffmpeg: convert with
``ffmpeg -i OUT.mp4 -c:v libx264 -pix_fmt yuv420p OUT-h264.mp4`` for
browsers) and one CSV row per face per frame (``CSV_COLUMNS``; the derived
measurements are explained in ``inference.measurements``). Faces are found and
followed by ``demo.tracking.FaceTracker`` (the detector, then the keypoints
of each frame frame the next one), cropped and refined by ``inference.photo``.

Both files are written under temporary names and renamed together at the end
(``core.files.OutputSet``), so an interrupted run leaves nothing that looks
complete; neither may be the input video, nor each other. A video whose decoding
stops before the frame count its container claims is not passed off as
complete either: the frames that were read go to ``OUT.partial.mp4`` (and
``OUT.partial.csv``) and the command fails naming how many frames it read of
how many. See 05_demo.
"""
import csv
import sys
import time
from pathlib import Path

import numpy as np

from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import OutputSet, check_outputs
from ..inference.measurements import MEASUREMENTS, measure
from ..inference.photo import make_predictor, predictor_for_run  # noqa: F401  (lm.video.make_predictor)
from ..inference.video_io import (check_output, is_complete, open_video, open_writer,
                                  partial_path, read_frames)
from .draw import draw
from .tracking import FaceTracker

CSV_COLUMNS = (("frame", "time_s", "face_id", "box_x", "box_y", "box_w", "box_h")
               + kp.COLUMNS + MEASUREMENTS)
PROGRESS_EVERY = 100     # frames between progress lines


class PartialVideoError(LandmarkError):
    """Decoding stopped early; ``stats`` holds the counts, the outputs are ``*.partial.*``.

    A LandmarkError: the input video is damaged, so the command line prints
    its one line (where the partial outputs went) and exits 2."""

    def __init__(self, message, stats):
        super().__init__(message)
        self.stats = stats


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
    check_outputs([("--out", out), ("--csv", csv_path)], [("input", src)])
    cap, info = open_video(src)
    tracker = FaceTracker(predictor, detector=detector, max_faces=max_faces, smooth=smooth,
                          **tracker_args)
    count, rows, with_faces = 0, [], 0
    start = time.perf_counter()
    with OutputSet(inputs=[("input", src)]) as outputs:
        try:
            tmp_video = outputs.add(out, "--out")
            tmp_csv = outputs.add(csv_path, "--csv") if csv_path else None
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
                 "height": info["height"], "video_fps": info["fps"],
                 "claimed_frames": info["frames"]}
        if not is_complete(count, info["frames"]):
            outputs.commit(rename=partial_path)   # what was read, under *.partial.* names
            partial = [str(partial_path(p)) for p in (out, csv_path) if p]
            raise PartialVideoError(
                f"{src}: decoding stopped after {count} of the {info['frames']} frames the "
                f"file claims (damaged or cut short); the {count} frames read are in "
                + " and ".join(partial), stats)
    return stats


def video_cli(args):
    """``python -m landmarklib video INPUT --model RUN --out OUT.mp4 [--csv OUT.csv]``."""
    check_output(args.out)
    check_outputs([("--out", args.out), ("--csv", args.csv)], [("input", args.input)])
    if not Path(args.input).is_file():
        raise FileNotFoundError(f"{args.input}: no such video file")
    open_video(args.input)[0].release()  # bad input fails before the model loads
    predictor = predictor_for_run(args.model)
    s = annotate_video(args.input, predictor, args.out, csv_path=args.csv, smooth=args.smooth,
                       max_faces=args.max_faces, names=args.names, progress=True)
    print(f"wrote {args.out} ({s['frames']} frames, {s['width']}x{s['height']} at "
          f"{s['video_fps']:g} fps; faces in {s['frames_with_faces']} frames; processed at "
          f"{s['fps']:.0f} frames/s)" + (f" and {args.csv} ({s['rows']} rows)" if args.csv else ""))
