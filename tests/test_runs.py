"""training.runs as the one owner of a run folder (issues 21 and 23): the folder
name built in one function, runs with ``--set`` overrides in their own folder,
one ``load_runs``, one profile check, clear errors for broken run folders, and a
run folder that carries its framing bias (predicts offline, anywhere)."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from landmarklib import config, evaluate, evidence, notebook, realworld_versions, results, runs
from landmarklib.training import run_files, run_names
from landmarklib.core.errors import LandmarkError
from landmarklib.core.files import write_json

PACKAGE = config.ROOT / "landmarklib"
BENCHMARKS = config.ROOT / "benchmarks"


def tiny_run(folder, version="v2", profile=config.SMOKE, bias=0.5):
    """A saved constant-output landmark model as a finished run folder."""
    import keras

    inputs = keras.Input((96, 96, 1))
    pooled = keras.layers.Flatten()(keras.layers.AveragePooling2D(16)(inputs))
    out = keras.layers.Dense(30, kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(bias))(pooled)
    folder.mkdir(parents=True)
    keras.Model(inputs, out).save(folder / "model.keras")
    write_json({"version": version, "profile": profile.to_dict(), "key": "k",
                "augment": "none"}, folder / "config.json")
    write_json({"version": version, "profile": profile.name, "splits": {}}, folder / "results.json")
    return folder


def snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the folder name: one function -------------------------------------------------------

def test_default_folder_names_are_unchanged(tmp_path):
    store = runs.RunStore(tmp_path)
    assert store.path("v4", "cpu") == tmp_path / "v4-cpu"
    assert store.path("v2", "smoke", dataset="kaggle") == tmp_path / "v2-kaggle-smoke"
    assert store.path("v4", "cpu", dataset="kaggle", recipe="strong") == tmp_path / "v4-kaggle-strong-cpu"
    assert store.path("v4", "full", recipe="v4") == tmp_path / "v4-full"   # its own recipe
    assert store.path("v4", "cpu", overrides={"epochs": 12, "dataset": "faces15"}) == tmp_path / "v4-cpu"
    assert store.path("v4", "cpu", overrides={"dataset": "kaggle"}) == tmp_path / "v4-kaggle-cpu"


def test_override_runs_get_their_own_readable_sorted_folder(tmp_path):
    store = runs.RunStore(tmp_path)
    assert store.path("v4", "cpu", overrides={"epochs": 5}).name == "v4-cpu+epochs=5"
    both = store.path("v4", "cpu", overrides={"learning_rate": 0.005, "batch_size": 32})
    assert both.name == "v4-cpu+batch_size=32+learning_rate=0.005"   # sorted
    assert store.path("v4", "cpu", overrides={"batch_size": 32, "learning_rate": 5e-3}) == both
    # a field set to the profile's own value changes nothing: cpu's learning rate is 2e-3
    assert store.path("v4", "cpu", overrides={"learning_rate": 0.002, "batch_size": 32}).name == \
        "v4-cpu+batch_size=32"
    # one value, one name: 1 and 1.0 for a float field, parsed or typed
    typed = store.path("v4", "cpu", overrides={"learning_rate": 1})
    parsed = store.path("v4", "cpu", overrides=config.parse_overrides(["learning_rate=1.0"]))
    assert typed == parsed and typed.name == "v4-cpu+learning_rate=1.0"
    # what cannot go in a file name is hashed, stably
    odd = store.path("v4", "cpu", overrides={"loss": "my loss/1"}).name
    assert re.fullmatch(r"v4-cpu\+loss~[0-9a-f]{8}", odd)
    assert store.path("v4", "cpu", overrides={"loss": "my loss/1"}).name == odd
    assert store.path("v4", "cpu", overrides={"loss": "my loss/2"}).name != odd
    # a Profile carries its changed fields
    assert store.path("v4", config.get_profile("cpu", epochs=5)).name == "v4-cpu+epochs=5"
    # dataset and recipe keep their places
    assert (store.path("v4", "cpu", dataset="kaggle", recipe="strong", overrides={"epochs": 5}).name
            == "v4-kaggle-strong-cpu+epochs=5")



def _spelled_folder_names(path):
    """Lines of `path` that build a run folder name by hand: an f-string with a
    version placeholder followed by "-", or "-" followed by a profile placeholder."""
    hits = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        parts = node.values
        for a, b in zip(parts, parts[1:]):
            names = lambda v: ast.unparse(v.value) if isinstance(v, ast.FormattedValue) else ""  # noqa: E731
            dash_after = isinstance(b, ast.Constant) and str(b.value).startswith("-")
            dash_before = isinstance(a, ast.Constant) and str(a.value).endswith("-")
            if (dash_after and "version" in names(a)) or (dash_before and "profile" in names(b)):
                hits.append(f"{path.relative_to(config.ROOT)}:{node.lineno}")
    return hits


def test_the_run_folder_name_is_built_in_one_function():
    sources = sorted(PACKAGE.rglob("*.py")) + sorted(BENCHMARKS.glob("*.py"))
    hits = [hit for path in sources for hit in _spelled_folder_names(path)]
    assert hits == []
    # the check itself finds what the code used to do
    probe = config.ROOT / "build" / "test-runs-probe.py"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text('run = models / f"{version}-{profile}"\nother = f"{v}-cpu" + f"x-{profile}"\n')
    try:
        assert sorted(set(_spelled_folder_names(probe))) == ["build/test-runs-probe.py:1",
                                                             "build/test-runs-probe.py:2"]
    finally:
        probe.unlink()
    # only run_folder_name joins the parts: one "-".join in the package, in its module
    joins = [path for path in sorted(PACKAGE.rglob("*.py"))
             for _ in range(path.read_text().count('"-".join('))]
    assert joins == [PACKAGE / "training" / "run_names.py"]


def test_every_reader_of_run_folders_asks_the_store(tmp_path, monkeypatch):
    """Rename every run folder (through run_folder_name alone): the report's tables,
    the findings, both load_runs and run_dir_for follow."""
    real = run_names.run_folder_name
    monkeypatch.setattr(run_names, "run_folder_name", lambda *a, **k: "renamed-" + real(*a, **k))
    monkeypatch.setattr(config, "MODELS", tmp_path)
    tiny_run(tmp_path / "renamed-v2-smoke")
    assert runs.run_dir_for("v2", "smoke") == tmp_path / "renamed-v2-smoke"
    assert results.collect_results("smoke", tmp_path, versions=("v2", "v4"))["v2"] is not None
    assert results.collect_results("smoke", tmp_path, versions=("v2", "v4"))["v4"] is None
    write_json({"version": "v2", "profile": "smoke", "splits": {"test": {"nme": 4.5}}},
               tmp_path / "renamed-v2-smoke" / "results.json")
    assert evidence.collect("smoke", tmp_path, evidence_dir=tmp_path / "ev")["nme"] == {"test": {"v2": 4.5}}
    assert list(notebook.load_runs("smoke", ["v2"])) == ["v2"]
    assert list(evaluate.load_runs("smoke", ["v2", "v4"])) == ["v2"]
    assert [name for name, _, _ in runs.RunStore(tmp_path).finished_runs("smoke")] == ["renamed-v2-smoke"]


# --- one load_runs ---------------------------------------------------------------------------

def test_load_all_stops_or_skips_at_a_missing_run_and_trains_only_when_asked(tmp_path, monkeypatch):
    store = runs.RunStore(tmp_path)
    tiny_run(tmp_path / "v2-smoke")
    with pytest.raises(LandmarkError) as error:
        store.load_all("smoke", ["v2", "v4"])
    assert "no v4 run of profile smoke" in str(error.value) and "\n" not in str(error.value)
    assert str(tmp_path / "v4-smoke") in str(error.value)
    assert list(store.load_all("smoke", ["v2", "v4"], missing="skip")) == ["v2"]
    # both old names are the store's, with one default: nothing is trained unless asked
    from landmarklib.training import train as train_module

    asked = []
    monkeypatch.setattr(train_module, "train", lambda *a, **k: asked.append((a, k)))
    monkeypatch.setattr(config, "MODELS", tmp_path)
    evaluate.load_runs("smoke", ["v4"])
    with pytest.raises(LandmarkError):
        notebook.load_runs("smoke", ["v4"])
    assert asked == []
    store.load_all("smoke", ["v4"], dataset="kaggle", trainer=train_module.train)
    assert asked == [(("v4", "smoke"), {"run_dir": tmp_path / "v4-kaggle-smoke", "dataset": "kaggle"})]
    notebook.load_runs("smoke", ["v4"], train_missing=True)
    evaluate.load_runs("smoke", ["v4"], train_missing=True)
    assert asked[1:] == [(("v4", "smoke"), {"run_dir": tmp_path / "v4-smoke", "dataset": "faces15"}),
                         (("v4", "smoke"), {"run_dir": tmp_path / "v4-smoke"})]


def test_finished_runs_leave_out_override_runs(tmp_path):
    tiny_run(tmp_path / "v2-smoke")
    tiny_run(tmp_path / "v2-smoke+epochs=1", profile=config.get_profile("smoke", epochs=1))
    tiny_run(tmp_path / "v2-kaggle-smoke", profile=config.get_profile("smoke", dataset="kaggle"))
    names = [name for name, _, _ in runs.RunStore(tmp_path).finished_runs("smoke")]
    assert names == ["v2-kaggle-smoke", "v2-smoke"]


def test_the_demo_choice_file_is_the_stores(tmp_path):
    store = runs.RunStore(tmp_path / "models", findings_dir=tmp_path / "findings")
    assert store.choice_path("cpu") == tmp_path / "findings" / "cpu" / "demo_version.json"
    assert realworld_versions.choice_path("cpu", tmp_path / "findings") == store.choice_path("cpu")
    assert store.chosen_version("cpu", "v4") == "v4"
    import pandas as pd

    realworld_versions.save_choice("heatmap", pd.Series({"heatmap": 6.0}), "cpu", tmp_path / "findings")
    assert store.chosen_version("cpu", "v4") == "heatmap"


# --- --set runs never touch the default run --------------------------------------------------

class Stop(Exception):
    pass


def test_a_failing_override_run_leaves_the_default_run_as_it_was(tmp_path, monkeypatch, capsys):
    from landmarklib.data import registry
    from landmarklib.training import train as train_module

    monkeypatch.setattr(config, "MODELS", tmp_path)
    default = tiny_run(tmp_path / "v2-smoke")
    before = snapshot(default)
    monkeypatch.setattr(train_module, "data_manifest", lambda dataset: {"dataset": dataset})

    def fail(*args, **kwargs):   # after the run's results.json is cleared, before training
        raise Stop

    monkeypatch.setattr(registry, "load_splits", fail)
    with pytest.raises(Stop):
        train_module.train("v2", "smoke", epochs=1)
    assert snapshot(default) == before
    assert not (tmp_path / "v2-smoke+epochs=1" / "results.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) in (["v2-smoke"], ["v2-smoke", "v2-smoke+epochs=1"])


@pytest.mark.slow
def test_an_override_run_trains_in_its_own_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "MODELS", tmp_path)
    from landmarklib import train

    default = tiny_run(tmp_path / "v2-smoke")
    before = snapshot(default)
    run = train.train("v2", "smoke", epochs=1, max_images=64, verbose=0)
    assert run.dir == tmp_path / "v2-smoke+epochs=1+max_images=64"
    assert (run.dir / "results.json").exists() and str(run.dir) in capsys.readouterr().out
    assert snapshot(default) == before


CLI_PROBE = """
import sys
from landmarklib import cli
try:
    cli.main(sys.argv[1:])
except SystemExit as stop:
    print("exit", stop.code, "tensorflow" in sys.modules)
"""


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_train_refuses_a_non_finite_learning_rate_before_tensorflow(value, tmp_path):
    proc = subprocess.run([sys.executable, "-c", CLI_PROBE, "train", "--version", "v2",
                           f"--set=learning_rate={value}"], capture_output=True, text=True,
                          cwd=config.ROOT, env={**os.environ, "LANDMARKLIB_MODELS": str(tmp_path)})
    assert proc.stdout.strip().splitlines()[-1] == "exit 2 False"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"--set learning_rate={value}: learning_rate expects a finite number" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_the_profile_name_is_not_a_field_to_set():
    with pytest.raises(LandmarkError, match=r"^--set name=x: name is the profile itself; choose it "
                                            r"with --profile"):
        config.parse_overrides(["name=x"])
    assert config.get_profile("cpu", name="renamed").name == "renamed"   # the library may


def test_profile_fields_refuse_nan_and_inf():
    for field in ("learning_rate", "weight_decay", "pck_threshold", "validation_split"):
        for value in (float("nan"), float("inf")):
            with pytest.raises(LandmarkError, match=f"field {field}: expected"):
                config.get_profile("smoke", **{field: value})


# --- profiles: one check, resolved once -------------------------------------------------------

def test_one_profile_check_without_tensorflow():
    code = ("import sys\nfrom landmarklib.core import config\n"
            "assert config.check_profile('cpu') == 'cpu' and config.check_profile('auto') == 'auto'\n"
            "assert config.resolve_profile('smoke') == 'smoke'\n"
            "for call in (lambda: config.check_profile('gpu', '--profile'),\n"
            "             lambda: config.resolve_profile('gpu'), lambda: config.get_profile('gpu')):\n"
            "    try:\n        call()\n    except config.LandmarkError as e:\n        print(e)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=config.ROOT).stdout.splitlines()
    assert out[0] == "--profile gpu: unknown profile; choose auto or one of ['cpu', 'full', 'smoke']"
    assert out[1] == out[2] == "unknown profile 'gpu'; choose auto or one of ['cpu', 'full', 'smoke']"
    assert out[3] == "False False"
    # every old spelling is the same check
    for resolve in (runs.resolve_profile, notebook.resolve_profile):
        with pytest.raises(LandmarkError, match="unknown profile 'gpu'; choose auto"):
            resolve("gpu")


def test_make_report_resolves_auto_once(tmp_path, monkeypatch):
    from landmarklib import consistency, report

    monkeypatch.setenv(consistency.PROFILE_ENV, "")       # make_report sets it: restored after
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    calls, planned = [], []
    monkeypatch.setattr(config, "default_profile", lambda: calls.append(1) or "smoke")
    monkeypatch.setattr(report, "plan", lambda profile, *args, **kwargs: planned.append(profile) or [])
    monkeypatch.setattr(report, "run_notebooks", lambda jobs, cwd: None)   # no notebooks run
    code = report.make_report("auto", report_dir=tmp_path / "report", models_dir=tmp_path / "models",
                              pdf=False)
    assert code == report.OK and calls == [1] and planned == ["smoke"]
    assert (tmp_path / "report" / "generated").is_dir()
    assert "training.runs" not in (PACKAGE / "reporting" / "report.py").read_text()


# --- broken run folders: one clear line ---------------------------------------------------------

@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    folder = tiny_run(tmp_path_factory.mktemp("model") / "run")
    return (folder / "model.keras").read_bytes()


@pytest.mark.parametrize("damage", ["empty", "truncated", "text", "flipped"])
def test_a_damaged_model_file_is_named_not_found_by_keras(damage, model_bytes, tmp_path):
    folder = tiny_run(tmp_path / "run")
    data = {"empty": b"", "truncated": model_bytes[: len(model_bytes) // 2],
            "text": b"not a model\n",
            "flipped": model_bytes[:2000] + bytes(b ^ 0xFF for b in model_bytes[2000:6000])
            + model_bytes[6000:]}[damage]
    (folder / "model.keras").write_bytes(data)
    with pytest.raises(LandmarkError) as error:
        runs.load_run(folder)
    assert str(error.value) == f"{folder}/model.keras: not a Keras model file (corrupt or truncated)"


def test_a_whole_model_file_still_loads(model_bytes, tmp_path):
    folder = tiny_run(tmp_path / "run")
    assert run_files.is_keras_archive(folder / "model.keras")
    assert runs.load_run(folder, expect_version="v2").model.output_shape == (None, 30)


@pytest.mark.parametrize("text, where", [("", "line 1, column 1"),
                                         ('{"version": "v2",\n  oops}', "line 2, column 3"),
                                         ("\xff\xfe", "not UTF-8"), ("[1, 2]", "expected a JSON object")])
def test_a_config_that_is_not_json_names_the_file_and_line(text, where, tmp_path):
    folder = tiny_run(tmp_path / "run")
    (folder / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(LandmarkError) as error:
        runs.load_run(folder)
    message = str(error.value)
    assert message.startswith(f"{folder}/config.json: ") and where in message and "\n" not in message


def test_a_folder_still_training_says_so(tmp_path):
    folder = tmp_path / "v2-smoke"
    (folder / "checkpoint").mkdir(parents=True)
    with pytest.raises(LandmarkError, match="training in progress or interrupted: no epoch finished yet"):
        runs.load_run(folder)
    write_json({"key": "k", "epoch": 3, "history": []}, folder / "checkpoint" / "state.json")
    with pytest.raises(LandmarkError) as error:
        runs.load_run(folder)
    assert str(error.value) == (f"{folder}: training in progress or interrupted: last finished "
                                f"epoch 3; rerun train to resume")
    with pytest.raises(FileNotFoundError, match="not a model folder, model.keras is missing"):
        runs.load_run(tmp_path)   # no checkpoint: not a run at all


def test_export_cli_gives_the_damaged_model_line(model_bytes, tmp_path):
    folder = tiny_run(tmp_path / "run")
    (folder / "model.keras").write_bytes(model_bytes[:100])
    before = snapshot(folder)
    proc = subprocess.run([sys.executable, "-m", "landmarklib", "export", "--model", str(folder),
                           "--tflite", str(tmp_path / "out.tflite")],
                          capture_output=True, text=True, cwd=config.ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{folder}/model.keras: not a Keras model file" in lines[0]
    assert snapshot(folder) == before and not (tmp_path / "out.tflite").exists()


# --- a run folder carries its framing bias ---------------------------------------------------------

OFFLINE_PROBE = """
import json, sys, urllib.request
from landmarklib.data import sources

def no_download(*args, **kwargs):
    raise AssertionError(f"tried to download {args[:1]}")

urllib.request.urlretrieve = sources.download_zip = sources.download_kaggle = no_download
from landmarklib.inference import photo
predictor = photo.predictor_for_run(sys.argv[1])
print(json.dumps(predictor.framing_bias.to_dict()))
"""


def test_a_copied_run_folder_predicts_offline_with_its_saved_bias(tmp_path):
    """Copy a run folder elsewhere; an empty LANDMARKLIB_HOME (so an empty build/),
    no data anywhere: the predictor gets the bias saved in the folder, and nothing
    is downloaded. Without a saved bias: one line, no correction, still offline."""
    from landmarklib.inference import framing_bias

    source = tiny_run(tmp_path / "home" / "models" / "v2-smoke")
    saved = framing_bias.FramingBias(0.01, -0.02, 1.03, -0.5, 300)
    framing_bias.save_bias(source, saved)
    copy = tmp_path / "elsewhere" / "v2-smoke"
    shutil.copytree(source, copy)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDMARKLIB_")}
    env.update(LANDMARKLIB_HOME=str(tmp_path / "new-home"), LANDMARKLIB_DATA=str(empty / "data"),
               LANDMARKLIB_SHARED_DATA=str(empty / "shared"), TF_CPP_MIN_LOG_LEVEL="2")

    def predict(folder):
        return subprocess.run([sys.executable, "-c", OFFLINE_PROBE, str(folder)], env=env,
                              capture_output=True, text=True, cwd=config.ROOT)

    proc = predict(copy)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == saved.to_dict()
    assert "framing bias not measured" not in proc.stdout
    assert not list((tmp_path / "new-home").rglob("*.json"))   # read from the folder, not cached

    (copy / framing_bias.RUN_FILE).unlink()
    proc = predict(copy)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert json.loads(lines[-1]) == framing_bias.NO_BIAS.to_dict()
    notes = [line for line in lines if "framing bias" in line]
    assert len(notes) == 1 and "no local copy of" in notes[0]
    assert not (copy / framing_bias.RUN_FILE).exists()       # measured next time


def test_the_bias_is_saved_in_the_run_folder_once_and_follows_the_model(tmp_path, monkeypatch):
    from landmarklib.inference import framing_bias

    measured = framing_bias.FramingBias(0.02, 0.0, 1.01, 0.3, 7)
    calls = []
    monkeypatch.setattr(framing_bias, "measure_bias", lambda predictor: calls.append(1) or measured)
    monkeypatch.setattr(config, "BUILD", tmp_path / "build")
    folder = tiny_run(tmp_path / "run")
    assert framing_bias.run_bias(folder, predictor=None) == measured
    assert framing_bias.run_bias(folder, predictor=None) == measured and calls == [1]
    saved = json.loads((folder / framing_bias.RUN_FILE).read_text())
    assert saved["model"] == framing_bias.model_digest(folder) and saved["photos"] == 7
    assert not (tmp_path / "build").exists()
    # the model retrained in the same folder: measured again
    shutil.rmtree(folder)
    tiny_run(folder, bias=0.7)
    assert framing_bias.run_bias(folder, predictor=None) == measured and calls == [1, 1]
    # a bias cached before runs kept it (build/tflite) is taken over, not measured again
    other = tiny_run(tmp_path / "old", bias=0.9)
    old = framing_bias.FramingBias(0.05, 0.0, 1.0, 0.0, 3)
    write_json(old.to_dict(), framing_bias._legacy_path(framing_bias.model_digest(other)))
    assert framing_bias.run_bias(other, predictor=None) == old and calls == [1, 1]
    assert json.loads((other / framing_bias.RUN_FILE).read_text())["dx"] == 0.05


def test_load_runs_passes_over_a_version_the_report_leaves_out_unless_it_has_a_run(
        tmp_path, monkeypatch, capsys):
    """04 and 05 load every version but one ``make report`` did not train here
    (``runner.left_out_versions``: transfer offline); a run of it is still loaded."""
    monkeypatch.setattr(config, "MODELS", tmp_path)
    names = list(runs.REGISTRY)
    for name in names[:2]:
        tiny_run(tmp_path / f"{name}-smoke", version=name)
    # by module path: the modules load_runs imports when it is called
    monkeypatch.setattr("landmarklib.training.runs.REGISTRY",
                        {n: runs.REGISTRY[n] for n in names[:3]})
    left_out = "landmarklib.reporting.runner.left_out_versions"
    monkeypatch.setattr(left_out, lambda: {names[2]: "no weights here"})
    assert list(notebook.load_runs("smoke")) == names[:2]
    assert f"{names[2]}: not trained here (no weights here)" in capsys.readouterr().out
    monkeypatch.setattr(left_out, lambda: {names[1]: "no weights", names[2]: "no weights"})
    assert list(notebook.load_runs("smoke")) == names[:2]   # names[1] has a run: loaded
    monkeypatch.setattr(left_out, lambda: {})
    with pytest.raises(LandmarkError, match=f"no {names[2]} run"):
        notebook.load_runs("smoke")   # not left out: a missing run still stops


def test_transfer_weights_are_missing_only_when_nothing_would_load_them(tmp_path, monkeypatch):
    """``make report`` leaves transfer out offline (issue 24): what counts as offline."""
    import socket

    from landmarklib.reporting import runner

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setattr(runner, "KERAS_WEIGHTS_HOST", server.getsockname())
    assert runner.transfer_weights_missing("imagenet") is None          # the host answers
    port = server.getsockname()[1]
    server.close()
    monkeypatch.setattr(runner, "KERAS_WEIGHTS_HOST", ("127.0.0.1", port))
    why = runner.transfer_weights_missing("imagenet")                  # nobody listens
    assert why.startswith("no ImageNet weights: none in ") and "127.0.0.1" in why
    runs.keras_weights_file().parent.mkdir(parents=True)
    runs.keras_weights_file().write_bytes(b"weights Keras downloaded before")
    assert runner.transfer_weights_missing("imagenet") is None          # cached: no network needed
    assert runner.transfer_weights_missing("none") is None              # from scratch, as asked
    assert "does not exist" in runner.transfer_weights_missing(str(tmp_path / "gone.h5"))
    (tmp_path / "mine.h5").write_bytes(b"x")
    assert runner.transfer_weights_missing(str(tmp_path / "mine.h5")) is None
