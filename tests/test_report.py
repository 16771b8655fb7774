"""landmarklib.report without running notebooks: the plan, the generated LaTeX
(tables say "not run" for missing runs, every quoted number is a macro from
results.json), the failure message, the LaTeX fallbacks; and landmarklib.reporting.notebook."""
import re
import shutil

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from landmarklib import config, latex, model_plots, notebook, report, results, runner
from landmarklib import keypoints as kp

REPORT_SOURCES = ("main.tex", "sections", "references.bib")


# --- fixtures --------------------------------------------------------------------------

def fake_results(version, profile, rmse, nme):
    """A results.json as lm.train writes it, with chosen test RMSE and NME."""
    def split(scale):
        return {"rmse": rmse * scale, "mae": 0.7 * rmse * scale, "nme": nme * scale,
                "pck": 0.8, "pck_threshold": 2.0, "failure_rate": 0.05, "images": 123,
                "coordinates": 1000, "per_keypoint": {}}
    return {"version": version, "profile": profile, "description": "x", "epochs": 3,
            "batch_size": 32, "train_images": 500, "parameters": 1_234_567,
            "train_seconds": 150.0, "images_per_second": 321.0,
            "machine": {"cpu_count": 2, "gpus": [], "tensorflow": "2.21.0"}, "strategy": "Default",
            "splits": {"val": split(0.9), "val_flip": split(0.85), "test": split(1.0),
                       "test_flip": split(0.95), "test_mtfl": split(1.2),
                       "test_mtfl_flip": split(1.1)}}


@pytest.fixture
def models_dir(tmp_path):
    """Runs of v2 and v4 for profile 'smoke' (the other versions missing)."""
    from landmarklib.core.files import write_json

    folder = tmp_path / "models"
    for version, rmse, nme in (("v2", 2.345, 7.891), ("v4", 1.987, 6.543)):
        run = folder / f"{version}-smoke"
        write_json(fake_results(version, "smoke", rmse, nme), run / "results.json")
        write_json({"version": version, "profile": config.get_profile("smoke").to_dict()},
                   run / "config.json")
    return folder


def write_notebook(path, cells, parameters=None):
    """A notebook with an optional `parameters` cell first, then code cells."""
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                               "language": "python"}})
    if parameters is not None:
        cell = new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [new_code_cell(c) if not c.startswith("#md ") else new_markdown_cell(c[4:])
                 for c in cells]
    nbformat.write(nb, str(path))
    return path


# --- macro names and formatting -----------------------------------------------------------

def test_macro_names_are_letters_only():
    assert latex.macro_name("v4", "Test", "Rmse") == "VfourTestRmse"
    assert latex.macro_name("heatmap", "test_mtfl_flip", "nme") == "HeatmapTestMtflFlipNme"
    assert latex.macro_name("v12") == "Vonetwo"
    with pytest.raises(ValueError, match="macro name"):
        latex.macro_name("", "_")


def test_latex_escape_and_counts():
    assert latex.latex_escape("a_b & 5%") == r"a\_b \& 5\%"
    assert latex.format_count(3_541_822) == r"3.54\,M"
    assert latex.format_count(12_345) == r"12.3\,k"
    assert latex.format_seconds(30) == r"30\,s"
    assert latex.format_seconds(600) == r"10.0\,min"


# --- generated LaTeX ----------------------------------------------------------------------

def macros(text):
    return dict(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}", text))


def test_generated_files_quote_results_json(tmp_path, models_dir):
    written = report.write_generated("smoke", tmp_path / "generated", models_dir)
    names = {p.name for p in written}
    assert {"results_table.tex", "results_macros.tex", "profile.tex", "flip_table.tex",
            "versions_table.tex", "augment_table.tex", "climb_table.tex", "goals_table.tex"} <= names
    # the results section reads V6's climb and goals (reporting.climb_tables, reporting.goals)
    results_tex = (config.ROOT / "report" / "sections" / "results.tex").read_text()
    assert r"\input{generated/climb_table.tex}" in results_tex
    assert r"\input{generated/goals_table.tex}" in results_tex
    m = macros((tmp_path / "generated" / "results_macros.tex").read_text())
    # numbers come from results.json, with units for the text
    assert m["VfourTestRmse"] == r"1.99\,px"
    assert m["VtwoTestNme"] == r"7.89\,\%"
    assert m["VfourMtflNme"] == r"7.85\,\%"          # 6.543 * 1.2
    assert m["VfourTestPck"] == r"80.0\,\%"
    assert m["VfourParams"] == r"1.23\,M"
    assert m["BestVersion"] == "V4"
    assert m["ChangeVfourTestNme"] == "n/a"           # V3 missing
    assert m["ChangeHeatmapTestNme"] == "n/a"
    # every version gets every macro, missing ones say "not run"
    for version in report.TRAIN_VERSIONS:
        assert latex.macro_name(version, "Test", "Rmse") in m
    assert m["VoneTestRmse"] == r"\notrun"
    assert all(re.fullmatch(r"[A-Za-z]+", name) for name in m)


def test_results_table_lists_every_version(tmp_path, models_dir):
    report.write_generated("smoke", tmp_path, models_dir)
    table = (tmp_path / "results_table.tex").read_text()
    for version in report.TRAIN_VERSIONS:
        assert re.search(rf"^{report.VERSION_LABELS[version]} &", table, re.M), version
    assert table.count("not run") == len(report.TRAIN_VERSIONS) - 2   # all but v2 and v4
    v4 = next(line for line in table.splitlines() if line.startswith("V4 &"))
    assert v4.split(" & ")[1:4] == ["1.99", "1.39", "6.54"]
    assert "smoke" in table


def test_profile_macros_name_profile_and_data(tmp_path, models_dir):
    report.write_generated("smoke", tmp_path, models_dir)
    m = macros((tmp_path / "profile.tex").read_text())
    prof = config.get_profile("smoke")
    assert m["ProfileName"] == r"\texttt{smoke}"
    assert m["ProfileDataset"] == r"\texttt{faces15}"
    assert m["ProfileEpochs"] == str(prof.epochs)
    assert m["RunsDone"] == "2" and m["RunsPlanned"] == str(len(report.TRAIN_VERSIONS))
    assert "2 CPU cores, no GPU" in m["TrainMachine"]


def test_no_runs_still_writes_complete_tables(tmp_path):
    report.write_generated("smoke", tmp_path / "gen", tmp_path / "empty")
    m = macros((tmp_path / "gen" / "results_macros.tex").read_text())
    assert m["BestVersion"] == r"\notrun"
    table = (tmp_path / "gen" / "results_table.tex").read_text()
    assert table.count("not run") == len(report.TRAIN_VERSIONS)


# Numbers the report's text may type, each only in its context (a regex that
# matches the number with the words around it), and why. Anything else that
# looks like a number must come from a generated macro.
TYPED_IN_CONTEXT = [
    (r"\b15(?=~?\s*(Kaggle\s+)?keypoints)", "the schema: kp.NUM_KEYPOINTS keypoints"),
    (r"\b30(?= numbers)", "2 x 15 coordinates"),
    (r"\b68(?=[\s-]+(iBUG\s+)?(shape\s+)?point)|(?<=from the )68(?=:)|(?<=iBUG's )68\b",
     "the iBUG 68-point scheme"),
    (r"(?<=MTFL's )5\b|\b5(?= of our)", "MTFL's five points"),
    (r"(?<=the other )10(?= are missing)", "15 - 5 keypoints MTFL lacks"),
    (r"(?<=the other )13(?= keypoints)", "15 - 2 eye centres averaged from contours"),
    (r"\b4(?= of the 15 keypoints)", "Kaggle's partial rows (the competition's data)"),
    (r"\b13\{,\}000(?= faces)", "MTFL's size, from its paper"),
    (r"\b96x96\b|(?<=from )96(?= to 6 pixels)|(?<=to )6(?= pixels)",
     "the crop size and the CNN's downsampling"),
    (r"1\.58(?=\\px\{\}\s+for\s+(its\s+)?V2)|1\.42(?=\\px\{\}\s+for\s+V3)"
     r"|1\.56(?=\\px\{\}\s+for\s+V4)",
     "the original project's published results"),
    (r"\b100(?= epochs)|(?<=project's )100\b|(?<=batch[ \n])256\b|(?<=batches of )256\b"
     r"|\b20(?=\\,\\%)", "the original project's settings; the timing batch"),
    (r"\\setlength\{\\tabcolsep\}\{\d+pt\}", "table layout"),
]
NUMBER = r"(?<![A-Za-z\\])\d+(?:\.\d+)?"


def typed_numbers(tex):
    """Numbers left in LaTeX source `tex` once comments, names, sizes, the allowed
    phrases of TYPED_IN_CONTEXT and integer-only math are taken out."""
    text = re.sub(r"(?<!\\)%.*", "", tex)  # comments (an escaped \\% is text)
    text = re.sub(r"\\(ref|label|cite|eqref|code)\{[^}]*\}", "", text)  # names, not numbers
    text = re.sub(r"\[[^\]]*\]|[\d.]+\\linewidth|300-W", "", text)  # sizes; iBUG 300-W
    allowed = [m.span() for pattern, _ in TYPED_IN_CONTEXT for m in re.finditer(pattern, text)]
    chars = list(text)
    for start, end in allowed:  # all phrases are found in the same text, then blanked
        chars[start:end] = " " * (end - start)
    text = "".join(chars)
    # formulas and shapes ($3\times3$, $x_{14}$, equations): integers only
    math = r"\$[^$]*\$|\\begin\{(equation|align)\*?\}.*?\\end\{\1\*?\}"
    text = re.sub(math, lambda m: "" if not re.search(r"\d\.\d", m.group(0)) else m.group(0),
                  text, flags=re.S)
    return re.findall(NUMBER, text)


def test_report_text_quotes_no_number_of_ours():
    """Numbers in the sections are macros; typed ones only in TYPED_IN_CONTEXT's phrases."""
    for path in (config.ROOT / "report" / "sections").glob("*.tex"):
        found = typed_numbers(path.read_text())
        assert not found, f"{path.name}: numbers typed by hand: {sorted(set(found))}"


@pytest.mark.parametrize("sentence", [
    "V2 reaches 1.33\\px{} on the test set.",          # a result typed by hand
    "after 13 epochs",                                    # was whitelisted as a bare 13
    "The 20 slowest faces",                               # 20 outside the original's 20\\,\\%
    "an error of $1.46$ px",                              # a decimal in math
    "15 faces of the test set",                           # 15 not followed by keypoints
])
def test_typed_number_guard_catches_numbers_out_of_context(sentence):
    assert typed_numbers(sentence), sentence


def test_every_macro_the_text_uses_is_generated(tmp_path, models_dir):
    report.write_generated("smoke", tmp_path, models_dir)
    defined = set(macros((tmp_path / "results_macros.tex").read_text()))
    defined |= set(macros((tmp_path / "profile.tex").read_text()))
    for path in (config.ROOT / "report" / "sections").glob("*.tex"):
        for name in re.findall(r"\\((?:V[a-z]+|Heatmap|Transfer|Best|Change|Profile|Test|Validation|Pck|Failure|Train"
                               r"|Mtfl|Runs)[A-Za-z]*)",
                               path.read_text()):
            assert name in defined, f"{path.name} uses \\{name}, which nothing generates"


def _write_notebook_tables(generated):
    """The tables the notebooks write (Styler.to_latex and the comparison), with odd text."""
    from landmarklib import comparison

    sizes = pd.DataFrame({"train": [1234, 56], "test_mtfl": [np.nan, 7.5], "note": ["a_b & c", "50%"]},
                         index=pd.Index(["youtube-faces", "total"], name="source"))
    latex.write_latex(sizes, generated / "dataset_sizes.tex")
    latex.write_detectors_table(None, generated / "detectors_table.tex")
    row = {"split": "test_mtfl", "model": "v2_x", "flip": False, "images": 9, "rmse": 1.5,
           "mae": 1.0, "nme": 5.0, "pck": 0.9, "failure_rate": 0.1, "parameters": 1e6,
           "ms_b256": 0.5, "ms_b1": np.nan}
    table = pd.DataFrame([row, {**row, "flip": True, "rmse": 1.4}])
    latex.write_comparison_table(table, generated)
    comparison.save_comparison(table, generated / "comparison.csv")


def test_report_builds_with_partial_results(tmp_path, models_dir, capsys):
    """A partial report (2 of 6 runs, no figures) compiles: boxes, 'not run', no '??'."""
    if report.latex_available():
        pytest.skip(f"LaTeX missing ({report.latex_available()}): "
                    "apt-get install " + " ".join(report.LATEX_PACKAGES))
    folder = tmp_path / "report"
    folder.mkdir()
    for name in REPORT_SOURCES:
        src = config.ROOT / "report" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, folder / name)
    report.write_generated("smoke", folder / "generated", models_dir)
    _write_notebook_tables(folder / "generated")
    assert report.build_pdf(folder) == report.OK
    assert (folder / "main.pdf").stat().st_size > 10_000
    log = (folder / "main.log").read_text(errors="replace")
    assert not report.latex_warnings(log), report.latex_warnings(log)


# --- notebooks: plan and failure message ------------------------------------------------

def test_plan_orders_notebooks_and_expands_training(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "02_b.ipynb", ["x = 1"], parameters='profile = "smoke"')
    write_notebook(nbs / "01_a.ipynb", ["x = 1"],
                   parameters='profile = "smoke"\nfigures_dir = "../report/figures"')
    write_notebook(nbs / f"{report.TRAIN_NOTEBOOK}.ipynb", ["x = 1"],
                   parameters='model_version = "v4"\nprofile = "smoke"')
    write_notebook(nbs / "scratch.ipynb", ["x = 1"])  # not numbered: not run
    jobs = report.plan("cpu", nbs, tmp_path / "build", tmp_path / "rep", left_out={})
    names = [j.name for j in jobs]
    assert names == ["01_a", "02_b"] + [f"03_train_{v}" for v in report.TRAIN_VERSIONS]
    # a version left out here (transfer offline) gets no training job; the rest keep their order
    fewer = report.plan("cpu", nbs, tmp_path / "build", tmp_path / "rep",
                        left_out={"transfer": "no ImageNet weights"})
    assert [j.name for j in fewer] == [n for n in names if n != "03_train_transfer"]
    assert jobs[0].parameters == {"profile": "cpu",
                                  "figures_dir": str((tmp_path / "rep" / "figures").resolve())}
    assert jobs[1].parameters == {"profile": "cpu"}  # declares no figures_dir
    last = report.TRAIN_VERSIONS[-1]
    assert jobs[-1].parameters["model_version"] == last
    assert jobs[-1].output == tmp_path / "build" / f"03_train_{last}.ipynb"
    only = report.plan("cpu", nbs, tmp_path / "build", tmp_path / "rep", only=["train_v4"])
    assert [j.name for j in only] == ["03_train_v4"]
    with pytest.raises(ValueError, match="matches no notebook"):
        report.plan("cpu", nbs, only=["nothing"])
    with pytest.raises(FileNotFoundError, match="no numbered notebooks"):
        report.plan("cpu", tmp_path / "build")


def test_failure_message_names_notebook_cell_and_error(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    source = write_notebook(tmp_path / "07_x.ipynb", ["a = 1", "1 / 0"], parameters="profile = 'x'")
    job = runner.Job("07_x", source, tmp_path / "out.ipynb", {"profile": "smoke"})
    error = PapermillExecutionError(cell_index=3, exec_count=3, source="1 / 0",
                                    ename="ZeroDivisionError", evalue="division by zero",
                                    traceback=[])
    text = runner.describe_failure(job, error)
    assert "07_x.ipynb" in text and "profile=smoke" in text
    assert "cell 3 of 07_x.ipynb" in text      # the committed notebook's 3rd cell
    assert "ZeroDivisionError: division by zero" in text
    assert str(tmp_path / "out.ipynb") in text


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        report.make_report(profile="fast")


def test_without_latex_report_succeeds_and_says_what_to_install(tmp_path, monkeypatch, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01_a.ipynb", ["x = 1"], parameters="profile = 'x'")
    ran = []
    monkeypatch.setattr(report, "run_notebooks", lambda jobs, cwd: ran.extend(jobs))
    monkeypatch.setattr(report.shutil, "which", lambda tool: None)
    code = report.make_report("smoke", notebooks_dir=nbs, build_dir=tmp_path / "b",
                              report_dir=tmp_path / "rep", models_dir=tmp_path / "none")
    out = capsys.readouterr().out
    assert code == report.OK and [j.name for j in ran] == ["01_a"]
    assert "apt-get install --no-install-recommends " + " ".join(report.LATEX_PACKAGES) in out
    assert "Overleaf" in out
    assert (tmp_path / "rep" / "generated" / "results_table.tex").exists()


def test_latex_warnings_finds_undefined_references_and_big_overfull_boxes():
    log = ("LaTeX Warning: Reference `fig:x' on page 3 undefined on input line 7.\n"
           "Overfull \\hbox (0.5pt too wide) in paragraph at lines 1--2\n"
           "Overfull \\hbox (12.3pt too wide) in paragraph at lines 5--9\n")
    found = report.latex_warnings(log)
    assert len(found) == 2 and "fig:x" in found[0] and "12.3pt" in found[1]


# --- figures ------------------------------------------------------------------------------

def test_learning_curves_writes_pdf_and_png(tmp_path):
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [9.0, 5.0, 4.0],
                            "val_loss": [8.0, 6.0, 5.5], "rmse": [3.0, 2.2, 2.0],
                            "val_rmse": [2.8, 2.4, 2.3]})
    fig = model_plots.learning_curves(history, save_to=tmp_path / "curves_v9.pdf")
    assert (tmp_path / "curves_v9.pdf").stat().st_size > 1000
    assert (tmp_path / "curves_v9.png").stat().st_size > 1000
    rmse_axis = fig.axes[1]
    np.testing.assert_allclose(rmse_axis.lines[1].get_ydata(), history["val_rmse"])
    with pytest.raises(ValueError, match="val_rmse"):
        model_plots.learning_curves(history.drop(columns="val_rmse"))


def test_results_frame_has_a_row_per_split():
    frame = results.results_frame(fake_results("v4", "cpu", 2.0, 6.0))
    assert list(frame.index) == ["val", "val_flip", "test", "test_flip", "test_mtfl",
                                 "test_mtfl_flip"]
    assert frame.loc["test", "rmse"] == 2.0 and frame.loc["test", "images"] == 123


def test_versions_frame_follows_the_registry():
    from landmarklib import models

    frame = results.versions_frame()
    assert len(frame) == len(models.REGISTRY)
    assert frame.loc["V1", "rows"] == "complete only" and frame.loc["V2", "rows"] == "all (masked)"


# --- landmarklib.reporting.notebook --------------------------------------------------------------------

def test_notebook_setup_seeds_and_styles():
    paths = notebook.setup(seed=3)
    a = np.random.rand()
    notebook.setup(seed=3)
    assert np.random.rand() == a
    assert matplotlib.rcParams["savefig.dpi"] == notebook.STYLE["savefig.dpi"]
    assert paths.figures == config.FIGURES and paths.models == config.MODELS
    assert not notebook.in_colab()


def test_colab_badge_points_at_the_notebook():
    badge = notebook.colab_badge("03_train")
    assert badge.startswith("[![Open In Colab](https://colab.research.google.com/assets/")
    assert badge.endswith("/landmarklib/landmarklib/blob/main/notebooks/03_train.ipynb)")
    assert notebook.colab_url("03_train.ipynb") == notebook.colab_url("03_train")


def test_keypoint_count_in_text_matches_schema():
    """Every "N keypoints", "N numbers" and crop size the report's text types
    agrees with the schema (kp.NUM_KEYPOINTS, kp.IMAGE_SIZE)."""
    text = " ".join(re.sub(r"(?<!\\)%.*", "", p.read_text())
                    for p in (config.ROOT / "report" / "sections").glob("*.tex"))
    counts = [int(n) for n in re.findall(r"(?:all|our|the|task:|From the)\s+(\d+)~?\s*"
                                         r"(?:Kaggle\s+)?keypoints", text)]
    coordinates = [int(n) for n in re.findall(r"\b(\d+) numbers", text)]
    sizes = re.findall(r"\$(\d+)\\times(\d+)\$ (?:grayscale )?(?:crop|input)"
                       r"|\b(\d+)x(\d+) crop", text)
    sizes = [tuple(int(v) for v in size if v) for size in sizes]
    assert len(counts) >= 4 and set(counts) == {kp.NUM_KEYPOINTS}, counts
    assert coordinates and set(coordinates) == {2 * kp.NUM_KEYPOINTS}, coordinates
    assert len(sizes) >= 4 and set(sizes) == {(kp.IMAGE_SIZE, kp.IMAGE_SIZE)}, sizes
