"""Property-based tests (hypothesis): the CSV reader, `convert` and run folder names.

Random and damaged inputs never give anything but a FaceSet or one clear line
(issue 21), and every override set names one safe, stable, distinct folder
(issue 23). hypothesis is a development dependency (requirements.txt), not on
Colab: ``make colab-check`` skips this file (tools/colab/check.sh, DEV_ONLY).
"""
import gzip
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landmarklib import config
from landmarklib import keypoints as kp
from landmarklib.core.errors import LandmarkError
from landmarklib.data import FaceSet, read_kaggle_csv, write_kaggle_csv
from landmarklib.training import run_names
from test_cli_hardening import USAGE_ERROR, faces

# --- fuzz: the CSV reader and convert never fail but with one clear line ---------------------


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
NAMES = st.sampled_from(sorted(set(kp.COLUMNS) | {"Image", "ImageId"})) | st.text(max_size=12)
CELLS = st.one_of(st.text(max_size=20), st.floats(allow_nan=True).map(str),
                  st.integers(-10**12, 10**12).map(str),
                  st.just(" ".join(["7"] * kp.IMAGE_SIZE ** 2)))


def _valid_csv_bytes(tmp_path, rows=3):
    path = write_kaggle_csv(faces(rows), tmp_path / "valid.csv")
    data = Path(path).read_bytes()
    Path(path).unlink()
    return data


def _check_outcome(path):
    """read_kaggle_csv(path) is a FaceSet or one LandmarkError line naming the file."""
    try:
        result = read_kaggle_csv(path)
    except LandmarkError as err:
        message = str(err)
        assert message.startswith(str(path)) and "\n" not in message, message
        assert len(message) < 400, message
        return None
    assert isinstance(result, FaceSet) and len(result) > 0
    return result


@FUZZ
@given(header=st.lists(NAMES, min_size=1, max_size=8),
       rows=st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=4))
def test_random_headers_and_rows_give_a_faceset_or_one_line(tmp_path, header, rows):
    import csv

    path = tmp_path / "fuzz.csv"
    with open(path, "w", newline="", encoding="utf-8", errors="surrogatepass") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    _check_outcome(path)


MUTATIONS = ("cut", "insert bytes", "swap columns", "duplicate column", "upper-case",
             "encoding", "huge value", "semicolons", "gzip", "drop line")


@FUZZ
@given(kind=st.sampled_from(MUTATIONS), where=st.floats(0, 1), junk=st.binary(max_size=40),
       encoding=st.sampled_from(["utf-16", "latin-1", "utf-8-sig", "cp1252"]))
def test_mutated_kaggle_csv_gives_a_faceset_or_one_line(tmp_path, kind, where, junk, encoding):
    data = _valid_csv_bytes(tmp_path)
    text = data.decode()
    lines = text.splitlines()
    header = lines[0].split(",")
    if kind == "cut":
        data = data[:int(where * len(data))]
    elif kind == "insert bytes":
        at = int(where * len(data))
        data = data[:at] + junk + data[at:]
    elif kind in ("swap columns", "duplicate column"):
        i = int(where * (len(header) - 1))
        j = (i + 1) % len(header)
        new = list(header)
        new[j] = header[i] if kind == "duplicate column" else header[j]
        new[i] = header[j] if kind == "swap columns" else new[i]
        data = ("\n".join([",".join(new)] + lines[1:]) + "\n").encode()
    elif kind == "upper-case":
        data = ("\n".join([lines[0].upper()] + lines[1:]) + "\n").encode()
    elif kind == "encoding":
        data = text.replace("left", "lëft").encode(encoding, errors="replace")
    elif kind == "huge value":
        cells = lines[1].split(",")
        cells[int(where * (len(cells) - 2))] = "1e308"
        data = ("\n".join([lines[0], ",".join(cells)] + lines[2:]) + "\n").encode()
    elif kind == "semicolons":
        data = text.replace(",", ";").encode()
    elif kind == "gzip":
        data = gzip.compress(data)
    elif kind == "drop line":
        keep = [line for n, line in enumerate(lines) if n != 1 + int(where * (len(lines) - 1))]
        data = ("\n".join(keep) + "\n").encode()
    path = tmp_path / "mutated.csv"
    path.write_bytes(data)
    result = _check_outcome(path)
    if result is not None and kind in ("swap columns", "upper-case"):
        assert result.images.shape[1:] == (kp.IMAGE_SIZE, kp.IMAGE_SIZE)


@FUZZ
@given(cut=st.integers(0, 2000), junk=st.binary(max_size=20))
def test_convert_of_a_damaged_csv_exits_0_or_2_with_one_line(tmp_path, capsys, cut, junk):
    from landmarklib import cli

    data = _valid_csv_bytes(tmp_path, rows=2)
    path = tmp_path / "in.csv"
    path.write_bytes(data[:cut] + junk + data[cut + len(junk):])
    out = tmp_path / "out.csv"
    out.unlink(missing_ok=True)
    code = 0
    try:
        cli.main(["convert", "--source", "csv", "--root", str(path), "--out", str(out), "--quiet"])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code in (0, USAGE_ERROR), err
    if code == USAGE_ERROR:
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and not out.exists()
    else:
        assert read_kaggle_csv(out).images.shape[0] >= 1


# --- run folder names ------------------------------------------------------------------------

FIELDS = {"epochs": st.integers(1, 10**6), "batch_size": st.integers(1, 4096),
          "seed": st.integers(-10**9, 10**9), "max_images": st.none() | st.integers(1, 10**7),
          "learning_rate": st.floats(1e-12, 10, allow_nan=False),
          "weight_decay": st.floats(0, 1, allow_nan=False),
          "loss": st.sampled_from(["mse", "smooth_l1"]),
          "lr_schedule": st.sampled_from(["cosine", "constant"])}


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELDS), st.sampled_from(sorted(config.PROFILES)),
       st.text(max_size=300))
def test_folder_names_are_one_safe_component_stable_and_distinct(overrides, profile, text):
    name = run_names.run_folder_name("v4", profile, overrides=overrides)
    assert "/" not in name and "\\" not in name and len(name.encode()) < 255
    assert re.fullmatch(r"[A-Za-z0-9._+=~-]+", name)
    reordered = dict(reversed(list(overrides.items())))
    assert run_names.run_folder_name("v4", profile, overrides=reordered) == name
    changed = run_names.effective_overrides(profile, overrides)
    assert (name == f"v4-{profile}") == (not changed)
    assert name == run_names.run_folder_name("v4", config.get_profile(profile, **overrides))
    odd = {**overrides, "loss": text}   # any text: still one safe component
    assert re.fullmatch(r"[A-Za-z0-9._+=~-]+", run_names.run_folder_name("v4", profile, overrides=odd))
    if changed:   # another value of one changed field: another folder
        field = next(iter(changed))
        other = {**overrides, field: getattr(config.PROFILES[profile], field)}
        assert run_names.run_folder_name("v4", profile, overrides=other) != name
