"""V6's climb and goals: the rows are ordinary runs, the tables read them, the goals say
where each number comes from (reporting.climb_tables, reporting.goals, training.climb)."""
import pandas as pd
import pytest

from landmarklib import config
from landmarklib.core.files import write_json
from landmarklib.reporting import climb_tables, goals, readme, runner
from landmarklib.training import climb, versions
from landmarklib.training.runs import RunStore

PROFILE = "cpu"


def _write_run(models, folder, version, val_nme, test_rmse=1.4, augment="v4", epochs=12):
    splits = {"val": {"rmse": val_nme / 3, "nme": val_nme, "mae": val_nme / 4},
              "test": {"rmse": test_rmse, "nme": 5.0}, "test_mtfl": {"nme": 6.0}}
    write_json({"version": version, "profile": PROFILE, "epochs": epochs, "parameters": 468_000,
                "train_images": 9_826, "train_seconds": 720.0, "splits": splits},
               models / folder / "results.json")
    write_json({"version": version, "augment": augment}, models / folder / "config.json")


def test_each_rows_command_trains_into_the_folder_the_table_reads():
    store = RunStore()
    frame = climb_tables.climb_frame(PROFILE)
    for index, step in enumerate(versions.CLIMB):
        words = climb_tables.command(step, PROFILE).split()
        assert words[:5] == ["python", "-m", "landmarklib", "train", "--version"]
        recipe = words[words.index("--recipe") + 1] if "--recipe" in words else None
        typed = dict(w.split("=", 1) for w in words[words.index("--set") + 1::2]) \
            if "--set" in words else {}
        # as the CLI does: strings -> typed profile fields -> the store's folder
        folder = store.path(words[5], PROFILE, recipe=recipe,
                            overrides=config.parse_overrides(typed)).name
        assert folder == frame.loc[index + 1, "run"], step
    assert list(frame["run"]) == ["heatmap-cpu", "v6-cpu+loss=mse", "v6-cpu", "v6-v5-cpu",
                                  "v6-cpu+learning_rate=0.004", "heatmap-cpu+loss=wing",
                                  "v6-cpu+learning_rate=0.008"]


def test_each_row_is_compared_with_the_row_it_changes(tmp_path):
    models = tmp_path / "models"
    for folder, version, nme in [("heatmap-cpu", "heatmap", 4.30), ("v6-cpu+loss=mse", "v6", 4.13),
                                 ("v6-cpu", "v6", 4.04), ("v6-cpu+learning_rate=0.004", "v6", 3.90),
                                 ("heatmap-cpu+loss=wing", "heatmap", 4.10)]:
        _write_run(models, folder, version, nme)
    frame = climb_tables.climb_frame(PROFILE, models)
    assert frame["trained"].tolist() == [True, True, True, False, True, True, False]
    change = frame[climb_tables.DELTA]
    assert pd.isna(change[1])
    assert change[2] == pytest.approx(4.13 - 4.30) and change[3] == pytest.approx(4.04 - 4.13)
    assert change[5] == pytest.approx(3.90 - 4.04)   # V6 + lr: against V6 (row 3), not row 4
    assert change[6] == pytest.approx(4.10 - 4.30)   # heatmap + Wing: against heatmap (row 1)
    readme.write_benchmark_output("train_speed", "table", 0.6,
                                  [{"version": "v6", "train_images_per_second": 93.4,
                                    "tflite_ms_one_core": 0.95}], folder=tmp_path / "benchmarks")
    block = climb_tables.climb_block(PROFILE, models, build_dir=tmp_path)
    assert readme.format_problems("climb", block) == []
    assert block.count("| 0.47 M | 93 | 0.95 |") == 3       # V6 rows 2, 3, 5: its speed
    assert "| 0.47 M | -- | -- |" in block and "load average 0.6" in block  # heatmap: not run
    assert "| 5 | V6 + twice the peak learning rate | `v6-cpu+learning_rate=0.004` | 12 |" in block
    assert "| -0.14 |" in block
    assert "row 4 (`python -m landmarklib train --version v6 --profile cpu --recipe v5`)" in block
    tex = climb_tables.climb_table_tex(PROFILE, models)
    assert r"4 & V6 + detector-robust augmentation (V5's recipe) & \multicolumn{7}" in tex
    assert "\n3 & + Wing loss: V6 & 12 & 1.35 & 4.04 & -0.09 & 1.40 & 5.00 & 6.00 \\\\" in tex


def test_no_climb_run_leaves_the_readme_block_alone(tmp_path):
    assert climb_tables.climb_block(PROFILE, tmp_path / "none", build_dir=tmp_path) is None


def test_make_climb_trains_every_row_with_its_own_options(monkeypatch):
    from landmarklib.training import train

    calls = []
    monkeypatch.setattr(train, "train", lambda version, profile, **kw: calls.append(
        (version, profile, kw)) or version)
    found = climb.train_climb(PROFILE)
    assert calls == [("heatmap", "cpu", {"recipe": None}),
                     ("v6", "cpu", {"recipe": None, "loss": "mse"}),
                     ("v6", "cpu", {"recipe": None}),
                     ("v6", "cpu", {"recipe": "v5"}),
                     ("v6", "cpu", {"recipe": None, "learning_rate": 0.004}),
                     ("heatmap", "cpu", {"recipe": None, "loss": "wing"}),
                     ("v6", "cpu", {"recipe": None, "learning_rate": 0.008})]
    assert list(found) == [0, 1, 2, 3, 4, 5, 6]
    makefile = (config.ROOT / "Makefile").read_text()
    assert "climb.train_climb('$(PROFILE)')" in makefile and "--only climb goals" in makefile


def test_goals_read_every_number_from_a_run_or_a_benchmark(tmp_path):
    models, build = tmp_path / "models", tmp_path / "build"
    assert goals.goals_block(PROFILE, models, build) is None   # nothing measured: keep the README's
    _write_run(models, "v6-cpu", "v6", 4.04, test_rmse=1.05)
    columns = ["photos YTF 1p", "photos MTFL 1p", "videos", "photo failures %", "video failures %"]
    real = pd.DataFrame([[4.2, 4.6, 4.4, 2.0, 3.5]], columns=columns,
                        index=pd.Index(["v6"], name="version"))
    (build / "findings" / PROFILE).mkdir(parents=True)
    real.to_csv(build / "findings" / PROFILE / "realworld.csv")
    readme.write_benchmark_output("train_speed", "table", 1.8,
                                  [{"version": "v6", "train_images_per_second": 150.0,
                                    "tflite_ms_one_core": 2.5}], folder=build / "benchmarks")
    for name, seconds in (("03_train_v6", 700.0), ("04_evaluate", 500.0)):
        job = runner.Job(name, tmp_path / name, build / "notebooks" / f"{name}.ipynb",
                         {"profile": PROFILE})
        runner.record_timing(job, seconds, 0.5, 2.0)
    frame = goals.goals_frame(PROFILE, models, build).set_index("goal")
    measured, met = frame["measured"], frame["met"]
    names = [g.name for g in goals.GOALS]
    assert measured[names[0]] == pytest.approx(1.05) and met[names[0]]
    assert measured[names[1]] == pytest.approx(6.0) and not met[names[1]]
    assert measured[names[2]] == pytest.approx(4.6) and not met[names[2]]   # the worst median
    assert measured[names[3]] == pytest.approx(3.5) and not met[names[3]]
    assert measured[names[4]] == pytest.approx(12 * 9_826 / 150.0 / 60)
    assert "load average 1.8" in frame.loc[names[4], "measured by"]
    assert measured[names[5]] == pytest.approx(2.5) and not met[names[5]]
    assert measured[names[6]] == pytest.approx(20.0) and met[names[6]]
    block = goals.goals_block(PROFILE, models, build)
    assert readme.format_problems("goals", block) == []
    assert r"$\le$ 1.10\,px & 1.05\,px & yes" in goals.goals_table_tex(PROFILE, models, build)
