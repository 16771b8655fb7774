"""Predictions from a trained model: arrays, CSV files and Kaggle submissions.

``predict(model, images, flip=True)`` averages the prediction on the image
and, mirrored back, the prediction on its mirror image (test-time flip
augmentation; left/right keypoints swapped). Outputs are clipped to the
image, [0, 96], as Kaggle's scorer expects.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..core.errors import LandmarkError
from ..core.files import atomic_path
from ..training.models import mirror, predict  # noqa: F401  (re-exported: lm.predict.predict)
from ..training.runs import load_run


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
        raise LandmarkError(f"{lookup_path}: not an IdLookupTable.csv, missing columns {sorted(missing)}")
    ids = faces.meta["ImageId"].to_numpy() if "ImageId" in faces.meta else np.arange(1, len(pred) + 1)
    row_of = {int(i): r for r, i in enumerate(ids)}
    col_of = {c: j for j, c in enumerate(kp.COLUMNS)}
    unknown_ids = sorted(set(lookup["ImageId"]) - set(row_of))
    if unknown_ids:
        raise LandmarkError(f"{lookup_path}: ImageId {unknown_ids[0]} (and {len(unknown_ids) - 1} more) "
                         f"not among the {len(ids)} images predicted")
    bad_features = sorted(set(lookup["FeatureName"]) - set(col_of))
    if bad_features:
        raise LandmarkError(f"{lookup_path}: unknown FeatureName {bad_features[0]!r}")
    rows = lookup["ImageId"].map(row_of).to_numpy()
    cols = lookup["FeatureName"].map(col_of).to_numpy()
    location = np.clip(pred[rows, cols], 0, kp.IMAGE_SIZE)
    with atomic_path(path) as tmp:
        pd.DataFrame({"RowId": lookup["RowId"], "Location": location}).to_csv(
            tmp, index=False, float_format="%.4f")


def predict_cli(model_dir, csv_path, out=None, submission=None, lookup=None, flip=False):
    """``python -m landmarklib predict``."""
    from ..data import read_kaggle_csv

    if not out and not submission:
        raise LandmarkError("give --out predictions.csv and/or --submission submission.csv")
    if submission and not lookup:
        raise LandmarkError("--submission needs --lookup IdLookupTable.csv")
    run = load_run(model_dir)
    faces = read_kaggle_csv(csv_path)
    pred = predict(run.model, faces.images, flip=flip)
    if out:
        write_predictions(faces, pred, out)
        print(f"wrote {len(pred)} predictions to {out}")
    if submission:
        write_submission(faces, pred, lookup, submission)
        print(f"wrote Kaggle submission {submission}")
