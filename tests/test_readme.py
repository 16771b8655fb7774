"""The README's generated tables: `make readme` writes them from the runs and
benchmarks, and a hand edit of a generated cell is caught."""
import re
from pathlib import Path

import pandas as pd
import pytest

from landmarklib import config
from landmarklib.core.files import write_json
from landmarklib.evaluation import realworld_versions
from landmarklib.reporting import readme, readme_blocks, runner

SPLITS = ("val", "test", "test_flip", "test_mtfl")


def _results(version, rmse, weights=None, profile="cpu"):
    splits = {s: {"rmse": rmse + i / 10, "nme": 4 * rmse + i, "mae": rmse / 2}
              for i, s in enumerate(SPLITS)}
    return {"version": version, "profile": profile, "description": f"{version} change",
            "epochs": 12, "parameters": 3_540_000, "train_seconds": 700.0, "train_images": 9_600,
            "backbone_weights": weights, "splits": splits}


@pytest.fixture
def inputs(tmp_path):
    """Run folders, comparison.csv and benchmark outputs of a made-up machine."""
    models, build = tmp_path / "models", tmp_path / "build"
    for folder, results, recipe in [("v2-cpu", _results("v2", 1.33), "none"),
                                    ("v4-cpu", _results("v4", 1.46), "v4"),
                                    ("v4-strong-cpu", _results("v4", 1.76), "strong"),
                                    ("transfer-cpu", _results("transfer", 3.71, "none"), "v4"),
                                    ("heatmap-cpu", _results("heatmap", 1.36), "v4"),
                                    ("v6-cpu", _results("v6", 1.29), "v4"),
                                    ("v2-smoke", _results("v2", 3.0, profile="smoke"), "none")]:
        write_json(results, models / folder / "results.json")
        write_json({"version": results["version"], "augment": recipe}, models / folder / "config.json")
    build.mkdir()
    pd.DataFrame({"model": ["v2", "v4", "v2"], "split": ["test_detector"] * 2 + ["test"],
                  "flip": [False] * 3, "rmse": [2.87, 2.29, 1.3], "nme": [9.98, 7.83, 4.8]}
                 ).to_csv(build / "comparison.csv", index=False)
    records = [{"split": s, "method": m, "faces": n, "missed": 0, "rmse": r, "nme": 4 * r,
                "failure_rate": f, "ms_per_face": 1.0}
               for s, n in (("test", 616), ("test_mtfl", 450))
               for m, r, f in (("dlib", 2.28, 20.6), ("v4", 1.45, 1.04))]
    readme.write_benchmark_output("compare_detectors", "table", 0.7, records,
                                  folder=build / "benchmarks")
    readme.write_benchmark_output("data_speed", "convert 7.1 s\nload 0.14 s", 0.3,
                                  folder=build / "benchmarks")
    readme.write_benchmark_output("train_speed", "v6 trains", 0.4,
                                  [{"version": "v6", "train_images_per_second": 200.0,
                                    "tflite_ms_one_core": 1.25}], folder=build / "benchmarks")
    columns = ["framed YTF", "framed MTFL", "photos YTF 1p", "photos YTF 3p", "photos MTFL 1p",
               "photos MTFL 3p", "photo failures %", "videos", "video failures %"]
    real = pd.DataFrame([[4.8 + i / 10 for i in range(9)], [5.4 + i / 10 for i in range(9)],
                         [None, None, 6.0, None, 5.9, None, 3.0, 6.5, 1.0]],
                        index=pd.Index(["v2", "v4", "MediaPipe Face Mesh"], name="version"),
                        columns=columns)
    (build / "findings" / "cpu").mkdir(parents=True)
    real.to_csv(build / "findings" / "cpu" / "realworld.csv")
    realworld_versions.save_choice("v4", pd.Series({"v4": 6.25, "v2": 7.5}), "cpu",
                                   build / "findings")
    runner_jobs = [runner.Job(name, Path(name), build / "notebooks" / f"{name}.ipynb",
                              {"profile": profile})
                   for name, profile in (("01_explore", "cpu"), ("03_train_v2", "cpu"),
                                         ("01_explore_smoke", "smoke"))]
    for job, seconds in zip(runner_jobs, (20.0, 714.0, 5.0)):
        runner.record_timing(job, seconds, 0.4, 2.1)
    write_json({"case": "convert empty csv", "order": 0, "exit": 2,
                "command": "python -m landmarklib convert --source csv --root in.csv --out o.csv",
                "line": "error: in.csv: the file is empty (0 bytes)", "before_tensorflow": True},
               build / "bad_inputs" / "00-convert-empty-csv.json")
    text = "# title\n\n" + "".join(f"{readme.BEGIN.format(n)}\nold {n}\n{readme.END.format(n)}\n\n"
                                   for n in readme.BLOCKS) + "the end\n"
    (tmp_path / "README.md").write_text(text)
    return {"readme": tmp_path / "README.md", "models_dir": models, "build_dir": build}


def test_make_readme_writes_every_block_from_the_inputs(inputs):
    status = readme.update_readme(inputs["readme"], "cpu", inputs["models_dir"], inputs["build_dir"])
    assert set(status.values()) == {"rewritten"}
    text = inputs["readme"].read_text()
    blocks = readme.read_blocks(text)
    assert blocks == readme.generate("cpu", inputs["models_dir"], inputs["build_dir"])
    assert text.startswith("# title\n") and text.endswith("the end\n")
    results = blocks["results"]
    s = _results("v2", 1.33)["splits"]
    row = (f"| v2 | + masked loss over all rows | {s['test']['rmse']:.2f} | {s['test']['nme']:.2f} "
           f"| {s['test_flip']['nme']:.2f} | {s['test_mtfl']['nme']:.2f} | {s['val']['mae']:.2f} "
           f"| 3.54 M | 11.7 |")
    assert row in results
    assert "v2 | 3.00" not in results and "strong" not in results  # smoke runs, ablations: elsewhere
    # the transfer row says what its backbone started from, not "ImageNet backbone"
    assert "| transfer | MobileNetV3 backbone trained from scratch (no ImageNet weights loaded) |" \
        in results
    assert "| v4-strong-cpu | strong | 1.76 |" in blocks["ablation"]
    assert "| v4-cpu | v4 | 1.46 |" in blocks["ablation"]
    assert "| v2 | 2.87 | 9.98 |" in blocks["detector-crops"] and "4.80" not in blocks["detector-crops"]
    assert "| dlib | 2.28 | 9.12 | 20.6 | 2.28 | 9.12 | 20.6 |" in blocks["detectors"]
    assert "load average 0.3" in blocks["speed"] and "convert 7.1 s" in blocks["speed"]
    assert "| v4 | 5.40 | 5.50 | 5.60 |" in blocks["real-pipeline"]
    assert "| MediaPipe Face Mesh | -- | -- | 6.00 | -- |" in blocks["real-pipeline"]
    assert readme_blocks.REAL_PIPELINE_HEADER in blocks["real-pipeline"]
    assert ("The demo runs **v4**, chosen by 04_evaluate on validation people (lowest worst "
            "median over photos and videos: 6.25 %" in blocks["real-pipeline"])
    # the cpu report's notebooks, their total, and the load around each; not the smoke run's
    assert "| 03_train_v2 | 11.9 | 0.4 | 2.1 |" in blocks["report-time"]
    assert "| total | 12.2 |" in blocks["report-time"] and "smoke" not in blocks["report-time"]
    # V6's climb: the rows with runs, each against the row it changes; the rest named
    assert "| 1 | heatmap: V4's encoder" in blocks["climb"] and "`heatmap-cpu`" in blocks["climb"]
    assert "| 3 | + Wing loss: V6 | `v6-cpu` | 12 | 1.29 | 5.16 | 0.65 | -- |" in blocks["climb"]
    assert "| 3.54 M | 200 | 1.25 |" in blocks["climb"]      # V6's speed from train_speed.py
    assert "`python -m landmarklib train --version v6 --profile cpu --set loss=mse`" in blocks["climb"]
    # its goals: measured where a file says so, "not measured" and how to measure otherwise
    assert "| YouTube-Faces test RMSE, landmark-framed | <= 1.10 px | 1.39 px | no |" in blocks["goals"]
    assert "| TFLite inference per face, 1 core | <= 2 ms | 1.25 ms | yes |" in blocks["goals"]
    assert "200 images/s (load average 0.4) x 12 epochs of 9600 faces" in blocks["goals"]
    assert "| training time, cpu profile, 2 quiet cores | <= 15 min | 9.60 min | yes |" in blocks["goals"]
    assert "| make report PROFILE=cpu, V6 included | <= 90 min | -- | not measured |" in blocks["goals"]
    assert ("| convert empty csv | `python -m landmarklib convert --source csv --root in.csv --out "
            "o.csv` | 2 | `error: in.csv: the file is empty (0 bytes)` | yes |") in blocks["bad-inputs"]
    for name, content in blocks.items():
        assert readme.format_problems(name, content) == [], name
    again = readme.update_readme(inputs["readme"], "cpu", inputs["models_dir"], inputs["build_dir"])
    assert set(again.values()) == {"up to date"}


def test_a_hand_edited_cell_is_caught(inputs):
    args = (inputs["readme"], "cpu", inputs["models_dir"], inputs["build_dir"])
    readme.update_readme(*args)
    text = inputs["readme"].read_text()
    assert "| v4 | + full augmentation | 1.56 |" in text
    inputs["readme"].write_text(text.replace("| v4 | + full augmentation | 1.56 |",
                                             "| v4 | + full augmentation | 1.26 |"))
    status = readme.update_readme(*args, check=True)
    assert status["results"] == "differs"
    assert {k for k, v in status.items() if v != "up to date"} == {"results"}
    dirs = ["--models", str(inputs["models_dir"]), "--build", str(inputs["build_dir"])]
    assert readme.main(["--readme", str(inputs["readme"]), "--check", *dirs]) == 1
    assert readme.main(["--readme", str(inputs["readme"]), *dirs]) == 0  # make readme
    assert set(readme.update_readme(*args, check=True).values()) == {"up to date"}


def test_absent_inputs_leave_the_blocks_and_say_so(inputs, tmp_path):
    before = inputs["readme"].read_text()
    status = readme.update_readme(inputs["readme"], "cpu", tmp_path / "no-models",
                                  tmp_path / "no-build")
    assert all(v.startswith("kept (no inputs") for v in status.values())
    assert inputs["readme"].read_text() == before


def test_committed_readme_blocks_are_in_the_generated_format():
    text = (config.ROOT / "README.md").read_text()
    blocks = readme.read_blocks(text)
    assert set(blocks) == set(readme.BLOCKS)
    for name, content in blocks.items():
        assert readme.format_problems(name, content) == [], name
    assert "ImageNet backbone |" not in blocks["results"]  # transfer: what it started from


def test_format_check_catches_a_typed_cell():
    good = readme.RESULTS_HEADER + "\n|---|\n| v2 | x | 1.33 | 4.84 | 4.90 | 5.09 | 0.83 | 3.54 M | 11.9 |"
    assert readme.format_problems("results", good) == []
    assert readme.format_problems("results", good.replace("4.84", "4.8")) != []
    assert readme.format_problems("results", good.replace("| 11.9 |", "| **11.9** |")) != []


def test_make_readme_target_exists_and_make_report_runs_it():
    makefile = (config.ROOT / "Makefile").read_text()
    assert re.search(r"^readme:.*\n\t.*landmarklib\.reporting\.readme", makefile, re.M)
    report = re.search(r"^report:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "readme" in report


def test_only_rewrites_the_blocks_it_names(inputs):
    """`make climb` rewrites the climb and goals blocks and leaves the others as they are."""
    before = readme.read_blocks(inputs["readme"].read_text())
    dirs = ["--models", str(inputs["models_dir"]), "--build", str(inputs["build_dir"])]
    assert readme.main(["--readme", str(inputs["readme"]), "--profile", "cpu", *dirs,
                        "--only", "climb", "goals"]) == 0
    after = readme.read_blocks(inputs["readme"].read_text())
    assert {n for n in after if after[n] != before[n]} == {"climb", "goals"}
    assert after["results"] == "old results"
    with pytest.raises(SystemExit) as stop:      # a block that does not exist: argparse's one line
        readme.main(["--readme", str(inputs["readme"]), "--only", "speeed", *dirs])
    assert stop.value.code == 2
