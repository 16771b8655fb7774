"""Test faces cropped the way the demo crops them: from a face detector's box.

The datasets frame every crop from its own landmarks (``datasets.crop``), so
test faces are perfectly centred and sized: easier than in real use, where
the crop comes from a detector box (``landmarklib.detect``) that is off by a
few pixels in position and scale. ``detector_framed`` rebuilds a YouTube-Faces
split that way, from the original photos, so that augmentation (which teaches
exactly this robustness) can be judged where it matters. See 04_evaluate,
"Augmentation ablation".
"""
import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..data import FaceSet, crop_face, face_frame, find_root, read_gray


def _source_keypoints(root):
    """Kaggle vectors in source pixels for every YouTube-Faces photo, by file."""
    out = {}
    for csv_name, folder in (("training_frames_keypoints.csv", "training"),
                             ("test_frames_keypoints.csv", "test")):
        table = pd.read_csv(root / csv_name)
        points = kp.from_ibug68(table.iloc[:, 1:].to_numpy(np.float64).reshape(-1, 68, 2))
        out.update({f"{folder}/{name}": p for name, p in zip(table.iloc[:, 0], points)})
    return out


def detector_framed(faces, root=None, detector=None):
    """Re-crop the YouTube-Faces rows of `faces` from detector boxes.

    Returns (FaceSet, missed): the crops with their keypoints, and how many
    photos the detector found no face in (those are left out, as in a video).
    """
    from ..inference.detect import FaceDetector, box_to_frame

    root = find_root("youtube-faces", root)
    detector = detector or FaceDetector()
    source = _source_keypoints(root)
    rows = np.flatnonzero(faces.meta["source"].to_numpy() == "youtube-faces")
    images, keypoints, kept, missed = [], [], [], 0
    for i in rows:
        name = faces.meta["file"].iloc[i]
        gray = read_gray(root / name)
        truth = source[name]
        x0, y0, side = face_frame(truth)
        boxes = detector.detect(gray)
        if len(boxes) == 0:
            missed += 1
            continue
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        nearest = boxes[np.argmin(np.linalg.norm(centres - (x0 + side / 2, y0 + side / 2), axis=1))]
        crop, points = crop_face(gray, truth, box=box_to_frame(nearest))
        images.append(crop)
        keypoints.append(points)
        kept.append(i)
    meta = faces.meta.iloc[kept].reset_index(drop=True)
    meta["framing"] = "detector"
    return FaceSet(np.array(images, np.uint8).reshape(-1, kp.IMAGE_SIZE, kp.IMAGE_SIZE),
                   np.array(keypoints, np.float32).reshape(-1, 2 * kp.NUM_KEYPOINTS), meta), missed
