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
        bad = ~(np.isfinite(parsed) & (parsed == np.round(parsed)) & (np.abs(parsed) < 2**62))
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
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        line = next(itertools.islice(f, index + 1, index + 2), "")
    try:
        got = len(next(csv.reader([line]), []))
    except csv.Error:  # e.g. a field longer than csv.field_size_limit(): pandas' message stands
        return None
    if got == len(expected):
        return None
    return (f"{path}, line {index + 2}: expected {len(expected)} comma-separated fields "
            f"({expected[0]!r} ... {expected[-1]!r}), got {got} (a missing or extra comma?)")


# What a file that is not CSV text starts with: magic bytes -> what it is.
_NOT_TEXT = {b"\x1f\x8b": "gzip-compressed data (unpack it first: gunzip -c FILE > data.csv)",
             b"PK\x03\x04": "a zip archive (unpack it first: unzip FILE)",
             b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image"}
# Separators a header may use instead of commas, and their names in messages.
_OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}
# Unknown column names quoted in a message at most (a header can have hundreds).
MAX_NAMED_COLUMNS = 3


def _check_file_kind(path):
    """A BadRowError unless `path` looks like a non-empty text file (no TensorFlow, cheap).

    Args:
        path: the CSV file.
    """
    with open(path, "rb") as f:
        start = f.read(8)
    if not start:
        raise BadRowError(f"{path}: the file is empty (0 bytes); expected a Kaggle-format CSV "
                          f"with a header line")
    for magic, what in _NOT_TEXT.items():
        if start.startswith(magic):
            raise BadRowError(f"{path}: this is {what.replace('FILE', str(path))}, "
                              f"not CSV text")


def read_header(path):
    """The column names of a CSV's first line, exactly as written (BOM removed).

    Args:
        path: the CSV file.
    """
    with open(path, "rb") as f:
        raw = f.readline()
    try:
        first = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadRowError(f"{path}, line 1: not UTF-8 text ({err.reason} at byte "
                          f"{err.start}); save the file as UTF-8 CSV") from None
    if not first.strip():
        raise BadRowError(f"{path}, line 1: the header line is blank; expected the column "
                          f"names, e.g. {kp.COLUMNS[0]!r},...,'Image'")
    try:
        return next(csv.reader([first]))
    except csv.Error as err:
        raise BadRowError(f"{path}, line 1: not a readable CSV header ({err})") from None


def check_header(path, columns):
    """A BadRowError, with a hint, unless `columns` (``read_header``) form a
    Kaggle-format header: known names, each once, and an ``Image`` column.

    Args:
        path: the file (named in the message).
        columns: its column names as written.
    """
    seen = {}
    for number, name in enumerate(columns, start=1):
        if name in seen:
            raise BadRowError(f"{path}, line 1: column {name!r} appears twice (columns "
                              f"{seen[name]} and {number}); each column may appear once")
        seen[name] = number
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise BadRowError(f"{path}, line 1: {_unknown_columns_message(columns, unknown)}")
    if "Image" not in seen:
        raise BadRowError(f"{path}, line 1: there is no 'Image' column (the 9216 pixels "
                          f"of each face)")


def _unknown_columns_message(columns, unknown):
    """What is wrong with a header with `unknown` names, short and with a hint."""
    if len(columns) == 1:
        for separator, name in _OTHER_SEPARATORS.items():
            if separator in columns[0]:
                return (f"the columns look separated by {name}; a Kaggle-format CSV is "
                        f"comma-separated (save it as CSV with ',' as the separator)")
    known = {c.lower(): c for c in KNOWN_COLUMNS}
    if all(c.strip().lower() in known for c in unknown):
        example = unknown[0]
        case = ("upper-case" if example.strip().isupper() else
                "lower-case" if example.strip().islower() else "differently written")
        return (f"the columns look {case}: {example!r} should be "
                f"{known[example.strip().lower()]!r} (names are case-sensitive, without spaces)")
    named = repr(unknown[:MAX_NAMED_COLUMNS])
    more = f" and {len(unknown) - MAX_NAMED_COLUMNS} more" if len(unknown) > MAX_NAMED_COLUMNS else ""
    return (f"unknown columns {named}{more}; a Kaggle-format file has the 30 keypoint "
            f"columns (e.g. {kp.COLUMNS[0]!r}), 'Image' and optionally 'ImageId'")


def _duplicate_id_errors(image_ids, path, rows):
    """{row: message} for each row whose ImageId an earlier row already has.

    Args:
        image_ids: (N,) ints; rows: the rows to compare (the readable ones).
    """
    first = {}
    errors = {}
    for i in rows:
        key = int(image_ids[i])
        if key in first:
            errors[i] = (f"{path}, lines {first[key] + 2} and {i + 2}, column 'ImageId': "
                         f"ImageId {key} appears twice; ImageIds must be unique")
        else:
            first[key] = i
    return errors


def read_kaggle_csv(path, on_bad_row="raise", max_rows=None, allow_empty=False):
    """Read a Kaggle-format CSV into a FaceSet.

    Args:
        path: training.csv-like (keypoint columns + Image) or test.csv-like
            (ImageId + Image) file.
        on_bad_row: "raise" (default) stops at the first bad row with a
            message naming file, line and column; "skip" drops bad rows and
            records how many in ``faceset.meta.attrs["skipped_rows"]``.
        max_rows: read only the first rows (a quick check of a big file).
        allow_empty: accept a file with a header but no data rows (else an error).

    Raises:
        BadRowError (a LandmarkError) naming the file, line and column: an
        empty, compressed or non-UTF-8 file, a header with unknown, duplicated
        or missing columns, a bad cell, a repeated ImageId, no data rows.
    """
    path = Path(path)
    if on_bad_row not in ("raise", "skip"):
        raise ValueError(f"on_bad_row must be 'raise' or 'skip', got {on_bad_row!r}")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: a folder, not a CSV file")
    _check_file_kind(path)
    check_header(path, read_header(path))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                         nrows=max_rows, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BadRowError(f"{path}, line {_undecodable_line(path)}: not UTF-8 text; save "
                          f"the file as UTF-8 CSV") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as err:
        raise BadRowError(f"{path}: not a readable CSV file "
                          f"({_last_line(err)[:200]})") from None
    if len(df) == 0 and not allow_empty:
        raise BadRowError(f"{path}: no data rows (only the header line); expected one "
                          f"row per face")
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
    if image_ids is not None:
        readable = [i for i in range(len(df)) if i not in errors]
        errors.update(_duplicate_id_errors(image_ids, path, readable))
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


def _undecodable_line(path):
    """The number (from 1) of the first line of `path` that is not UTF-8 text."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return "?"


def _last_line(err):
    lines = str(err).strip().splitlines()
    return lines[-1] if lines else type(err).__name__


# IdLookupTable.csv (the competition's list of what a submission must hold).
LOOKUP_COLUMNS = ("RowId", "ImageId", "FeatureName")


def read_lookup(path):
    """Read and check an IdLookupTable.csv: RowId, ImageId, FeatureName (+ Location).

    Args:
        path: the file given as ``--lookup``.

    Returns:
        DataFrame with int RowId and ImageId and str FeatureName.

    Raises:
        LandmarkError naming the file (and line) for an empty, unreadable or
        malformed table; FileNotFoundError if it is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--lookup {path}: no such IdLookupTable.csv")
    where = f"--lookup {path}"
    try:
        _check_file_kind(path)
    except BadRowError as err:
        raise LandmarkError(f"--lookup {err}") from None
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise LandmarkError(f"{where}: not a readable CSV file ({_last_line(err)[:200]})") from None
    missing = [c for c in LOOKUP_COLUMNS if c not in table.columns]
    if missing:
        raise LandmarkError(f"{where}: not an IdLookupTable.csv, missing columns {missing} "
                            f"(expected {', '.join(LOOKUP_COLUMNS)})")
    if len(table) == 0:
        raise LandmarkError(f"{where}: no data rows (only the header line)")
    for column in ("RowId", "ImageId"):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() | (values != values.round()).to_numpy())
        if len(bad):
            raise LandmarkError(f"{where}, line {bad[0] + 2}, column {column!r}: expected an "
                                f"integer, got {quote(table[column].iloc[bad[0]])}")
        table[column] = values.astype(np.int64)
    unknown = sorted(set(table["FeatureName"]) - set(kp.COLUMNS))
    if unknown:
        line = int(np.flatnonzero(table["FeatureName"].to_numpy() == unknown[0])[0]) + 2
        raise LandmarkError(f"{where}, line {line}, column 'FeatureName': unknown keypoint "
                            f"{quote(unknown[0])}; expected one of the 30 Kaggle columns "
                            f"(e.g. {kp.COLUMNS[0]!r})")
    return table


def write_kaggle_csv(faceset, path, with_keypoints=True):
    """Write a FaceSet as a Kaggle-format CSV, atomically (temp file + rename).

    Args:
        faceset: the faces (none: a header-only file).
        path: the CSV file (or a temporary path an ``OutputSet`` handed out).
        with_keypoints: write the 30 keypoint columns (test.csv has none).
    """
    n = len(faceset)
    df = pd.DataFrame(index=range(n))
    if "ImageId" in faceset.meta:
        df["ImageId"] = faceset.meta["ImageId"].to_numpy()
    if with_keypoints:
        for j, column in enumerate(kp.COLUMNS):
            df[column] = faceset.keypoints[:, j]
    flat = faceset.images.reshape(n, NUM_PIXELS)
    df["Image"] = [" ".join(map(str, row)) for row in flat.tolist()]
    with atomic_path(path) as tmp:
        # no float_format: pandas writes the shortest text that reads back as
        # the same float32, so read_kaggle_csv returns exactly what was written
        df.to_csv(tmp, index=False)
    return path
