"""The explore figures and tables (lm.plots, lm.tables) and the 01_explore notebook."""
import matplotlib
import nbformat
import numpy as np
import pytest

from landmarklib import config, latex, plots, tables
from landmarklib import keypoints as kp

matplotlib.use("Agg")

NOTEBOOK = config.ROOT / "notebooks" / "01_explore.ipynb"
FIGURES = ("missing_pattern", "dataset_samples", "keypoint_scatter", "mean_face")  # report/sections/data.tex
NOTEBOOK_PARAMETERS = {"profile": "auto", "dataset": "faces15",
                       "figures_dir": "", "seed": 0}


# --- tables ----------------------------------------------------------------------

def test_dataset_sizes_counts_every_image(tiny_faces):
    sizes = tables.dataset_sizes(tiny_faces)
    assert list(sizes.columns) == ["train", "val", "test", "test_mtfl", "total"]
    assert sizes.loc["total", "total"] == len(tiny_faces)
    assert sizes.loc["mtfl", "train"] == 1 and sizes.loc["youtube-faces", "train"] == 2


def test_label_pattern(tiny_faces):
    pattern = tables.label_pattern(tiny_faces)
    assert pattern.loc["youtube-faces", "complete"] == 3
    assert pattern.loc["mtfl", ["complete", "partial", "none"]].tolist() == [0, 2, 1]
    assert pattern.loc["total", "keypoints per row"] == pytest.approx((3 * 15 + 2 * 2) / 6, abs=0.05)


def test_keypoint_means_skip_missing_rows(tiny_faces):
    means = tables.keypoint_means(tiny_faces)
    pts = kp.as_points(tiny_faces.keypoints)
    np.testing.assert_allclose(means[0], pts[:5, 0].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(means[5], pts[:3, 5].mean(axis=0), rtol=1e-6)
    table = tables.keypoint_means_table(tiny_faces, {"nose_tip": (48, 62)}, "Kaggle")
    assert list(table.columns) == ["x", "y", "Kaggle x", "Kaggle y", "distance (px)"]
    assert table["Kaggle x"].notna().sum() == 1


def test_latex_is_booktabs_escaped_and_has_a_total_rule(tiny_faces, tmp_path):
    path = latex.write_latex(tables.dataset_sizes(tiny_faces), tmp_path / "sizes.tex")
    lines = path.read_text().splitlines()
    assert lines[0] == r"\begin{tabular}{lrrrrr}" and lines[-1] == r"\end{tabular}"
    assert lines[1] == r"\toprule" and lines[-2] == r"\bottomrule"
    assert r"test\_mtfl" in lines[2]
    assert lines[-4] == r"\midrule" and lines[-3].startswith("total & ")
    assert latex.latex_escape("50% of a_b & c") == r"50\% of a\_b \& c"


# --- figures ----------------------------------------------------------------------

@pytest.mark.parametrize("draw", [plots.sample_grid, plots.keypoint_scatter, plots.mean_face,
                                  plots.missing_pattern])
def test_figures_return_a_figure_and_save_pdf_and_png(draw, tiny_faces, tmp_path):
    fig = draw(tiny_faces, save_to=tmp_path / "figure.pdf")
    assert isinstance(fig, matplotlib.figure.Figure)
    for suffix in (".pdf", ".png"):
        assert (tmp_path / f"figure{suffix}").stat().st_size > 1000
    matplotlib.pyplot.close(fig)


def test_colours_follow_the_subject_side():
    from landmarklib.evaluation import drawing

    assert drawing.side("left_eye_center") == "left" and drawing.side("mouth_right_corner") == "right"
    assert drawing.side("nose_tip") == "centre"
    assert set(plots.KAGGLE_MEANS) == set(kp.NAMES)
    left, right = plots.KAGGLE_MEANS["left_eye_center"], plots.KAGGLE_MEANS["right_eye_center"]
    assert left[0] > right[0]  # Kaggle's left is the image right


# --- the notebook ------------------------------------------------------------------

def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_notebook_is_committed_clean_and_parametrised():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = code_cells(notebook)
    assert "google.colab" in cells[0].source and "import landmarklib as lm" in cells[0].source
    assert cells[1].metadata.get("tags") == ["parameters"]
    for name, value in NOTEBOOK_PARAMETERS.items():
        assert f"{name}: {type(value).__name__} = {value!r}".replace("'", '"') in cells[1].source
    for cell in cells:
        assert not cell.get("outputs") and cell.get("execution_count") is None
        assert "def " not in cell.source and "lambda" not in cell.source
    for figure in FIGURES:  # each figure made by exactly one cell
        assert sum(f'"{figure}"' in c.source for c in cells) == 1, figure


@pytest.mark.slow
def test_notebook_runs_and_writes_its_figures(shared_data, tmp_path):
    import papermill

    figures = tmp_path / "figures"
    papermill.execute_notebook(
        str(NOTEBOOK), str(tmp_path / "01_explore.ipynb"), kernel_name="python3",
        cwd=str(NOTEBOOK.parent), progress_bar=False,
        parameters={"profile": "smoke", "figures_dir": str(figures)})
    for figure in FIGURES:
        for suffix in (".pdf", ".png"):
            assert (figures / f"{figure}{suffix}").exists(), figure
    assert "youtube-faces" in (tmp_path / "generated" / "dataset_sizes.tex").read_text()
