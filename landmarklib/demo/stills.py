"""Landmarks on still images (``python -m landmarklib predict-image``).

Each photo goes through ``inference.photo.landmarks_in_photo`` (detector ->
framing -> refine -> predict), the same code as the video tracker's new
faces, the Colab capture and the inspector's upload; ``draw.draw`` scales the
marks with the face and writes names only where they fit.

The command writes its folder as one set (``core.files.OutputSet``): every
``<image>_landmarks.png`` and ``landmarks.csv`` under temporary names, renamed
together at the end; it lists what it wrote in ``.predict-image.json`` there,
so that a rerun into the same folder removes the drawings of its last run that
it does not redraw (and nothing else). An unreadable image is named on one
error line and skipped; the others are still drawn, and the command exits 2.
"""
import csv
import json
import struct
from pathlib import Path

import cv2

from ..core.errors import LandmarkError, ManyErrors
from ..core.files import OutputSet
from ..data.crop import read_image
from ..inference.photo import MAX_FACES, predictor_for_run
from .draw import draw
from .tracking import faces_in_image
from .video import CSV_COLUMNS, csv_rows


# The record, in the output folder, of the files the last run wrote there.
MANIFEST = ".predict-image.json"
CSV_NAME = "landmarks.csv"
SUFFIX = "_landmarks.png"


def png_size(path):
    """(width, height) a PNG file's header claims, or None if it is not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n") or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def read_color(path):
    """Read an image file as BGR uint8, or a clear error naming it (``data.crop.read_image``).

    An image whose header claims more pixels than OpenCV decodes (a damaged or
    hostile file: OpenCV refuses it with an assertion) is a LandmarkError too.
    """
    try:
        return read_image(path, color=True)
    except cv2.error:
        size = png_size(path)
        claims = f"its header claims {size[0]}x{size[1]} pixels, " if size else ""
        raise LandmarkError(f"{path}: {claims}more than OpenCV decodes (damaged, or not a "
                            f"photo)") from None


def read_images(paths):
    """({path: BGR image} of the readable images, [one error line per other image]).

    Args:
        paths: the image files, in order.
    """
    images, errors = {}, []
    for path in paths:
        try:
            images[path] = read_color(path)
        except (LandmarkError, FileNotFoundError, IsADirectoryError, PermissionError) as err:
            errors.append(str(err).splitlines()[0])
    return images, errors


def output_name(path):
    """The drawing's file name for image `path`: ``<stem>_landmarks.png``."""
    return f"{Path(path).stem}{SUFFIX}"


def previous_outputs(folder):
    """The files an earlier predict-image run wrote in `folder` (to replace them).

    Read from its MANIFEST; for a folder written before the manifest existed,
    the drawings named after the images of its landmarks.csv.

    Args:
        folder: the --out folder.
    """
    folder = Path(folder)
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            names = json.loads(manifest.read_text()).get("files", [])
        except (ValueError, AttributeError):
            names = []
    elif (folder / CSV_NAME).is_file():
        with open(folder / CSV_NAME, newline="") as f:
            names = sorted({output_name(row["file"]) for row in csv.DictReader(f)
                            if row.get("file")})
    else:
        names = []
    # only plain names inside the folder (a manifest is never trusted with ../)
    return [folder / n for n in names if isinstance(n, str) and Path(n).name == n]


def annotate_image(image, predictor, max_faces=MAX_FACES, names=True, detector=None, passes=None):
    """(drawn BGR image, faces) for one still image.

    Args:
        image: (H, W) or (H, W, 3) uint8.
        predictor: crops -> keypoints, a keras model or a run folder.
        max_faces: the largest faces kept.
        names: draw keypoint names where they fit.
        detector: a face detector (default: the best installed).
        passes: predictions per face (default ``photo.MAX_PASSES``; more re-crop
            the face from its predicted keypoints).
    """
    faces = faces_in_image(image, predictor, detector=detector, max_faces=max_faces,
                           passes=passes)
    return draw(image, faces, names=names), faces


def predict_image_cli(args):
    """``python -m landmarklib predict-image IMG... --model RUN --out DIR``.

    Every image is read before the model loads; unreadable ones are skipped and
    named at the end (ManyErrors: exit 2). The drawings, landmarks.csv and the
    manifest are written as one set, replacing the last run's files there.
    """
    images, unreadable = (args.decoded, args.unreadable) if hasattr(args, "decoded") else (
        read_images(args.images))
    if not images:
        raise ManyErrors(unreadable)
    predictor = predictor_for_run(args.model)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LandmarkError(f"--out {out}: is a file; expected a folder")
    rows, written, report = [], [], []
    with OutputSet(inputs=[("image", p) for p in args.images]) as outputs:
        for old in previous_outputs(out):
            outputs.remove_on_commit(old)
        for path, image in images.items():
            drawn, faces = annotate_image(image, predictor, max_faces=args.max_faces,
                                          passes=args.passes)
            target = out / output_name(path)
            if target.name in written:
                continue  # the same image given twice
            tmp = outputs.add(target, "--out")
            if not cv2.imwrite(str(tmp), drawn):
                raise LandmarkError(f"{target}: OpenCV could not write this image")
            written.append(target.name)
            rows.extend([str(path)] + r[2:] for r in csv_rows(0, 0.0, faces))
            report.append(f"{path}: {len(faces)} face(s) -> {target}")
        with open(outputs.add(out / CSV_NAME, "--out"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("file",) + CSV_COLUMNS[2:])
            writer.writerows(rows)
        with open(outputs.add(out / MANIFEST, "--out"), "w") as f:
            json.dump({"files": written + [CSV_NAME]}, f, indent=1)
    print("\n".join(report))
    if unreadable:
        raise ManyErrors(unreadable)
