"""The command line against the bad inputs users really give (issue 21).

``test_bad_input_replay`` drives ``python -m landmarklib`` in a subprocess for
every case of BAD_INPUTS, as a user would: exit code 2, exactly one stderr
line that starts with ``error:`` and names what was typed, no traceback, every
file in the folder byte-identical afterwards (inputs and earlier outputs), and,
for the cases checked before TensorFlow, a process that never imported it
(recorded at exit by the runner, so the check does not depend on timing).

The other tests cover what is not a plain refusal: outputs as one
transaction, predict-image rerun into its folder and with one unreadable image
among good ones, a video damaged in the middle, FFmpeg and TFLite kept quiet,
``convert --dataset`` and a hypothesis fuzz of the CSV reader.
"""
import argparse
import ast
import gzip
import json
import os
import shlex
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

import landmarklib as lm
from landmarklib import config
from landmarklib import keypoints as kp
from landmarklib.core.errors import LandmarkError
from landmarklib.core.files import OutputSet, check_outputs, same_file, write_json
from landmarklib.data import FaceSet, read_kaggle_csv, write_kaggle_csv
from landmarklib.reporting import readme_blocks

USAGE_ERROR = 2
# Runs the CLI as `python -m landmarklib ARGS` does and writes, at exit, whether
# TensorFlow was imported to the file named by $TF_MARKER.
RUNNER = """
import atexit, os, runpy, sys
def record():
    with open(os.environ["TF_MARKER"], "w") as f:
        f.write("tensorflow" if "tensorflow" in sys.modules else "none")
atexit.register(record)
sys.argv = ["landmarklib"] + sys.argv[1:]
runpy.run_module("landmarklib", run_name="__main__", alter_sys=True)
"""


# --- the runner and the files it makes ---------------------------------------------------

def run_cli(args, cwd, env=None):
    """(CompletedProcess, imported TensorFlow?) of the CLI run in `cwd`."""
    marker = Path(cwd) / ".tf-marker"
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update({"TF_MARKER": str(marker), "LANDMARKLIB_HOME": str(Path(cwd) / ".home"),
                        "PYTHONPATH": str(config.ROOT)})
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-c", RUNNER, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=600)
    imported = marker.read_text() == "tensorflow" if marker.exists() else None
    marker.unlink(missing_ok=True)
    return done, imported


def snapshot(folder):
    """{relative path: bytes} of every file below `folder` (the CLI's own .home aside)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".home" not in p.relative_to(folder).parts}


def faces(n=4, seed=0, ids=True):
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame({"ImageId": np.arange(1, n + 1)} if ids else {"x": np.arange(n)})
    return FaceSet(rng.integers(0, 256, (n, kp.IMAGE_SIZE, kp.IMAGE_SIZE), dtype=np.uint8),
                   rng.uniform(10, 80, (n, 2 * kp.NUM_KEYPOINTS)).astype(np.float32), meta)


def huge_png(path, side=100_000):
    """A PNG whose header claims side x side pixels (its data is a few bytes)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


def small_video(path, frames=5):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    return path


def cut_video(path, frames=120):
    """An mp4 whose second half of frame data is zeroed: it opens, decoding stops midway."""
    small_video(path, frames)
    data = bytearray(Path(path).read_bytes())
    start, end = data.find(b"mdat") + 4, data.find(b"moov") - 4
    middle = start + (end - start) // 2
    data[middle:end] = bytes(end - middle)
    Path(path).write_bytes(bytes(data))
    return path


def fake_model_folder(folder):
    """Looks like a run to the cheap checks (a zip model.keras, a JSON config): the
    cases using it fail before any model would be loaded."""
    import zipfile

    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(folder / "model.keras", "w") as z:
        z.writestr("config.json", "{}")
    (folder / "config.json").write_text('{"version": "v1"}\n')
    return folder


# About the mean face of Kaggle's training.csv (crop pixels, Kaggle column order).
MEAN_FACE = [66.4, 37.7, 30.3, 37.6, 59.2, 37.9, 73.1, 38.0, 36.7, 37.9, 22.4, 38.0,
             56.1, 29.3, 79.5, 29.4, 39.3, 29.4, 15.9, 30.4, 48.4, 62.7, 63.3, 75.9,
             32.9, 76.1, 47.9, 72.9, 48.6, 78.9]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small real run folder: a dense layer that predicts the mean face."""
    import keras

    folder = tmp_path_factory.mktemp("run") / "tiny"
    folder.mkdir()
    inputs = keras.Input((kp.IMAGE_SIZE, kp.IMAGE_SIZE, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(2 * kp.NUM_KEYPOINTS, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(MEAN_FACE))(x)
    keras.Model(inputs, x).save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"version": "v1", "profile": {}}))
    return folder


def write(path, data):
    Path(path).write_bytes(data if isinstance(data, bytes) else data.encode())
    return Path(path).name


# --- the table of bad inputs ----------------------------------------------------------------
# Each case: setup(folder) -> argv (run in `folder`), words the line must contain,
# checked before TensorFlow?, and an optional environment.

def _predict_out_is_csv(d):
    write_kaggle_csv(faces(ids=True), d / "test.csv", with_keypoints=False)
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--out", "test.csv"]


def _predict_out_symlink(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    (d / "link.csv").symlink_to(d / "test.csv")
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--out", "link.csv"]


def _predict_out_hardlink(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    os.link(d / "test.csv", d / "hard.csv")
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "hard.csv",
            "--out", "test.csv"]


def _lookup_table(d, name="lookup.csv"):
    pd.DataFrame({"RowId": [1, 2], "ImageId": [1, 2],
                  "FeatureName": ["left_eye_center_x", "nose_tip_y"]}).to_csv(d / name,
                                                                              index=False)
    return name


def _submission_is_lookup(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--submission", _lookup_table(d), "--lookup", "lookup.csv"]


def _bad_lookup_keeps_existing_out(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    write(d / "existing.csv", "earlier predictions\n")
    write(d / "lookup.csv", "RowId,ImageId\n1,1\n")
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--out", "existing.csv", "--submission", "s.csv", "--lookup", "lookup.csv"]


def _empty_lookup(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    write(d / "lookup.csv", b"")
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--submission", "s.csv", "--lookup", "lookup.csv"]


def _video_csv_is_input(d):
    small_video(d / "in.mp4")
    return ["video", "in.mp4", "--model", fake_model_folder(d / "run"), "--out", "o.mp4",
            "--csv", "in.mp4"]


def _video_csv_is_out(d):
    small_video(d / "in.mp4")
    return ["video", "in.mp4", "--model", fake_model_folder(d / "run"), "--out", "o.mp4",
            "--csv", "o.mp4"]


def _video_out_is_input(d):
    small_video(d / "in.mp4")
    return ["video", "in.mp4", "--model", fake_model_folder(d / "run"), "--out", "in.mp4"]


def _predict_image_out_is_file(d):
    cv2.imwrite(str(d / "face.png"), np.zeros((64, 64, 3), np.uint8))
    write(d / "results", "a file\n")
    return ["predict-image", "face.png", "--model", fake_model_folder(d / "run"),
            "--out", "results"]


def _predict_unwritable(d):
    write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
    return ["predict", "--model", fake_model_folder(d / "run"), "--csv", "test.csv",
            "--out", "/proc/x.csv"]


def _evaluate_json_unwritable(d):
    write_kaggle_csv(faces(), d / "train.csv")
    return ["evaluate", "--model", fake_model_folder(d / "run"), "--csv", "train.csv",
            "--json", "/proc/x.json"]


def _convert_unwritable(d):
    write_kaggle_csv(faces(), d / "train.csv")
    return ["convert", "--source", "csv", "--root", "train.csv", "--out", "/proc/x.csv"]


def _csv_case(content, command="convert"):
    """A setup writing `content` (bytes or a function of the valid CSV text) as in.csv."""
    def setup(d):
        write_kaggle_csv(faces(ids=command == "predict"), d / "valid.csv",
                         with_keypoints=command != "predict")
        text = (d / "valid.csv").read_text()
        (d / "valid.csv").unlink()
        write(d / "in.csv", content(text) if callable(content) else content)
        if command == "convert":
            return ["convert", "--source", "csv", "--root", "in.csv", "--out", "out.csv"]
        option = {"predict": "--out", "evaluate": "--json"}[command]
        return [command, "--model", fake_model_folder(d / "run"), "--csv", "in.csv",
                option, "out.json" if command == "evaluate" else "out.csv"]
    return setup


def _header(text):
    return text.split("\n", 1)[0]


def _upper(text):
    return _header(text).upper() + "\n" + text.split("\n", 1)[1]


def _semicolons(text):
    return _header(text).replace(",", ";") + "\n" + text.split("\n", 1)[1]


def _duplicated_column(text):
    header = _header(text).replace("left_eye_center_y", "left_eye_center_x", 1)
    return header + "\n" + text.split("\n", 1)[1]


def _duplicate_image_id(text):
    lines = text.splitlines()
    lines[3] = "1" + lines[3][lines[3].index(","):]   # line 4 repeats line 2's ImageId 1
    return "\n".join(lines) + "\n"


def _bad_pixel(text):
    lines = text.splitlines()
    lines[2] = lines[2].replace(" ", " x", 1)
    return "\n".join(lines) + "\n"


def _model_case(kind):
    def setup(d):
        write_kaggle_csv(faces(), d / "test.csv", with_keypoints=False)
        folder = fake_model_folder(d / "run")
        if kind == "empty model.keras":
            write(folder / "model.keras", b"")
        elif kind == "model.keras not a zip":
            write(folder / "model.keras", b"\x00" * 100)
        elif kind == "config.json not JSON":
            write(folder / "config.json", '{"version": "v1",\n "profile": }\n')
        elif kind == "training in progress":
            (folder / "model.keras").unlink()
            (folder / "checkpoint").mkdir()
            write(folder / "checkpoint" / "last.keras", b"x")
        return ["predict", "--model", "run", "--csv", "test.csv", "--out", "p.csv"]
    return setup


def _huge_png_alone(d):
    huge_png(d / "huge.png")
    return ["predict-image", "huge.png", "--model", fake_model_folder(d / "run"), "--out", "out"]


def _convert_csv_split(d):
    write_kaggle_csv(faces(), d / "train.csv")
    return ["convert", "--source", "csv", "--root", "train.csv", "--split", "test",
            "--out", "out.csv"]


def _train(*extra):
    return lambda d: ["train", "--version", "v1", *extra]


def _kaggle_train(d):
    return ["train", "--version", "v1", "--set", "dataset=kaggle"]


def _webcam(d):
    return ["webcam", "--model", fake_model_folder(d / "run")]


NO_KAGGLE = {"LANDMARKLIB_SHARED_DATA": "{d}/no-shared", "LANDMARKLIB_DATA": "{d}/no-data",
             "HOME": "{d}", "KAGGLE_USERNAME": "", "KAGGLE_KEY": "", "LANDMARKLIB_KAGGLE": "",
             "KAGGLE_CONFIG_DIR": "{d}/no-kaggle"}

# (id, setup, words in the error line, checked before TensorFlow, environment)
BAD_INPUTS = [
    # data lost
    ("predict --out is --csv", _predict_out_is_csv, "--out test.csv: is the input --csv", True, None),
    ("predict --out symlink to --csv", _predict_out_symlink, "is the input --csv", True, None),
    ("predict --out hard link of --csv", _predict_out_hardlink, "is the input --csv", True, None),
    ("predict --submission is --lookup", _submission_is_lookup,
     "--submission lookup.csv: is the input --lookup", True, None),
    ("predict bad --lookup keeps --out", _bad_lookup_keeps_existing_out,
     "--lookup lookup.csv: not an IdLookupTable.csv", True, None),
    ("predict empty --lookup", _empty_lookup, "--lookup lookup.csv: the file is empty", True, None),
    ("video --csv is the input", _video_csv_is_input, "--csv in.mp4: is the input", True, None),
    ("video --csv is --out", _video_csv_is_out, "--csv o.mp4: is also --out", True, None),
    ("video --out is the input", _video_out_is_input, "--out in.mp4: is the input", True, None),
    ("predict-image --out is a file", _predict_image_out_is_file, "--out results: is a file",
     True, None),
    ("predict --out /proc/x.csv", _predict_unwritable, "--out /proc/x.csv: cannot write", True,
     None),
    ("evaluate --json /proc/x.json", _evaluate_json_unwritable,
     "--json /proc/x.json: cannot write", True, None),
    ("convert --out /proc/x.csv", _convert_unwritable, "--out /proc/x.csv: cannot write", True,
     None),
    # CSV input
    ("convert empty csv", _csv_case(b""), "in.csv: the file is empty (0 bytes)", True, None),
    ("evaluate empty csv", _csv_case(b"", "evaluate"), "in.csv: the file is empty", True, None),
    ("predict empty csv", _csv_case(b"", "predict"), "in.csv: the file is empty", True, None),
    ("convert header-only csv", _csv_case(lambda t: _header(t) + "\n"), "in.csv: no data rows",
     True, None),
    ("predict header-only csv", _csv_case(lambda t: _header(t) + "\n", "predict"),
     "in.csv: no data rows", True, None),
    ("predict duplicate ImageId", _csv_case(_duplicate_image_id, "predict"),
     "in.csv, lines 2 and 4, column 'ImageId': ImageId 1 appears twice", True, None),
    ("convert duplicated column", _csv_case(_duplicated_column),
     "column 'left_eye_center_x' appears twice", True, None),
    ("convert upper-case header", _csv_case(_upper), "the columns look upper-case", True, None),
    ("evaluate ;-separated header", _csv_case(_semicolons, "evaluate"),
     "the columns look separated by ';'", True, None),
    ("convert gzip content", _csv_case(lambda t: gzip.compress(t.encode())),
     "in.csv: this is gzip-compressed data", True, None),
    ("evaluate bad pixel", _csv_case(_bad_pixel, "evaluate"), "in.csv, line 3, column 'Image'",
     True, None),
    # model folders
    ("empty model.keras", _model_case("empty model.keras"), "model.keras: the file is empty",
     True, None),
    ("model.keras not a zip", _model_case("model.keras not a zip"),
     "model.keras: not a Keras model file", True, None),
    ("config.json not JSON", _model_case("config.json not JSON"),
     "config.json, line 2, column 13: not valid JSON", True, None),
    ("training in progress", _model_case("training in progress"),
     "run: training in progress or interrupted", True, None),
    # images and videos
    ("predict-image 100000x100000 PNG", _huge_png_alone,
     "huge.png: its header claims 100000x100000 pixels", True, None),
    # wrong codes and hints
    ("convert --source csv --split test", _convert_csv_split, "--split test: a CSV file has no "
     "splits", True, None),
    ("train --set dataset=kaggle, no credentials", _kaggle_train, "LANDMARKLIB_KAGGLE", True,
     NO_KAGGLE),
    ("webcam without a GUI", _webcam, "pip install opencv-python", True, None),
    # checked before TensorFlow
    ("train unknown version", lambda d: ["train", "--version", "v7"],
     "--version v7: unknown model version", True, None),
    ("train unknown recipe", _train("--recipe", "wild"), "--recipe wild: unknown augmentation",
     True, None),
    ("train unknown strategy", _train("--strategy", "gpu"), "--strategy gpu: unknown strategy",
     True, None),
    ("train --set with the default profile", _train("--set", "epochs=0"),
     "--set: field epochs: expected an integer >= 1, got 0", True, None),
    ("train --set unknown dataset", _train("--set", "dataset=imagenet"),
     "--set dataset=imagenet: unknown dataset", True, None),
]


def record_case(name, argv, line, imported, folder):
    """Save what `name` got for the README's bad-inputs table (``make readme``)."""
    order = [case[0] for case in BAD_INPUTS].index(name)
    relative = lambda text: str(text).replace(str(folder) + os.sep, "")  # noqa: E731
    slug = "".join(c if c.isalnum() else "-" for c in name.lower())
    write_json({"case": name, "order": order, "exit": USAGE_ERROR,
                "command": "python -m landmarklib " + shlex.join(map(relative, argv)),
                "line": relative(line),
                "before_tensorflow": imported is False},
               readme_blocks.BAD_INPUTS / f"{order:02d}-{slug}.json")


@pytest.mark.parametrize("name, setup, words, before_tf, env", BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_replay(tmp_path, name, setup, words, before_tf, env):
    argv = setup(tmp_path)
    if argv[0] == "webcam":
        from landmarklib import camera

        if camera.gui_available():
            pytest.skip("this OpenCV has a GUI")
    env = {k: v.format(d=tmp_path) for k, v in (env or {}).items()}
    before = snapshot(tmp_path)
    done, imported = run_cli(argv, tmp_path, env)
    lines = done.stderr.splitlines()
    assert done.returncode == USAGE_ERROR, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert words in lines[0], lines[0]
    assert "Traceback" not in done.stderr and len(lines[0]) < 400
    assert snapshot(tmp_path) == before            # inputs and earlier outputs untouched
    if before_tf:
        assert imported is False, "TensorFlow was imported before the error"
    record_case(name, argv, lines[0], imported, tmp_path)


def test_the_readme_table_lists_every_case():
    """The README's bad-inputs block (make readme, from the records above) is current."""
    block = lm.readme.read_blocks((config.ROOT / "README.md").read_text())["bad-inputs"]
    listed = [line.split("|")[1].strip() for line in block.splitlines()[2:] if line.startswith("| ")]
    listed = [line for line in listed if line != "bad input"]
    assert listed == [case[0] for case in BAD_INPUTS], "run make test, then make readme"


def test_kaggle_hint_does_not_suggest_root_to_train(tmp_path):
    env = {k: v.format(d=tmp_path) for k, v in NO_KAGGLE.items()}
    done, _ = run_cli(_kaggle_train(tmp_path), tmp_path, env)
    assert done.returncode == USAGE_ERROR and "--root" not in done.stderr
    assert "kaggle.json" in done.stderr and "rules" in done.stderr


def test_max_faces_0_is_refused_while_parsing(tmp_path):
    small_video(tmp_path / "in.mp4")
    done, imported = run_cli(["video", "in.mp4", "--model", "run", "--out", "o.mp4",
                              "--max-faces", "0"], tmp_path)
    assert done.returncode == USAGE_ERROR and imported is False
    assert done.stderr.splitlines()[-1].endswith(
        "error: argument --max-faces: expected an integer >= 1, got 0")
    assert "Traceback" not in done.stderr


# --- outputs as one transaction ------------------------------------------------------------

def test_output_set_renames_all_or_nothing(tmp_path):
    (tmp_path / "a.csv").write_text("old a\n")
    with pytest.raises(RuntimeError):
        with OutputSet() as outputs:
            outputs.add(tmp_path / "a.csv", "--out").write_text("new a\n")
            outputs.add(tmp_path / "sub" / "b.csv", "--submission").write_text("new b\n")
            raise RuntimeError("the command failed after writing both")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]   # no temp files, no sub/
    assert (tmp_path / "a.csv").read_text() == "old a\n"
    with OutputSet() as outputs:
        outputs.add(tmp_path / "a.csv", "--out").write_text("new a\n")
        outputs.add(tmp_path / "sub" / "b.csv", "--submission").write_text("new b\n")
        assert (tmp_path / "a.csv").read_text() == "old a\n"         # not before the end
    assert (tmp_path / "a.csv").read_text() == "new a\n"
    assert (tmp_path / "sub" / "b.csv").read_text() == "new b\n"


def test_output_set_refuses_inputs_and_twins(tmp_path):
    (tmp_path / "in.csv").write_text("x\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "in.csv")
    with pytest.raises(LandmarkError, match="--out .*link.csv: is the input --csv"):
        with OutputSet(inputs=[("--csv", tmp_path / "in.csv")]) as outputs:
            outputs.add(tmp_path / "link.csv", "--out")
    with pytest.raises(LandmarkError, match="is also --out"):
        check_outputs([("--out", tmp_path / "o.csv"), ("--csv", tmp_path / "./o.csv")])
    assert same_file(tmp_path / "x" / ".." / "in.csv", tmp_path / "in.csv")
    assert (tmp_path / "in.csv").read_text() == "x\n"


def test_unwritable_output_names_the_users_path(tmp_path):
    with pytest.raises(PermissionError) as err:
        write_kaggle_csv(faces(), "/proc/x.csv")
    assert str(err.value).startswith("/proc/x.csv: cannot write") and ".x." not in str(err.value)


# --- runs with a real (tiny) model ---------------------------------------------------------

def _png(path, seed=0):
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (120, 100, 3), dtype=np.uint8))
    return path


@pytest.mark.slow
def test_predict_image_rerun_replaces_its_own_files_only(tmp_path, model_dir):
    _png(tmp_path / "a.png", 0), _png(tmp_path / "b.png", 1)
    out = tmp_path / "out"
    done, _ = run_cli(["predict-image", "a.png", "b.png", "--model", model_dir, "--out", "out"],
                      tmp_path)
    assert done.returncode == 0, done.stderr
    assert "XNNPACK" not in done.stderr and "deprecated" not in done.stderr, done.stderr
    assert {"a_landmarks.png", "b_landmarks.png", "landmarks.csv"} <= {p.name for p in out.iterdir()}
    (out / "notes.txt").write_text("the user's own file\n")
    done, _ = run_cli(["predict-image", "a.png", "--model", model_dir, "--out", "out"], tmp_path)
    assert done.returncode == 0, done.stderr
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert names == {"a_landmarks.png", "landmarks.csv", "notes.txt"}  # b's drawing is gone
    assert (out / "notes.txt").read_text() == "the user's own file\n"


@pytest.mark.slow
def test_predict_image_goes_on_past_an_unreadable_image(tmp_path, model_dir):
    _png(tmp_path / "good.png")
    huge_png(tmp_path / "huge.png")
    done, _ = run_cli(["predict-image", "huge.png", "good.png", "--model", model_dir,
                       "--out", "out"], tmp_path)
    assert done.returncode == USAGE_ERROR
    assert done.stderr.splitlines() == [
        "error: huge.png: its header claims 100000x100000 pixels, more than OpenCV decodes "
        "(damaged, or not a photo)"], done.stderr
    assert (tmp_path / "out" / "good_landmarks.png").is_file()
    table = pd.read_csv(tmp_path / "out" / "landmarks.csv")
    assert set(table["file"]) <= {"good.png"}
    assert "good.png" in done.stdout


@pytest.mark.slow
def test_damaged_video_is_one_line_saying_where_the_partial_output_went(tmp_path, model_dir):
    cut_video(tmp_path / "cut.mp4")
    done, _ = run_cli(["video", "cut.mp4", "--model", model_dir, "--out", "o.mp4",
                       "--csv", "o.csv"], tmp_path)
    assert done.returncode == USAGE_ERROR
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "o.partial.mp4 and o.partial.csv" in lines[0], done.stderr
    assert "stopped after" in lines[0] and "of the 120 frames" in lines[0]
    assert (tmp_path / "o.partial.mp4").is_file() and (tmp_path / "o.partial.csv").is_file()
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o.csv").exists()
    loud, _ = run_cli(["video", "cut.mp4", "--model", model_dir, "--out", "o2.mp4",
                       "--verbose"], tmp_path)
    assert len(loud.stderr.splitlines()) > 1      # FFmpeg's own messages with --verbose


@pytest.mark.slow
def test_predict_writes_both_outputs_or_none(tmp_path, model_dir):
    write_kaggle_csv(faces(), tmp_path / "test.csv", with_keypoints=False)
    _lookup_table(tmp_path)
    pd.DataFrame({"RowId": [1], "ImageId": [99], "FeatureName": ["nose_tip_x"]}).to_csv(
        tmp_path / "other.csv", index=False)
    (tmp_path / "p.csv").write_text("earlier\n")
    done, _ = run_cli(["predict", "--model", model_dir, "--csv", "test.csv", "--out", "p.csv",
                       "--submission", "s.csv", "--lookup", "other.csv"], tmp_path)
    assert done.returncode == USAGE_ERROR and "ImageId 99" in done.stderr
    assert (tmp_path / "p.csv").read_text() == "earlier\n" and not (tmp_path / "s.csv").exists()
    done, _ = run_cli(["predict", "--model", model_dir, "--csv", "test.csv", "--out", "p.csv",
                       "--submission", "s.csv", "--lookup", "lookup.csv"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == 4 and len(pd.read_csv(tmp_path / "s.csv")) == 2


@pytest.mark.slow
def test_export_is_quiet(tmp_path, model_dir):
    done, _ = run_cli(["export", "--model", model_dir, "--tflite", "m.tflite"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "XNNPACK" not in done.stderr and (tmp_path / "m.tflite").is_file()


# --- convert --dataset: the dataset's own splits --------------------------------------------

@pytest.mark.slow
def test_convert_dataset_split_is_the_scored_test_split(shared_data, tmp_path):
    from landmarklib.data import load_splits

    done, imported = run_cli(["convert", "--dataset", "faces15", "--split", "test",
                              "--out", "test.csv", "--quiet"], tmp_path,
                             {"LANDMARKLIB_DATA": str(config.DATA)})
    assert done.returncode == 0, done.stderr
    assert imported is False
    expected = load_splits("faces15")["test"]
    written = read_kaggle_csv(tmp_path / "test.csv")
    assert f"wrote {len(expected)} faces" in done.stdout
    np.testing.assert_array_equal(written.images, expected.images)
    np.testing.assert_array_equal(written.keypoints, expected.keypoints)
    assert set(expected.meta["source"]) == {"youtube-faces"}


def test_convert_dataset_needs_a_dataset_split(tmp_path):
    done, _ = run_cli(["convert", "--dataset", "faces15", "--out", "x.csv"], tmp_path)
    assert done.returncode == USAGE_ERROR
    assert done.stderr.splitlines() == ["error: --split none: --dataset faces15 needs one of "
                                        "its splits: train, val, test, test_mtfl"]


def test_strategy_names_match_the_training_code():
    from landmarklib import cli_checks
    from landmarklib.training import distribute

    assert cli_checks.constant_names("training/distribute.py", "STRATEGIES") == list(
        distribute.STRATEGIES)


def _functions_defined(module_file):
    """Names of the top-level functions of landmarklib/<module_file>, read without importing it."""
    tree = ast.parse((Path(lm.__file__).parent / module_file).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_command_names_a_function_that_exists():
    """COMMANDS' "module:function" strings are resolved only when a command runs: a
    renamed or moved function must fail here, not in a user's hands."""
    from landmarklib import cli

    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(cli.COMMANDS) == sorted(action.choices)
    for command, (target, call) in cli.COMMANDS.items():
        module, function = target.split(":")
        assert function in _functions_defined(module.replace(".", "/") + ".py"), (command, target)
        assert callable(call), command


def test_the_cli_imports_the_packages_own_modules_at_the_top():
    """Only TensorFlow's modules wait (COMMANDS): the checks' modules load with the CLI."""
    own = []
    for name in ("cli.py", "cli_checks.py", "cli_commands.py", "__main__.py"):
        tree = ast.parse((Path(lm.__file__).parent / name).read_text())
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                own += [f"{name}:{node.lineno}" for node in ast.walk(function)
                        if isinstance(node, ast.ImportFrom) and node.level]
    assert not own, own


def test_help_and_a_refused_option_never_import_tensorflow(tmp_path):
    for args in (["--help"], ["train", "--help"], ["train", "--version", "v99"]):
        done, imported = run_cli(args, tmp_path)
        assert imported is False, (args, done.stderr)



def test_train_hides_keras_user_warnings_unless_verbose(monkeypatch, capsys, recwarn):
    import warnings as w

    from landmarklib import cli
    from landmarklib.training import train

    class Run:
        dir = "models/v1-smoke"

    def fake_train(*args, **kwargs):
        w.warn_explicit("`shuffle=True` was passed, but will be ignored", UserWarning,
                        "epoch_iterator.py", 74, module="keras.src.trainers.epoch_iterator")
        return Run()

    monkeypatch.setattr(train, "train", fake_train)
    for verbose, shown in (([], 0), (["--verbose"], 1)):
        recwarn.clear()
        cli.main(["train", "--version", "v1", "--profile", "smoke", *verbose])
        assert len([x for x in recwarn if "shuffle" in str(x.message)]) == shown
    assert "run folder: models/v1-smoke" in capsys.readouterr().out
