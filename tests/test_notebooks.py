"""The notebooks: committed clean (no outputs, no function definitions, a Colab
badge and setup cell, a `parameters` cell), and executed end to end under the
smoke profile the way `make report PROFILE=smoke` runs them, into temporary
folders so that the real report/ is left alone."""
import re
import shutil

import nbformat
import pytest

from landmarklib import config, notebook, report

NOTEBOOKS = sorted(report.NOTEBOOKS.glob(report.NOTEBOOK_PATTERN))
REPORT_SOURCES = ("main.tex", "sections", "references.bib")
# The figures of the report, by the notebook that draws them.
FIGURES_BY_NOTEBOOK = {
    "01_explore": ("dataset_samples", "keypoint_scatter", "mean_face", "missing_pattern"),
    "02_augment": ("augment_recipes",),
    "03_train": tuple(f"curves_{v}" for v in report.TRAIN_VERSIONS),
    "04_evaluate": ("per_keypoint_errors", "ced_curves", "error_by_attribute",
                    "worst_best_gallery"),
    "05_demo": ("demo_frames",),
}


def read(path):
    return nbformat.read(str(path), as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# --- committed notebooks ------------------------------------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    import json

    raw = json.loads(path.read_text())
    assert all("id" in cell for cell in raw["cells"]), \
        f"{path.name}: a cell has no id (nbformat 4.5 requires one; add cells with nbformat)"
    nb = read(path)
    for i, cell in enumerate(code_cells(nb)):
        assert not cell.get("outputs"), f"{path.name}: code cell {i + 1} has outputs; strip them"
        assert cell.get("execution_count") is None, f"{path.name}: cell {i + 1} has a count"
        assert not re.search(r"^\s*(def|class) ", cell.source, re.M), \
            f"{path.name}: cell {i + 1} defines a function or class; put it in landmarklib/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_in_colab(path):
    """Badge in the first cell, then a setup cell that clones REPO_URL only on Colab."""
    nb = read(path)
    assert nb.cells[0].cell_type == "markdown"
    assert notebook.colab_badge(path.stem) in nb.cells[0].source, \
        f"{path.name}: first cell needs the badge {notebook.colab_badge(path.stem)}"
    first_code = code_cells(nb)[0].source
    assert 'if "google.colab" in sys.modules:' in first_code
    assert notebook.REPO_URL in first_code
    assert "import landmarklib as lm" in first_code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell_with_profile(path):
    import papermill

    nb = read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    assert nb.cells.index(tagged[0]) == 2, f"{path.name}: the parameters cell comes second"
    declared = papermill.inspect_notebook(str(path))
    assert "profile" in declared
    if path.stem == report.TRAIN_NOTEBOOK:
        assert {"model_version", "dataset", "seed", "figures_dir"} <= set(declared)


def test_every_report_figure_has_a_notebook():
    """The figures main.tex includes are the ones the test below checks for."""
    known = {name for names in FIGURES_BY_NOTEBOOK.values() for name in names}
    sources = (config.ROOT / "report" / "sections").glob("*.tex")
    used = {m for path in sources
            for m in re.findall(r"\\maybegraphics(?:\[[^\]]*\])?\{figures/([\w]+)\.pdf\}",
                                path.read_text())}
    assert used == known


# --- execution ----------------------------------------------------------------------------

@pytest.mark.slow
def test_failing_notebook_stops_the_report_naming_notebook_and_cell(tmp_path, capsys):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name, body in (("01_fine", "x = 1"), ("02_broken", "values = {}\nvalues['missing']"),
                       ("03_never", "y = 2")):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3", "language": "python"}})
        params = nbformat.v4.new_code_cell('profile = "smoke"')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell("# test"), params,
                    nbformat.v4.new_code_cell(body)]
        nbformat.write(nb, str(nbs / f"{name}.ipynb"))
    build = tmp_path / "build"
    code = report.make_report("smoke", notebooks_dir=nbs, build_dir=build,
                              report_dir=tmp_path / "report", models_dir=tmp_path / "models")
    err = capsys.readouterr().err
    assert code == report.NOTEBOOK_FAILED
    assert "02_broken.ipynb" in err and "cell 3 of 02_broken.ipynb" in err
    assert "KeyError: 'missing'" in err
    assert str(build / "02_broken.ipynb") in err
    assert (build / "01_fine.ipynb").exists() and not (build / "03_never.ipynb").exists()
    assert not (tmp_path / "report" / "generated").exists()  # nothing after a failure


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    """`make report PROFILE=smoke`, with the report and executed notebooks in a temp folder."""
    tmp = tmp_path_factory.mktemp("smoke_report")
    folder = tmp / "report"
    folder.mkdir()
    for name in REPORT_SOURCES:
        src = config.ROOT / "report" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, folder / name)
    code = report.make_report("smoke", build_dir=tmp / "build", report_dir=folder)
    return code, tmp / "build", folder


@pytest.mark.slow
def test_smoke_report_runs_every_notebook(smoke_report):
    code, build, folder = smoke_report
    assert code == report.OK
    for job in report.plan("smoke", build_dir=build, report_dir=folder):
        nb = read(job.output)
        assert nb.metadata["papermill"]["exception"] is not True, job.name
        ran = [c for c in code_cells(nb) if "injected-parameters" not in c.metadata.get("tags", [])]
        assert all(c.execution_count for c in ran), f"{job.name}: not every cell ran"


@pytest.mark.slow
def test_smoke_report_writes_the_figures(smoke_report):
    _, _, folder = smoke_report
    present = {p.stem for p in NOTEBOOKS}
    not_trained = {f"curves_{v}" for v in report.left_out_versions()}   # transfer offline
    for notebook, names in FIGURES_BY_NOTEBOOK.items():
        if notebook not in present:
            continue
        for name in names:
            if name in not_trained:   # the report's \maybegraphics leaves its place empty
                assert not (folder / "figures" / f"{name}.pdf").exists(), name
                continue
            for suffix in (".pdf", ".png"):
                path = folder / "figures" / f"{name}{suffix}"
                assert path.exists() and path.stat().st_size > 1000, f"{notebook}: no {path}"


@pytest.mark.slow
def test_smoke_report_tables_mention_every_version(smoke_report):
    _, _, folder = smoke_report
    table = (folder / "generated" / "results_table.tex").read_text()
    left_out = report.left_out_versions()   # transfer, offline: not trained, and the report says so
    for version in report.TRAIN_VERSIONS:
        label = report.VERSION_LABELS[version]
        row = next(line for line in table.splitlines() if line.startswith(f"{label} & "))
        assert ("not run" in row) == (version in left_out), row
    profile_tex = (folder / "generated" / "profile.tex").read_text()
    assert r"\newcommand{\ProfileName}{\texttt{smoke}}" in profile_tex
    for version in left_out:
        assert f"{report.VERSION_LABELS[version]} was not trained here: " in profile_tex


@pytest.mark.slow
def test_smoke_report_builds_the_pdf(smoke_report):
    _, _, folder = smoke_report
    missing = report.latex_available()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed, so make report built no PDF "
                    f"(apt-get install {' '.join(report.LATEX_PACKAGES)})")
    assert (folder / "main.pdf").stat().st_size > 100_000
    log = (folder / "main.log").read_text(errors="replace")
    assert not report.latex_warnings(log), report.latex_warnings(log)
