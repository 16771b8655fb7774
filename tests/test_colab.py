"""The Colab path (issue 12): one `profile` parameter resolved by the library and
never overwritten, run folders per dataset, runs that survive between notebooks
(LANDMARKLIB_HOME, a clear stop where a run is missing), the setup cell's installs,
the repository address as one setting, and the Overleaf zip."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from landmarklib import colablinks, config, notebook, overleaf, runner, runs
from landmarklib.core.errors import LandmarkError
from landmarklib.core.files import write_json

NOTEBOOKS = sorted((config.ROOT / "notebooks").glob("0*.ipynb"))
RUN_NOTEBOOKS = ("04_evaluate", "05_demo")  # they load what 03_train saved


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"])


# --- profile ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_profile_parameter_is_auto_and_never_assigned_again(path):
    nb = cells(path)
    params = source(nb[2])
    assert re.search(r'^profile: str = "auto"', params, re.M), f"{path.name}: profile must default to auto"
    for i, cell in enumerate(nb[3:], start=4):
        if cell["cell_type"] == "code":
            assert not re.search(r"^\s*profile\s*=", source(cell), re.M), \
                f"{path.name}: cell {i} overwrites the profile parameter"
    assert "lm.notebook.resolve_profile(profile)" in "".join(source(c) for c in nb)


def test_resolve_profile_keeps_what_the_user_set(monkeypatch):
    monkeypatch.setattr(config, "default_profile", lambda: "full")
    assert notebook.resolve_profile("auto") == "full"
    for name in ("smoke", "cpu", "full"):
        assert notebook.resolve_profile(name) == name
    monkeypatch.setattr(config, "default_profile", lambda: "cpu")
    assert notebook.resolve_profile("auto") == "cpu" and notebook.resolve_profile("smoke") == "smoke"
    with pytest.raises(LandmarkError, match="unknown profile 'gpu'"):
        notebook.resolve_profile("gpu")


def test_setup_records_the_profile_for_figures(monkeypatch):
    from landmarklib.reporting.consistency import PROFILE_ENV

    monkeypatch.delenv(PROFILE_ENV, raising=False)
    notebook.setup(profile="smoke")

    assert os.environ[PROFILE_ENV] == "smoke"


# --- run folders per dataset ---------------------------------------------------------------

def fixture_run(folder, dataset, bias):
    """A tiny saved model (a constant output) as a run folder of `dataset`."""
    import keras

    inputs = keras.Input((96, 96, 1))
    flat = keras.layers.Flatten()(inputs)
    out = keras.layers.Dense(30, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias))(flat)
    folder.mkdir(parents=True)
    keras.Model(inputs, out).save(folder / "model.keras")
    write_json({"version": "v2", "profile": {**config.SMOKE.to_dict(), "dataset": dataset}, "key": dataset},
               folder / "config.json")
    write_json({"version": "v2", "dataset": dataset}, folder / "results.json")


def test_kaggle_and_faces15_runs_coexist(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MODELS", tmp_path)
    faces15 = runs.run_dir_for("v2", "smoke")
    kaggle = runs.run_dir_for("v2", "smoke", dataset="kaggle")
    assert faces15 == tmp_path / "v2-smoke"  # the folders of earlier versions keep their name
    assert kaggle == tmp_path / "v2-kaggle-smoke"
    assert runs.run_dir_for("v4", "cpu", "strong", dataset="kaggle") == tmp_path / "v4-kaggle-strong-cpu"
    fixture_run(faces15, "faces15", 1.0)
    fixture_run(kaggle, "kaggle", 2.0)
    image = np.zeros((1, 96, 96, 1), np.float32)
    for dataset, bias in (("faces15", 1.0), ("kaggle", 2.0)):
        run = notebook.load_runs("smoke", ["v2"], dataset=dataset)["v2"]
        assert run.results["dataset"] == dataset
        np.testing.assert_allclose(run.model.predict(image, verbose=0), bias)
    assert faces15.is_dir() and kaggle.is_dir()


def test_train_writes_into_the_datasets_folder(tmp_path, monkeypatch):
    """train() asks the run store for the profile's dataset's folder (stopped before
    any data loads)."""
    from landmarklib.training import train as train_module

    asked = []

    class Stop(Exception):
        pass

    real_path = runs.RunStore.path

    def record(store, *args, **kwargs):
        asked.append(real_path(store, *args, **kwargs))
        return tmp_path / "run"

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(config, "MODELS", tmp_path)
    monkeypatch.setattr(runs.RunStore, "path", record)
    monkeypatch.setattr(train_module, "data_manifest", stop)
    with pytest.raises(Stop):
        train_module.train("v2", "smoke", dataset="kaggle")
    assert asked == [tmp_path / "v2-kaggle-smoke"]


# --- runs that survive between notebooks ---------------------------------------------------

def test_missing_run_stops_with_one_line_naming_the_notebook(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "MODELS", tmp_path)
    with pytest.raises(LandmarkError) as error:
        notebook.load_runs("smoke", ["v1", "v4"], train_missing=False)
    message = str(error.value)
    assert "\n" not in message
    assert "no v1 run of profile smoke" in message and str(tmp_path / "v1-smoke") in message
    assert "notebooks/03_train.ipynb" in message and "train_missing = True" in message


@pytest.mark.parametrize("name", RUN_NOTEBOOKS)
def test_run_loading_notebooks_use_the_library_and_default_to_stop(name):
    nb = cells(config.ROOT / "notebooks" / f"{name}.ipynb")
    assert "train_missing: bool = False" in source(nb[2])
    code = "".join(source(c) for c in nb if c["cell_type"] == "code")
    assert "lm.notebook.load_runs(run_profile" in code and "train_missing=train_missing" in code
    assert "lm.train.train(" not in code and "lm.evaluate.load_runs(" not in code


def test_home_moves_models_build_and_report_outputs(tmp_path, monkeypatch):
    for name in ("HOME", "MODELS", "BUILD", "FIGURES", "GENERATED"):
        monkeypatch.setattr(config, name, getattr(config, name))
    monkeypatch.delenv("LANDMARKLIB_MODELS", raising=False)
    monkeypatch.setenv(config.HOME_ENV, "")
    home = notebook.use_home(tmp_path / "drive")
    assert home == tmp_path / "drive" and home.is_dir()
    assert config.MODELS == home / "models" and config.BUILD == home / "build"
    assert config.FIGURES == home / "report" / "figures" and config.GENERATED == home / "report" / "generated"
    assert runs.run_dir_for("v4", "cpu") == home / "models" / "v4-cpu"
    paths = notebook.setup()
    assert paths.models == home / "models" and paths.figures.is_dir()


def test_home_from_the_environment(tmp_path):
    code = "from landmarklib.core import config; print(config.MODELS, config.FIGURES)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"LANDMARKLIB_HOME": str(tmp_path)}, cwd=config.ROOT)
    assert out.stdout.split() == [str(tmp_path / "models"), str(tmp_path / "report" / "figures")]


# --- the setup cell ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_setup_cell_installs_what_colab_lacks_and_enables_widgets(path):
    setup = source(cells(path)[1])
    assert setup == notebook.colab_setup_source()
    install = [l for l in setup.splitlines() if "%pip install" in l]
    assert len(install) == 1 and "--no-deps" in install[0]
    requirements = (config.ROOT / "requirements.txt").read_text()
    for package in notebook.COLAB_EXTRA_PACKAGES:
        pin = re.search(rf"^{package}==(\S+)", requirements, re.M).group(0)
        assert pin in install[0], f"{path.name}: setup cell lacks {pin}"
    assert not re.search(r"\b(tensorflow|keras|numpy|pandas)\b", install[0])  # Colab's own stay
    assert "output.enable_custom_widget_manager()" in setup


def test_colab_report_notebook_is_not_part_of_the_report():
    names = [job.name for job in runner.plan("smoke")]
    assert names and not any(n.startswith("00_") for n in names)
    nb = cells(config.ROOT / "notebooks" / "00_colab_report.ipynb")
    code = "".join(source(c) for c in nb if c["cell_type"] == "code")
    for call in ("lm.notebook.report_pins()", "lm.notebook.run_report(run_profile",
                 "lm.overleaf.pack()", "lm.notebook.deliver(zip_path)", "use_home(drive="):
        assert call in code
    assert notebook.colab_badge("00_colab_report") in source(nb[0])


def test_full_profile_has_a_finite_cell_timeout():
    assert all(isinstance(t, int) and t > 0 for t in runner.CELL_TIMEOUT.values())


# --- the repository address ---------------------------------------------------------------------

def test_badges_and_clone_lines_agree_with_the_setting():
    assert colablinks.disagreements() == []
    for path in NOTEBOOKS:
        assert notebook.colab_badge(path.stem) in source(cells(path)[0])


def test_colab_links_rewrites_every_place(tmp_path):
    nbs = tmp_path / "notebooks"
    shutil.copytree(config.ROOT / "notebooks", nbs)
    readme = tmp_path / "README.md"
    shutil.copy(config.ROOT / "README.md", readme)
    setting = tmp_path / "notebook.py"
    shutil.copy(colablinks.SETTING_FILE, setting)
    changed = colablinks.rewrite("alice/landmarks", nbs, readme, setting)
    assert setting in changed and len(changed) >= len(NOTEBOOKS) + 1
    assert 'REPO_URL = "https://github.com/alice/landmarks"' in setting.read_text()
    assert colablinks.disagreements(nbs, readme, repo="alice/landmarks") == []
    assert colablinks.disagreements(nbs, readme) != []  # they no longer follow the old setting
    text = (nbs / "03_train.ipynb").read_text()
    assert "colab.research.google.com/github/alice/landmarks/blob/" in text
    assert "https://github.com/alice/landmarks /content/landmarklib" in text
    with pytest.raises(ValueError, match="expected owner/name"):
        colablinks.rewrite("not a repo", nbs, readme, setting)


# --- the Overleaf zip ---------------------------------------------------------------------------

def test_overleaf_zip_holds_what_latex_needs(tmp_path):
    out, names = overleaf.pack(tmp_path / "report.zip")
    with zipfile.ZipFile(out) as archive:
        listed = set(archive.namelist())
    assert listed == set(names)
    main = (config.ROOT / "report" / "main.tex").read_text()
    inputs = {f"{m}.tex" for m in re.findall(r"\\input\{(sections/[\w]+)\}", main)}
    assert inputs and inputs <= listed
    assert {"main.tex", "references.bib"} <= listed
    figures = {f"figures/{p.name}" for p in config.FIGURES.glob("*.pdf")}
    assert figures <= listed
    assert not any(n.endswith((".aux", ".log", ".pdf")) and not n.startswith("figures/") for n in listed)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("latexmk") is None, reason="latexmk not installed")
def test_overleaf_zip_compiles(tmp_path):
    out, _ = overleaf.pack(tmp_path / "report.zip")
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(folder)
    result = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex"],
                            cwd=folder, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (folder / "main.pdf").stat().st_size > 10_000


@pytest.mark.slow
def test_evaluate_notebook_without_runs_stops_with_the_line(tmp_path, monkeypatch):
    """04_evaluate itself, with an empty LANDMARKLIB_HOME: the run-loading cell stops it."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    monkeypatch.setenv(config.HOME_ENV, str(tmp_path))
    monkeypatch.delenv("LANDMARKLIB_MODELS", raising=False)
    with pytest.raises(PapermillExecutionError) as error:
        papermill.execute_notebook(
            str(config.ROOT / "notebooks" / "04_evaluate.ipynb"), str(tmp_path / "04.ipynb"),
            parameters={"profile": "smoke", "interactive": False}, kernel_name="python3",
            cwd=str(config.ROOT / "notebooks"), progress_bar=False)
    assert error.value.ename == "LandmarkError"
    assert f"no v1 run of profile smoke in {tmp_path / 'models' / 'v1-smoke'}" in error.value.evalue
    assert "notebooks/03_train.ipynb" in error.value.evalue
    assert not (tmp_path / "models").exists()  # nothing trained
