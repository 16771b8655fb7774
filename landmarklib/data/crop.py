"""Turn a photo with landmarks into a 96x96 grayscale crop framed like Kaggle's.

Framing rule (see 01_explore, "Framing"): Kaggle's training-set means put the
eye centres about 36 px apart at y ~ 38 and the mouth centre at y ~ 76-79, so
the eyes-to-mouth distance is also about 38 px. We measure both distances on
the source face and use the *larger* of the two ratios

    face_size = max(eye_distance / 36, eye_to_mouth / 38)   (source px per crop px)

so a profile face (eyes close together, eye-mouth distance intact) gets the
same size as a frontal one instead of a tiny box. The midpoint between the eye
centre and the mouth centre goes exactly to (48.4, 57.0), Kaggle's mean
(``kp.FACE_AXIS_X``, the axis the flip mirrors about). The crop is
square and axis-aligned: head roll stays in the data, as in Kaggle's.
"""
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..core import keypoints as kp
from ..core.errors import LandmarkError

EYE_DISTANCE = 36.0     # crop px between the eye centres (Kaggle mean: 66.4 - 30.3)
EYE_TO_MOUTH = 38.0     # crop px from the eye midpoint to the mouth midpoint
FACE_CENTRE = (kp.FACE_AXIS_X, 57.0)  # crop position of the eyes-mouth midpoint


class ImageReadError(LandmarkError):
    """An image file that cannot be decoded; the message names the file."""


def read_image(path, color=False):
    """Read a JPEG/PNG file (whatever its extension): the package's one image reader.

    Args:
        path: the image file (any characters in the name: read as bytes, not by OpenCV).
        color: return uint8 BGR (h, w, 3) instead of uint8 gray (h, w).

    Raises FileNotFoundError or ImageReadError, each naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    return decode_image(np.fromfile(path, dtype=np.uint8), path, color)


def decode_image(data, name, color=False):
    """Decode JPEG/PNG bytes (a file's content, an upload) to uint8 gray, or BGR with `color`.

    Args:
        data: the encoded bytes (bytes, memoryview or a uint8 array).
        name: what to call the image in an error (its file name or "the upload").
        color: return BGR (h, w, 3) instead of gray (h, w).
    """
    buffer = np.frombuffer(bytes(data), np.uint8) if not isinstance(data, np.ndarray) else data
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR if color else cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageReadError(f"{name}: not a readable image (JPEG or PNG expected)")
    return image if color else to_gray(image)


def read_gray(path):
    """Read any JPEG/PNG (gray, RGB or RGBA, whatever the extension) as uint8 gray."""
    return read_image(path)


def to_uint8(image, where="image"):
    """uint8 pixels from uint8, 16-bit or float images, never silently black.

    Args:
        image: an array; float images in [0, 1] are scaled by 255, float
            images in [0, 255] rounded; 16-bit images scaled down by 257.
        where: what to call the image in an error message.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257).round().astype(np.uint8)
    if image.dtype.kind not in "fiub":
        raise LandmarkError(f"{where}: expected a numeric image, got dtype {image.dtype}")
    values = image.astype(np.float64)
    if values.size and not np.isfinite(values).all():
        raise LandmarkError(f"{where}: expected finite pixel values, got NaN or inf")
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo < 0 or hi > 255:
        raise LandmarkError(f"{where}: expected pixels in [0, 1] (float) or [0, 255], "
                            f"got values from {lo:g} to {hi:g}")
    if image.dtype.kind == "f" and hi <= 1.0:
        values = values * 255.0
    return np.round(values).astype(np.uint8)


def to_gray(image):
    """uint8 gray from a gray, BGR or BGRA array (see ``to_uint8`` for other dtypes)."""
    image = to_uint8(image)
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image[..., 0]


def _centre(pts, names):
    sel = pts[[kp.INDEX[n] for n in names]]
    return np.nanmean(sel, axis=0)


def face_frame(keypoints):
    """Return (x0, y0, side) of the square source box for one Kaggle vector.

    Needs both eye centres and at least one mouth point.
    """
    pts = kp.as_points(np.asarray(keypoints, dtype=np.float64))
    left, right = pts[kp.INDEX["left_eye_center"]], pts[kp.INDEX["right_eye_center"]]
    if np.isnan(left).any() or np.isnan(right).any():
        raise LandmarkError("framing needs both eye centres")
    mouth_names = ("mouth_left_corner", "mouth_right_corner",
                   "mouth_center_top_lip", "mouth_center_bottom_lip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no mouth point: raised below
        mouth = _centre(pts, mouth_names)
    if np.isnan(mouth).any():
        raise LandmarkError("framing needs at least one mouth point")
    eyes = (left + right) / 2
    size = max(np.linalg.norm(left - right) / EYE_DISTANCE,
               np.linalg.norm(mouth - eyes) / EYE_TO_MOUTH)
    centre = (eyes + mouth) / 2
    side = kp.IMAGE_SIZE * size
    # invert _affine (u = (x - x0) / size + (1/size - 1) / 2) so that the
    # eyes-mouth midpoint lands exactly on FACE_CENTRE, whatever the face size
    x0 = centre[0] - FACE_CENTRE[0] * size + (1 - size) / 2
    y0 = centre[1] - FACE_CENTRE[1] * size + (1 - size) / 2
    return x0, y0, side


def crop_face(gray, keypoints, box=None):
    """Crop and scale a face to 96x96; return (crop uint8, keypoints in the crop).

    `keypoints` is a Kaggle vector (30,) in source pixels. `box` is
    (x0, y0, side) of the square source region, by default ``face_frame``.
    Points that fall outside the crop become NaN (missing), never clipped.
    """
    box = face_frame(keypoints) if box is None else box
    s, offset = _affine(box)
    m = np.array([[s, 0, offset[0]], [0, s, offset[1]]])
    if s < 1:
        # warpAffine has no area filter: blur to the target sampling rate first
        gray = cv2.GaussianBlur(gray, (0, 0), sigmaX=0.5 / s, sigmaY=0.5 / s)
    crop = cv2.warpAffine(gray, m, (kp.IMAGE_SIZE, kp.IMAGE_SIZE),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    pts = source_to_crop(kp.as_points(np.asarray(keypoints, dtype=np.float64)), box)
    outside = (pts < -0.5).any(axis=-1) | (pts > kp.IMAGE_SIZE - 0.5).any(axis=-1)
    pts[outside] = np.nan
    return crop, pts.reshape(-1).astype(np.float32)


def _affine(box):
    """Scale and offset of the map source px -> crop px for a square box.

    Crop pixel u covers source [x0 + u/s, x0 + (u+1)/s), so pixel centres map
    by u = (x - x0) * s + (s - 1) / 2.
    """
    x0, y0, side = box
    s = kp.IMAGE_SIZE / side
    return s, np.array([-x0 * s + (s - 1) / 2, -y0 * s + (s - 1) / 2])


def source_to_crop(points, box):
    """Map points (..., 2) from source pixels into the 96x96 crop of `box`."""
    s, offset = _affine(box)
    return np.asarray(points, dtype=np.float64) * s + offset


def crop_to_source(points, box):
    """Map points (..., 2) from the 96x96 crop of `box` back to source pixels."""
    s, offset = _affine(box)
    return (np.asarray(points, dtype=np.float64) - offset) / s
