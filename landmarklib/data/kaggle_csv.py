"""Read and write the Kaggle "Facial Keypoints Detection" CSV layout.

training.csv: 30 keypoint columns (see ``keypoints.COLUMNS``), blank when the
keypoint is not labelled, and ``Image``: 9216 space-separated ints 0-255
(a 96x96 grayscale image, row by row). test.csv has ``ImageId`` and ``Image``.
"""
import csv
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import keypoints as kp
from ..core.errors import LandmarkError, quote
from ..core.files import atomic_path
from .faceset import FaceSet

NUM_PIXELS = kp.IMAGE_SIZE * kp.IMAGE_SIZE
KNOWN_COLUMNS = set(kp.COLUMNS) | {"Image", "ImageId"}
# Accepted keypoint coordinates (crop px): the 96x96 image plus a pixel of slack.
# Kaggle's own labels lie inside it; inf, 1e9 or -40 would poison the loss.
KEYPOINT_RANGE = (-1.0, kp.IMAGE_SIZE + 1.0)


class BadRowError(LandmarkError):
    """A row of a Kaggle CSV that cannot be read; the message says where."""


def _where(path, index, column):
    # +2: one for the header line, one because editors count lines from 1
    return f"{path}, line {index + 2}, column {column!r}"


def _parse_image(text, path, index):
    """Return 9216 uint8 pixels from one ``Image`` cell or raise BadRowError."""
    where = _where(path, index, "Image")
    if not isinstance(text, str) or not text.strip():
        raise BadRowError(f"{where}: the image is empty")
    parts = text.split()
    if len(parts) != NUM_PIXELS:
        raise BadRowError(
            f"{where}: expected {NUM_PIXELS} pixels (96x96), got {len(parts)}")
    try:
        values = np.array(parts, dtype=np.float64)
    except ValueError:
        bad = next(i for i, p in enumerate(parts) if not _is_number(p))
        raise BadRowError(
            f"{where}: pixel {bad} is {quote(parts[bad])}, not a number") from None
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 255:
        bad = int(np.flatnonzero(~np.isfinite(values) | (values < 0) | (values > 255))[0])
        raise BadRowError(
            f"{where}: pixel {bad} is {quote(parts[bad])}, outside the range 0-255")
    if np.any(values != np.round(values)):
        bad = int(np.flatnonzero(values != np.round(values))[0])
        raise BadRowError(f"{where}: pixel {bad} is {quote(parts[bad])}, not an integer")
    return values.astype(np.uint8)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _parse_keypoints(df, path):
    """(N, 30) float32 keypoints, NaN where blank, and {row: message} of bad rows.

    A coordinate must be blank or a number within KEYPOINT_RANGE.
    """
    out = np.full((len(df), len(kp.COLUMNS)), np.nan, dtype=np.float32)
    errors = {}
    lo, hi = KEYPOINT_RANGE
    for j, column in enumerate(kp.COLUMNS):
        if column not in df:
            continue
        raw = df[column]
        parsed = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
        given = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
        text_bad = np.isnan(parsed) & given
        with np.errstate(invalid="ignore"):
            range_bad = ~np.isnan(parsed) & ~((parsed >= lo) & (parsed <= hi))
        for i in np.flatnonzero(text_bad | range_bad):
            errors.setdefault(i, f"{_where(path, i, column)}: expected a pixel coordinate "
                                 f"in [{lo:g}, {hi:g}] or blank, got {quote(raw.iloc[i])}")
        parsed[text_bad | range_bad] = np.nan
        out[:, j] = parsed.astype(np.float32)
    # a keypoint is labelled only if both of its coordinates are
    pts = kp.as_points(out)
    pts[np.isnan(pts).any(axis=-1)] = np.nan
    return out, errors


def _parse_image_ids(df, path):
    """(N,) int64 ImageIds (0 where bad) and {row: message} of bad rows."""
    raw = df["ImageId"]
    parsed = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(parsed) & (parsed == np.round(parsed)))
    errors = {i: f"{_where(path, i, 'ImageId')}: expected an integer id, got "
                 f"{quote(raw.iloc[i])}" for i in np.flatnonzero(bad)}
    parsed[bad] = 0
    return parsed.astype(np.int64), errors


def _field_count_error(path, index, expected):
    """The message for a data row whose number of fields is wrong, else None.

    pandas fills a short row (a missing comma) with blanks, so the bad cells
    it produces would be quoted whole (35 KB for an image); counting the
    row's fields names the real problem in one line.
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        line = next(itertools.islice(f, index + 1, index + 2), "")
    got = len(next(csv.reader([line]), []))
    if got == len(expected):
        return None
    return (f"{path}, line {index + 2}: expected {len(expected)} comma-separated fields "
            f"({expected[0]!r} ... {expected[-1]!r}), got {got} (a missing or extra comma?)")


def read_kaggle_csv(path, on_bad_row="raise"):
    """Read a Kaggle-format CSV into a FaceSet.

    Args:
        path: training.csv-like (keypoint columns + Image) or test.csv-like
            (ImageId + Image) file.
        on_bad_row: "raise" (default) stops at the first bad row with a
            message naming file, line and column; "skip" drops bad rows and
            records how many in ``faceset.meta.attrs["skipped_rows"]``.
    """
    path = Path(path)
    if on_bad_row not in ("raise", "skip"):
        raise ValueError(f"on_bad_row must be 'raise' or 'skip', got {on_bad_row!r}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise BadRowError(f"{path}: not a readable CSV file "
                          f"({str(err).strip().splitlines()[-1][:200]})") from None
    unknown = [c for c in df.columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise BadRowError(
            f"{path}, line 1: unknown columns {unknown}; a Kaggle-format file has "
            f"the 30 keypoint columns (e.g. {kp.COLUMNS[0]!r}), 'Image' and optionally 'ImageId'")
    if "Image" not in df:
        raise BadRowError(f"{path}, line 1: there is no 'Image' column")
    keypoints, errors = _parse_keypoints(df, path)
    image_ids = None
    if "ImageId" in df:
        image_ids, id_errors = _parse_image_ids(df, path)
        for i, message in id_errors.items():
            errors.setdefault(i, message)
    images = np.zeros((len(df), kp.IMAGE_SIZE, kp.IMAGE_SIZE), dtype=np.uint8)
    for i, text in enumerate(df["Image"].to_numpy()):
        try:
            images[i] = _parse_image(text, path, i).reshape(kp.IMAGE_SIZE, kp.IMAGE_SIZE)
        except BadRowError as err:
            errors.setdefault(i, str(err))
    if errors and on_bad_row == "raise":
        first = min(errors)
        message = _field_count_error(path, first, list(df.columns)) or errors[first]
        more = f" ({len(errors) - 1} more bad rows)" if len(errors) > 1 else ""
        raise BadRowError(message + more)
    keep = np.setdiff1d(np.arange(len(df)), list(errors))
    meta = pd.DataFrame({"source": "csv", "file": str(path), "row": keep})
    if image_ids is not None:
        meta["ImageId"] = image_ids[keep]
    meta.attrs["skipped_rows"] = len(errors)
    return FaceSet(images[keep], keypoints[keep], meta)


def write_kaggle_csv(faceset, path, with_keypoints=True):
    """Write a FaceSet as a Kaggle-format CSV, atomically (temp file + rename)."""
    n = len(faceset)
    df = pd.DataFrame(index=range(n))
    if "ImageId" in faceset.meta:
        df["ImageId"] = faceset.meta["ImageId"].to_numpy()
    if with_keypoints:
        for j, column in enumerate(kp.COLUMNS):
            df[column] = faceset.keypoints[:, j]
    flat = faceset.images.reshape(n, -1)
    df["Image"] = [" ".join(map(str, row)) for row in flat.tolist()]
    with atomic_path(path) as tmp:
        # no float_format: pandas writes the shortest text that reads back as
        # the same float32, so read_kaggle_csv returns exactly what was written
        df.to_csv(tmp, index=False)
    return path
