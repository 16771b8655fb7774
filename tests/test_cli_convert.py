"""The command line: ``python -m landmarklib convert`` end to end, its errors,
and ``--help`` on every subcommand (parsing only)."""
import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

from landmarklib import cli, config
from landmarklib.data import load_source, read_kaggle_csv, write_kaggle_csv

USAGE_ERROR = 2  # exit code of argparse and of cli.main for bad input


def subcommands():
    """Names of every subcommand of ``python -m landmarklib``."""
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def run_main(argv, capsys):
    """cli.main(argv) in-process: (exit code, stdout, stderr)."""
    code = 0
    try:
        cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def test_convert_mtfl_test_split_end_to_end(shared_data, tmp_path):
    out = tmp_path / "mtfl_test.csv"
    root = shared_data / "mtfl"
    done = subprocess.run(
        [sys.executable, "-m", "landmarklib", "convert", "--source", "mtfl", "--root", str(root),
         "--split", "test", "--out", str(out), "--quiet"],
        capture_output=True, text=True, cwd=config.ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"wrote 500 faces to {out}" in done.stdout
    written = read_kaggle_csv(out)
    direct = load_source("mtfl", root, "test", progress=False)
    np.testing.assert_array_equal(written.images, direct.images)
    np.testing.assert_array_equal(written.keypoints, direct.keypoints)
    assert written.meta.attrs["skipped_rows"] == 0
    assert (written.mask.sum(axis=1) <= 10).all()  # MTFL: 5 points (10 coordinates)


def test_root_without_the_files_is_a_clear_error(tmp_path, capsys):
    code, out, err = run_main(["convert", "--source", "mtfl", "--root", str(tmp_path),
                               "--out", str(tmp_path / "x.csv")], capsys)
    assert code == USAGE_ERROR
    assert err.startswith("error: ") and str(tmp_path) in err and "training.txt" in err
    assert "Traceback" not in err and not (tmp_path / "x.csv").exists()


def test_bad_kaggle_csv_names_the_line(tiny_faces, tmp_path, capsys):
    path = write_kaggle_csv(tiny_faces, tmp_path / "in.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(" ", " x", 1)  # a non-numeric pixel on line 3
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_main(["convert", "--source", "csv", "--root", str(path),
                             "--out", str(tmp_path / "out.csv")], capsys)
    assert code == USAGE_ERROR
    assert "in.csv, line 3, column 'Image'" in err and "Traceback" not in err


def test_csv_source_round_trips(tiny_faces, tmp_path, capsys):
    path = write_kaggle_csv(tiny_faces, tmp_path / "in.csv")
    code, out, _ = run_main(["convert", "--source", "csv", "--root", str(path),
                             "--out", str(tmp_path / "out.csv")], capsys)
    assert code == 0 and "wrote 6 faces" in out
    back = read_kaggle_csv(tmp_path / "out.csv")
    np.testing.assert_array_equal(back.keypoints, tiny_faces.keypoints)
    np.testing.assert_array_equal(back.images, tiny_faces.images)


def test_csv_source_needs_a_root(tmp_path, capsys):
    code, _, err = run_main(["convert", "--source", "csv", "--out", str(tmp_path / "o.csv")],
                            capsys)
    assert code == USAGE_ERROR and "needs --root" in err


def test_kaggle_without_credentials_says_what_to_do(tmp_path, monkeypatch, capsys):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR", "LANDMARKLIB_KAGGLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(config, "SHARED_DATA", tmp_path / "shared")
    monkeypatch.setattr(config, "DATA", tmp_path / "data")
    code, _, err = run_main(["convert", "--source", "kaggle", "--out", str(tmp_path / "k.csv")],
                            capsys)
    assert code == USAGE_ERROR
    for words in ("kaggle.json", "KAGGLE_USERNAME", "KAGGLE_KEY", "rules", "--root"):
        assert words in err


@pytest.mark.parametrize("argv, words", [
    (["convert", "--source", "imagenet", "--out", "x.csv"], "invalid choice: 'imagenet'"),
    (["convert", "--source", "mtfl"], "the following arguments are required: --out"),
    (["convert", "--source", "mtfl", "--split", "val", "--out", "x.csv"],
     "--split val: --source mtfl has the splits train, test, all"),
    (["convert", "--source", "mtfl", "--split", "dev", "--out", "x.csv"], "invalid choice: 'dev'"),
    (["unknown-command"], "invalid choice: 'unknown-command'"),
])
def test_bad_arguments_exit_2_with_a_message(argv, words, capsys):
    code, _, err = run_main(argv, capsys)
    assert code == USAGE_ERROR and words in err and "Traceback" not in err


def test_every_subcommand_has_help(capsys):
    names = subcommands()
    assert "convert" in names and len(names) >= 5
    for name in [None] + names:
        argv = ["--help"] if name is None else [name, "--help"]
        with pytest.raises(SystemExit) as stop:
            cli.build_parser().parse_args(argv)
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: python -m landmarklib") and len(out) > 100, name


# --- errors: one line for bad input, a traceback for bugs, TensorFlow kept quiet ----

def _subprocess(*args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "landmarklib", *args], capture_output=True,
                          text=True, cwd=config.ROOT, env=env, timeout=300)


def test_missing_model_is_exactly_one_line_before_tensorflow(tmp_path):
    done = _subprocess("evaluate", "--model", "/nonexistent", "--csv", "x.csv")
    assert done.returncode == USAGE_ERROR
    assert done.stderr.splitlines() == [
        "error: /nonexistent: no such model folder (train one with "
        "`python -m landmarklib train --version v4`)"], done.stderr
    assert done.stdout == ""


def test_missing_csv_is_named_before_the_model_loads(tmp_path, capsys, tiny_faces):
    model = tmp_path / "run"
    model.mkdir()
    for name in cli.MODEL_FILES:
        (model / name).write_text("{}")
    code, _, err = run_main(["evaluate", "--model", str(model), "--csv",
                             str(tmp_path / "nope.csv")], capsys)
    assert code == USAGE_ERROR and err == f"error: --csv {tmp_path / 'nope.csv'}: no such file\n"
    (model / "model.keras").unlink()
    csv = write_kaggle_csv(tiny_faces, tmp_path / "x.csv", with_keypoints=False)
    code, _, err = run_main(["predict", "--model", str(model), "--csv", str(csv),
                             "--out", str(tmp_path / "y.csv")], capsys)
    assert code == USAGE_ERROR and "model.keras is missing" in err


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_hidden_unless_verbose(tmp_path):
    """`export` of a model that is not a landmark model fails after TensorFlow is
    imported: stderr is still the one error line; --verbose shows TensorFlow's own lines."""
    import keras

    from landmarklib.core.files import write_json

    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs))).save(
        tmp_path / "model.keras")
    write_json({"version": "classifier"}, tmp_path / "config.json")
    args = ("export", "--model", str(tmp_path), "--tflite", str(tmp_path / "m.tflite"))
    done = _subprocess(*args)
    assert done.returncode == USAGE_ERROR
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "not a landmark model" in done.stderr
    loud = _subprocess(*args, "--verbose")
    assert loud.returncode == USAGE_ERROR and len(loud.stderr.splitlines()) > 1
    assert not (tmp_path / "m.tflite").exists()


@pytest.mark.parametrize("value, words", [
    ("epochs", "--set epochs: expected FIELD=VALUE, e.g. --set epochs=100"),
    ("epochs=x", "--set epochs=x: epochs expects an integer, got 'x'"),
    ("learning_rate=fast", "learning_rate expects a number, got 'fast'"),
    ("epochs=0", "field epochs: expected an integer >= 1, got 0"),
    ("validation_split=1.5", "field validation_split: expected a fraction in [0, 1), got 1.5"),
    ("epoch=3", "--set epoch=3: unknown profile field 'epoch'"),
])
def test_bad_set_values_name_the_field_and_type(value, words, capsys):
    code, _, err = run_main(["train", "--version", "v2", "--profile", "smoke", "--set", value],
                            capsys)
    assert code == USAGE_ERROR
    assert err.startswith("error: ") and words in err and len(err.splitlines()) == 1, err


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    from landmarklib import cli_commands
    from landmarklib.core.errors import LandmarkError

    def user_error(args):
        raise LandmarkError("in.csv, line 3: expected 31 fields, got 30")

    def bug(args):
        raise ValueError("a library bug")

    argv = ["convert", "--source", "mtfl", "--out", "o.csv"]
    assert cli.COMMANDS["convert"][0] == "cli_commands:convert"  # looked up when it runs
    monkeypatch.setattr(cli_commands, "convert", user_error)
    assert run_main(argv, capsys)[2] == "error: in.csv, line 3: expected 31 fields, got 30\n"
    monkeypatch.setattr(cli_commands, "convert", bug)
    with pytest.raises(ValueError, match="a library bug"):  # not swallowed
        cli.main(argv)


def test_convert_mtfl_test_split_from_a_folder_with_only_testing_txt(shared_data, tmp_path,
                                                                     capsys):
    root = tmp_path / "mtfl"
    root.mkdir()
    (root / "testing.txt").write_bytes((shared_data / "mtfl" / "testing.txt").read_bytes())
    (root / "AFLW").symlink_to(shared_data / "mtfl" / "AFLW")
    out = tmp_path / "test.csv"
    code, stdout, err = run_main(["convert", "--source", "mtfl", "--root", str(root),
                                  "--split", "test", "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert f"wrote 500 faces to {out}" in stdout
    code, _, err = run_main(["convert", "--source", "mtfl", "--root", str(root),
                             "--split", "train", "--out", str(out)], capsys)
    assert code == USAGE_ERROR and "no training.txt here" in err
