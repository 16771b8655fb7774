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
from ..core.files import OutputSet, atomic_path, check_outputs
from ..data import read_kaggle_csv
from ..data.kaggle_csv import read_lookup
from ..training.models import mirror, predict  # noqa: F401  (re-exported: lm.predict.predict)
from ..training.runs import load_run


def write_predictions(faces, pred, path):
    """ImageId (or row number) + the 30 keypoint columns, to `path`, atomically.

    Args:
        faces: the FaceSet predicted on; pred: (N, 30) predictions.
        path: the CSV (in the command, a temporary file of its ``OutputSet``).
    """
    ids = faces.meta["ImageId"].to_numpy() if "ImageId" in faces.meta else np.arange(1, len(pred) + 1)
    df = pd.DataFrame(pred, columns=kp.COLUMNS)
    df.insert(0, "ImageId", ids)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")


def submission_table(faces, pred, lookup, lookup_path):
    """A Kaggle submission (RowId, Location) in the IdLookupTable's rows and order.

    Args:
        faces: the FaceSet predicted on; pred: (N, 30) predictions.
        lookup: the table (``kaggle_csv.read_lookup``); lookup_path: its file, for errors.
    """
    ids = faces.meta["ImageId"].to_numpy() if "ImageId" in faces.meta else np.arange(1, len(pred) + 1)
    row_of = {int(i): r for r, i in enumerate(ids)}
    col_of = {c: j for j, c in enumerate(kp.COLUMNS)}
    unknown_ids = sorted(set(lookup["ImageId"]) - set(row_of))
    if unknown_ids:
        raise LandmarkError(f"--lookup {lookup_path}: ImageId {unknown_ids[0]} (and "
                            f"{len(unknown_ids) - 1} more) not among the {len(ids)} images "
                            f"predicted")
    rows = lookup["ImageId"].map(row_of).to_numpy()
    cols = lookup["FeatureName"].map(col_of).to_numpy()
    location = np.clip(pred[rows, cols], 0, kp.IMAGE_SIZE)
    return pd.DataFrame({"RowId": lookup["RowId"], "Location": location})


def write_submission(faces, pred, lookup_path, path):
    """Write a Kaggle submission (RowId,Location) for IdLookupTable.csv `lookup_path`."""
    table = submission_table(faces, pred, read_lookup(lookup_path), lookup_path)
    with OutputSet(inputs=[("--lookup", lookup_path)]) as outputs:
        table.to_csv(outputs.add(path, "--submission"), index=False, float_format="%.4f")


def predict_cli(model_dir, csv_path, out=None, submission=None, lookup=None, flip=False):
    """``python -m landmarklib predict``: every input is read and checked, then all
    outputs are written together (``OutputSet``): a failing command writes none."""
    if not out and not submission:
        raise LandmarkError("give --out predictions.csv and/or --submission submission.csv")
    if submission and not lookup:
        raise LandmarkError("--submission needs --lookup IdLookupTable.csv")
    inputs = [("--csv", csv_path), ("--lookup", lookup)]
    check_outputs([("--out", out), ("--submission", submission)], inputs)
    faces = read_kaggle_csv(csv_path)
    table = read_lookup(lookup) if submission else None
    run = load_run(model_dir)
    pred = predict(run.model, faces.images, flip=flip)
    answer = submission_table(faces, pred, table, lookup) if submission else None
    with OutputSet(inputs) as outputs:
        if out:
            write_predictions(faces, pred, outputs.add(out, "--out"))
        if submission:
            answer.to_csv(outputs.add(submission, "--submission"), index=False,
                          float_format="%.4f")
    if out:
        print(f"wrote {len(pred)} predictions to {out}")
    if submission:
        print(f"wrote Kaggle submission {submission}")
