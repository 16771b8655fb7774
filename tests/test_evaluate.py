"""Tests for landmarklib.evaluate: the evaluate CLI, cached predictions, the
comparison table (equal to the CLI's numbers), the analyses and the figures.

A tiny untrained CNN saved as a run folder stands in for a trained model:
evaluation must be exact whatever the model's accuracy, and it takes a second
instead of a training run.
"""
import json
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

from landmarklib import (analysis, comparison, config, evaluate, latex, metrics, model_plots, models,
                         train)
from landmarklib import keypoints as kp
from landmarklib.cli import main as cli_main
from landmarklib.data import FaceSet, write_kaggle_csv
from landmarklib.core.files import write_json

matplotlib.use("Agg")

METRIC_KEYS = ("rmse", "mae", "nme", "pck", "failure_rate")


def make_run_folder(folder, splits, version="v2", key="tinytest0001"):
    """Save a tiny untrained CNN (mean-face bias) as a run folder of the smoke profile."""
    mean = np.nanmean(splits["train"].keypoints, axis=0)
    model = models.cnn(widths=(4, 8), dense=16, mean_keypoints=mean, name="tiny")
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    write_json({"version": version, "profile": config.SMOKE.to_dict(), "key": key},
               folder / "config.json")
    pd.DataFrame({"epoch": [1, 2, 3], "loss": [30.0, 20.0, 15.0], "rmse": [5.5, 4.5, 3.9],
                  "nme": [15.0, 12.0, 10.0], "val_rmse": [5.0, 4.2, 4.0],
                  "val_nme": [14.0, 11.5, 11.0]}).to_csv(folder / "history.csv", index=False)
    write_json({"version": version}, folder / "results.json")
    return folder


@pytest.fixture(scope="module")
def smoke_splits():
    prof = config.SMOKE
    return evaluate._splits(prof.dataset, prof.max_images, prof.seed, prof.validation_split)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, smoke_splits):
    """Two tiny runs, 'v1' and 'v2', in a temporary models folder."""
    root = tmp_path_factory.mktemp("models")
    return {v: train.load_run(make_run_folder(root / f"{v}-smoke", smoke_splits, v,
                                              key=f"tiny{v}"))
            for v in ("v1", "v2")}


@pytest.fixture(scope="module")
def ev(runs, tmp_path_factory):
    return evaluate.Evaluation(runs, cache_dir=tmp_path_factory.mktemp("predictions"))


# --- the CLI ---------------------------------------------------------------------


@pytest.mark.slow
def test_table_equals_cli_subprocess(ev, runs, tmp_path):
    """`python -m landmarklib evaluate` on the split written as CSV gives the table's numbers."""
    csv = write_kaggle_csv(ev.faces("test"), tmp_path / "test.csv")
    out = tmp_path / "metrics.json"
    done = subprocess.run(
        [sys.executable, "-m", "landmarklib", "evaluate", "--model", str(runs["v2"].dir),
         "--csv", str(csv), "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=config.ROOT)
    assert done.returncode == 0, done.stderr
    assert "RMSE" in done.stdout and "mouth_center_bottom_lip" in done.stdout
    got = json.loads(out.read_text())
    assert {"rmse", "mae", "nme", "pck", "per_keypoint"} <= set(got)
    row = comparison.comparison_table(ev, splits=("test",), timing=False).query("model == 'v2' and not flip")
    for key in METRIC_KEYS:
        assert got[key] == row[key].item(), key
    assert got["per_keypoint"] == ev.summary("v2", "test")["per_keypoint"]


@pytest.mark.parametrize("flip", [False, True])
def test_table_equals_cli_on_mtfl(ev, runs, tmp_path, flip):
    """Same equality in-process, on MTFL (10 of 15 keypoints missing), with and without flip."""
    csv = write_kaggle_csv(ev.faces("test_mtfl"), tmp_path / "mtfl.csv")
    out = tmp_path / "metrics.json"
    cli_main(["evaluate", "--model", str(runs["v1"].dir), "--csv", str(csv), "--json", str(out)]
             + (["--flip"] if flip else []))
    got = json.loads(out.read_text())
    table = comparison.comparison_table(ev, splits=("test_mtfl",), flips=(flip,), timing=False)
    row = table[table["model"] == "v1"].iloc[0]
    for key in METRIC_KEYS:
        assert got[key] == row[key], key
    assert got["flip"] is flip
    # and both equal a direct numpy computation on the same predictions
    faces = ev.faces("test_mtfl")
    assert got["rmse"] == metrics.rmse(faces.keypoints, ev.predict("v1", "test_mtfl", flip))
    assert got["per_keypoint"]["left_eyebrow_inner_end"]["count"] == 0


def _cli_error(args, capsys):
    with pytest.raises(SystemExit) as stop:
        cli_main(args)
    assert stop.value.code == 2
    return capsys.readouterr().err


def test_cli_errors(runs, ev, tmp_path, capsys):
    csv = write_kaggle_csv(ev.faces("test")[:3], tmp_path / "ok.csv")
    err = _cli_error(["evaluate", "--model", str(tmp_path / "nope"), "--csv", str(csv)], capsys)
    assert "nope" in err and "no such model folder" in err
    (tmp_path / "empty").mkdir()
    err = _cli_error(["evaluate", "--model", str(tmp_path / "empty"), "--csv", str(csv)], capsys)
    assert "not a model folder" in err
    bad = tmp_path / "bad.csv"
    bad.write_text(csv.read_text().replace("nose_tip_x", "nose_x", 1))
    err = _cli_error(["evaluate", "--model", str(runs["v2"].dir), "--csv", str(bad)], capsys)
    assert "nose_x" in err and "line 1" in err
    unlabelled = write_kaggle_csv(ev.faces("test")[:3], tmp_path / "test_like.csv",
                                  with_keypoints=False)
    err = _cli_error(["evaluate", "--model", str(runs["v2"].dir), "--csv", str(unlabelled)],
                     capsys)
    assert "no labelled keypoints" in err and "test_like.csv" in err


# --- cached predictions and the table ---------------------------------------------------


def test_predictions_are_cached_and_keyed_by_data(runs, ev, tmp_path, monkeypatch):
    faces = ev.faces("test")[:5]
    first = evaluate.cached_predictions(runs["v2"], faces, "test", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1

    def no_predict(*args, **kwargs):
        raise AssertionError("predicted again despite the cache")

    monkeypatch.setattr("landmarklib.inference.predict.predict", no_predict)
    again = evaluate.cached_predictions(runs["v2"], faces, "test", cache_dir=tmp_path)
    np.testing.assert_array_equal(first, again)
    other = ev.faces("test")[5:10]  # other faces: another file, so it must predict
    with pytest.raises(AssertionError, match="predicted again"):
        evaluate.cached_predictions(runs["v2"], other, "test", cache_dir=tmp_path)


def test_comparison_table_shape_timing_and_outputs(ev, tmp_path):
    table = comparison.comparison_table(ev)
    assert list(table.columns) == list(comparison.TABLE_COLUMNS)
    assert len(table) == 3 * 2 * 2  # splits x models x flip
    assert (table["parameters"] > 0).all()
    assert (table["ms_b256"] > 0).all() and (table["ms_b1"] > 0).all()
    assert set(table["split"]) == {"test", "test_detector", "test_mtfl"}
    tex = latex.write_comparison_table(table, tmp_path / "generated")
    csv = comparison.save_comparison(table, tmp_path / "cmp.csv")
    text = tex.read_text()
    assert tex.name == "comparison.tex"
    assert text.count(r"\toprule") == 1 and text.count(r"\bottomrule") == 1
    assert text.count(r"\midrule") == 3 and "MTFL test" in text and r"\textbf{" in text
    back = pd.read_csv(csv)
    np.testing.assert_allclose(back["nme"], table["nme"])


def test_evaluation_rejects_mixed_profiles(runs):
    other = train.Run(runs["v2"].dir, runs["v2"].model,
                      {**runs["v2"].config, "profile": config.CPU.to_dict()}, {}, pd.DataFrame())
    with pytest.raises(ValueError, match="one profile"):
        evaluate.Evaluation({"a": runs["v1"], "b": other})
    with pytest.raises(ValueError, match="no runs"):
        evaluate.Evaluation({})


# --- analyses ------------------------------------------------------------------------


def test_ced_curve():
    x, y, auc = analysis.ced_curve([2.0, 4.0, np.nan, 6.0, 20.0], max_nme=10, steps=11)
    assert y[x == 2.0] == pytest.approx(0.25)  # <= 2 %: one of four defined values
    assert y[x == 5.0] == pytest.approx(0.5) and y[-1] == pytest.approx(0.75)
    # step function sampled every 1 %: exact trapezoid area, then / 10
    steps = np.array([0, 0, .25, .25, .5, .5, .75, .75, .75, .75, .75])
    assert auc == pytest.approx(np.trapezoid(steps, np.arange(11)) / 10)
    assert analysis.ced_curve([0.0] * 3)[2] == pytest.approx(1.0)


def _attribute_faces(n=120, seed=0):
    """Frontal faces; 'glasses' ones get big errors, smile/gender are noise."""
    rng = np.random.default_rng(seed)
    truth = np.tile(np.array([[66.0, 38.0, 30.0, 38.0]]), (n, 1))
    keypoints = np.full((n, 30), np.nan, np.float32)
    keypoints[:, :4] = truth  # the two eye centres: inter-ocular distance 36 px
    meta = pd.DataFrame({"glasses": np.where(np.arange(n) < 30, 1, 2),
                         "smile": rng.integers(1, 3, n), "gender": rng.integers(1, 3, n),
                         "pose": 3})
    pred = np.nan_to_num(keypoints, nan=48.0) + rng.normal(0, 1.0, (n, 30))
    pred[:30, :4] += 4.0  # glasses: ~4-5 px more error
    return FaceSet(np.zeros((n, 96, 96), np.uint8), keypoints, meta), pred.astype(np.float32)


def test_attribute_table_and_findings():
    faces, pred = _attribute_faces()
    table = analysis.attribute_table(faces, {"m": pred})
    glasses = table.set_index(["attribute", "group"]).loc[("glasses", "glasses")]
    assert glasses["count"] == 30
    expected = metrics.nme_per_image(faces.keypoints, pred)[:30].mean()
    assert glasses["nme"] == pytest.approx(expected)
    assert glasses["z"] > analysis.SIGNIFICANT_Z
    frontal = table.set_index(["attribute", "group"]).loc[("pose", "frontal")]
    assert frontal["count"] == 120
    findings = analysis.attribute_findings(table)
    glasses_line = next(s for s in findings if ", glasses:" in s)
    assert "glasses (n=30)" in glasses_line and "clearly worse" in glasses_line
    assert all("no group is clearly worse" in s for s in findings
               if ", smile:" in s or ", gender:" in s)


def test_best_worst():
    faces, pred = _attribute_faces()
    per_image = metrics.nme_per_image(faces.keypoints, pred)
    worst, best = analysis.best_worst(faces, pred, count=4)
    assert per_image[worst[0]] == per_image.max() and per_image[best[0]] == per_image.min()
    assert (np.diff(per_image[worst]) <= 0).all() and (np.diff(per_image[best]) >= 0).all()
    assert set(worst) <= set(range(30))  # the glasses faces are the worst


# --- figures --------------------------------------------------------------------------


FIGURES = {  # report/figures name -> how 04_evaluate draws it
    "per_keypoint_errors": lambda ev, runs, path: model_plots.per_keypoint_errors(ev, save_to=path),
    "ced_curves": lambda ev, runs, path: model_plots.ced_curves(ev, save_to=path),
    "error_by_attribute": lambda ev, runs, path: model_plots.error_by_attribute(ev, save_to=path),
    "learning_curves_all": lambda ev, runs, path: model_plots.learning_curves_all(runs, save_to=path),
    "worst_best_gallery": lambda ev, runs, path: model_plots.worst_best_gallery(ev, save_to=path),
}


def test_figures_are_written(ev, runs, tmp_path):
    import matplotlib.pyplot as plt

    figures = {name: draw(ev, runs, tmp_path / name) for name, draw in FIGURES.items()}
    for name in FIGURES:
        for suffix in (".pdf", ".png"):
            assert (tmp_path / (name + suffix)).stat().st_size > 1000, name + suffix
    # the CED legend carries the AUC; the gallery shows 2 x GALLERY_COUNT faces
    legend = [t.get_text() for t in figures["ced_curves"].axes[0].get_legend().get_texts()]
    assert all("AUC" in t for t in legend) and len(legend) == 2
    gallery = figures["worst_best_gallery"]
    assert sum(bool(ax.images) for ax in gallery.axes) == 2 * model_plots.GALLERY_COUNT
    # per-keypoint bars: on MTFL only its 5 labelled keypoints, one bar per model each
    per_kp = model_plots.per_keypoint_errors(ev, split="test_mtfl")
    assert len(per_kp.axes[0].patches) == 5 * 2
    for fig in [*figures.values(), per_kp]:
        plt.close(fig)


def test_attribute_figure_needs_attributes(ev):
    with pytest.raises(ValueError, match="attributes"):
        model_plots.error_by_attribute(ev, split="test")


def test_profile_splits_match_training(runs, smoke_splits):
    """The table scores the same capped splits that train() scored."""
    faces = evaluate.profile_splits(runs["v2"])["test"]
    assert len(faces) == len(smoke_splits["test"]) == config.SMOKE.max_images // 4
    assert kp.NUM_KEYPOINTS * 2 == faces.keypoints.shape[1]


@pytest.mark.slow
def test_table_equals_training_results():
    """On a real smoke run, the table reproduces what train() wrote to results.json."""
    run = train.train("v2", "smoke")
    # test_detector is not scored by train(): it is the evaluation's own split
    table = comparison.comparison_table(evaluate.Evaluation({"v2": run}), 
        splits=("test", "test_mtfl"), timing=False)
    for _, row in table.iterrows():
        stored = run.results["splits"][row["split"] + ("_flip" if row["flip"] else "")]
        for key in METRIC_KEYS:
            assert row[key] == pytest.approx(stored[key], rel=1e-9, abs=1e-12), (row["split"], key)
