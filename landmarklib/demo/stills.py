"""Landmarks on still images (``python -m landmarklib predict-image``).

Each photo goes through ``inference.photo.landmarks_in_photo`` (detector ->
framing -> refine -> predict), the same code as the video tracker's new
faces, the Colab capture and the inspector's upload; ``draw.draw`` scales the
marks with the face and writes names only where they fit.
"""
import csv
from pathlib import Path

import cv2

from ..core.errors import LandmarkError
from ..core.files import atomic_path
from ..data.crop import read_image
from ..inference.photo import MAX_FACES, predictor_for_run
from .draw import draw
from .tracking import faces_in_image
from .video import CSV_COLUMNS, csv_rows


def read_color(path):
    """Read an image file as BGR uint8, or a clear error naming it (``data.crop.read_image``)."""
    return read_image(path, color=True)


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
    """``python -m landmarklib predict-image IMG... --model RUN --out DIR``."""
    images = [read_color(p) for p in args.images]  # every input checked before any work
    predictor = predictor_for_run(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, image in zip(map(Path, args.images), images):
        drawn, faces = annotate_image(image, predictor, max_faces=args.max_faces,
                                      passes=args.passes)
        target = out / f"{path.stem}_landmarks.png"
        with atomic_path(target) as tmp:
            if not cv2.imwrite(str(tmp), drawn):
                raise LandmarkError(f"{target}: OpenCV could not write this image")
        rows.extend([str(path)] + r[2:] for r in csv_rows(0, 0.0, faces))
        print(f"{path}: {len(faces)} face(s) -> {target}")
    with atomic_path(out / "landmarks.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("file",) + CSV_COLUMNS[2:])
        writer.writerows(rows)
