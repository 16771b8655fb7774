"""The command line: ``python -m landmarklib convert`` end to end, its errors,
and ``--help`` on every subcommand (parsing only)."""
import argparse
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
    (["convert", "--source", "mtfl", "--split", "val", "--out", "x.csv"], "invalid choice: 'val'"),
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
