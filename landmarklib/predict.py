"""Predictions from a trained model: arrays, CSV files and Kaggle submissions.

``predict(model, images, flip=True)`` averages the prediction on the image
and, mirrored back, the prediction on its mirror image (test-time flip
augmentation; left/right keypoints swapped). Outputs are clipped to the
image, [0, 96], as Kaggle's scorer expects.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from . import keypoints as kp
from .files import atomic_path
from .pipeline import check_images, to_model_input


def predict(model, images, flip=False, batch_size=256):
    """(N, 30) keypoints in pixels for uint8 images (N, 96, 96)."""
    images = check_images(images)
    x = to_model_input(images.astype(np.uint8) if images.dtype != np.uint8 else images)
    pred = _predict_array(model, x, batch_size)
    if flip:
        mirrored = _predict_array(model, mirror(x), batch_size)
        pred = (pred + kp.flip_horizontal(mirrored, axis=kp.FACE_AXIS_X)) / 2
    return np.clip(pred, 0, kp.IMAGE_SIZE)


def mirror(x, axis=kp.FACE_AXIS_X):
    """Mirror images (N, H, W, 1) about the vertical line x = `axis`.

    Reversing the columns mirrors about the image centre (47.5); the faces'
    midline is at FACE_AXIS_X, so the reversed image is then shifted right by
    2 * axis - 95 px (linear interpolation, black where nothing comes in), as
    the training augmentation mirrors (``augment.flip_matrices``).
    """
    reversed_ = x[:, :, ::-1]
    shift = 2 * axis - (x.shape[2] - 1)
    whole = int(np.floor(shift))
    frac = shift - whole
    out = (1 - frac) * _shift_columns(reversed_, whole) + frac * _shift_columns(reversed_, whole + 1)
    return out.astype(x.dtype)


def _shift_columns(x, n):
    """out[..., u, :] = x[..., u - n, :], zeros where u - n is outside."""
    out = np.zeros_like(x)
    if n >= 0:
        out[:, :, n:] = x[:, :, :x.shape[2] - n]
    else:
        out[:, :, :n] = x[:, :, -n:]
    return out


def _predict_array(model, x, batch_size):
    out = [np.asarray(model(x[i:i + batch_size], training=False))
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 2 * kp.NUM_KEYPOINTS), np.float32)


def write_predictions(faces, pred, path):
    """ImageId (or row number) + the 30 keypoint columns, atomically."""
    ids = faces.meta["ImageId"].to_numpy() if "ImageId" in faces.meta else np.arange(1, len(pred) + 1)
    df = pd.DataFrame(pred, columns=kp.COLUMNS)
    df.insert(0, "ImageId", ids)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")


def write_submission(faces, pred, lookup_path, path):
    """A Kaggle submission (RowId,Location) in IdLookupTable.csv's rows and order."""
    lookup_path = Path(lookup_path)
    if not lookup_path.exists():
        raise FileNotFoundError(f"{lookup_path}: no such IdLookupTable.csv")
    lookup = pd.read_csv(lookup_path)
    missing = {"RowId", "ImageId", "FeatureName"} - set(lookup.columns)
    if missing:
        raise ValueError(f"{lookup_path}: not an IdLookupTable.csv, missing columns {sorted(missing)}")
    ids = faces.meta["ImageId"].to_numpy() if "ImageId" in faces.meta else np.arange(1, len(pred) + 1)
    row_of = {int(i): r for r, i in enumerate(ids)}
    col_of = {c: j for j, c in enumerate(kp.COLUMNS)}
    unknown_ids = sorted(set(lookup["ImageId"]) - set(row_of))
    if unknown_ids:
        raise ValueError(f"{lookup_path}: ImageId {unknown_ids[0]} (and {len(unknown_ids) - 1} more) "
                         f"not among the {len(ids)} images predicted")
    bad_features = sorted(set(lookup["FeatureName"]) - set(col_of))
    if bad_features:
        raise ValueError(f"{lookup_path}: unknown FeatureName {bad_features[0]!r}")
    rows = lookup["ImageId"].map(row_of).to_numpy()
    cols = lookup["FeatureName"].map(col_of).to_numpy()
    location = np.clip(pred[rows, cols], 0, kp.IMAGE_SIZE)
    with atomic_path(path) as tmp:
        pd.DataFrame({"RowId": lookup["RowId"], "Location": location}).to_csv(
            tmp, index=False, float_format="%.4f")


def predict_cli(model_dir, csv_path, out=None, submission=None, lookup=None, flip=False):
    """``python -m landmarklib predict``."""
    from .datasets import read_kaggle_csv
    from .train import load_run

    if not out and not submission:
        raise ValueError("give --out predictions.csv and/or --submission submission.csv")
    if submission and not lookup:
        raise ValueError("--submission needs --lookup IdLookupTable.csv")
    run = load_run(model_dir)
    faces = read_kaggle_csv(csv_path)
    pred = predict(run.model, faces.images, flip=flip)
    if out:
        write_predictions(faces, pred, out)
        print(f"wrote {len(pred)} predictions to {out}")
    if submission:
        write_submission(faces, pred, lookup, submission)
        print(f"wrote Kaggle submission {submission}")
