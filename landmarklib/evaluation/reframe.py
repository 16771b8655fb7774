"""Test faces cropped the way the demo crops them: from a face detector.

The datasets frame every crop from its own landmarks (``data.crop``), so test
faces are perfectly centred and sized: easier than in real use, where the
first crop comes from a face detector (``inference.face_detectors``) that is
off by a few pixels in position, scale and roll. ``detector_framed`` rebuilds
a YouTube-Faces split that way, from the original photos, with the demo's own
code: the detector's *largest* face (as ``predict-image`` and the video
tracker pick it, never the one nearest the truth) and its first framing
(``inference.photo.first_framing``), cropped de-rotated by
``photo.crop_framing``; the true keypoints are mapped into that crop. So
augmentation (which teaches exactly this robustness) can be judged where it
matters. See 04_evaluate, "Augmentation ablation".
"""
import numpy as np

from ..core import keypoints as kp
from ..data import FaceSet, find_root, read_gray
from ..data.sources import youtube_faces_annotations
from ..inference import photo


def detector_framed(faces, root=None, detector=None):
    """Re-crop the YouTube-Faces rows of `faces` from the detector's first framing.

    Args:
        faces: a FaceSet with meta columns source and file.
        root: the YouTube-Faces folder (default: found as the converter finds it).
        detector: a face detector (default ``photo.default_detector()``).

    Returns:
        (FaceSet, missed): the crops with their keypoints (NaN where a point
        falls outside the crop), and how many photos had no face found or
        whose largest face is another one (its crop holds neither true eye).
    """
    root = find_root("youtube-faces", root)
    detector = detector or photo.default_detector()
    source = youtube_faces_annotations(root)
    rows = np.flatnonzero(faces.meta["source"].to_numpy() == "youtube-faces")
    images, keypoints, kept, missed = [], [], [], 0
    for i in rows:
        name = faces.meta["file"].iloc[i]
        gray = read_gray(root / name)
        found = detector.detect(gray)
        if not found:
            missed += 1
            continue
        framing = photo.first_framing(found[0])
        points = photo.to_crop(kp.as_points(source[name]), framing)
        outside = (points < -0.5).any(axis=-1) | (points > kp.IMAGE_SIZE - 0.5).any(axis=-1)
        if outside[[kp.INDEX["left_eye_center"], kp.INDEX["right_eye_center"]]].all():
            missed += 1
            continue
        points[outside] = np.nan
        images.append(photo.crop_framing(gray, framing))
        keypoints.append(points.reshape(-1))
        kept.append(i)
    meta = faces.meta.iloc[kept].reset_index(drop=True)
    meta["framing"] = "detector"
    return FaceSet(np.array(images, np.uint8).reshape(-1, kp.IMAGE_SIZE, kp.IMAGE_SIZE),
                   np.array(keypoints, np.float32).reshape(-1, 2 * kp.NUM_KEYPOINTS), meta), missed
