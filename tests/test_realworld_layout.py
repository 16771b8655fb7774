"""Where the real-pipeline evaluation lives (issue 23): in ``evaluation``, with the
video pipeline it scores handed in from ``demo``; ``reporting`` never imports ``demo``."""
import ast
from pathlib import Path

import pytest

import landmarklib as lm

PACKAGE = Path(lm.__file__).parent


def _imported_modules(path, package):
    """Absolute names of what `path` (a module of `package`) imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found |= {target} | {f"{target}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_no_reporting_module_imports_demo():
    offenders = {}
    for path in sorted((PACKAGE / "reporting").glob("*.py")):
        package = "landmarklib.reporting"
        demo = sorted(m for m in _imported_modules(path, package)
                      if m == "landmarklib.demo" or m.startswith("landmarklib.demo."))
        if demo:
            offenders[path.name] = demo
    assert not offenders, f"reporting imports demo (take it from evaluation or inference): {offenders}"


def test_the_import_finder_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ..demo.video import annotate_video\n    from .. import demo\n")
    found = _imported_modules(module, "landmarklib.reporting")
    assert {"landmarklib.demo.video", "landmarklib.demo"} <= found


def test_the_real_pipeline_modules_sit_in_evaluation_and_inference():
    assert lm.realworld_versions.__name__ == "landmarklib.evaluation.realworld_versions"
    assert lm.realworld_videos.__name__ == "landmarklib.evaluation.realworld_videos"
    assert lm.testvideo is lm.realworld_videos          # the old name, kept for one release
    assert lm.video_io.__name__ == "landmarklib.inference.video_io"
    assert lm.measurements.__name__ == "landmarklib.inference.measurements"
    assert not (PACKAGE / "demo" / "testvideo.py").exists()
    assert not (PACKAGE / "demo" / "realworld_versions.py").exists()
    # the video command still offers what it offered (lm.video.open_video ...)
    assert lm.video.open_video is lm.video_io.open_video


def test_scoring_videos_needs_the_pipeline_to_score(tmp_path):
    with pytest.raises(TypeError, match=r"annotate=lm.video.annotate_video; got None"):
        lm.realworld_videos.evaluate_videos(None, tmp_path)
    with pytest.raises(TypeError, match=r"expected the video pipeline.*got 'video'"):
        lm.realworld_versions.compare_versions({}, tmp_path, photos=[], annotate="video")
    assert not list(tmp_path.iterdir())                  # refused before anything was written


LATEX_NAMES = {"to_latex", "latex_escape", "write_latex"}
LATEX_MARKUP = (r"\begin{tabular}", r"\toprule", r"\newcommand", r"\textbf")


def _latex_writing(tree):
    """Line numbers where code (not a docstring or comment) writes LaTeX."""
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        name = (node.id if isinstance(node, ast.Name) else node.attr
                if isinstance(node, ast.Attribute) else node.name
                if isinstance(node, ast.FunctionDef) else None)
        if name in LATEX_NAMES:
            found.append(node.lineno)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings and any(m in node.value for m in LATEX_MARKUP)):
            found.append(node.lineno)
    return found


def test_latex_is_written_only_in_reporting():
    """One home for LaTeX (issue 23): no module below ``reporting`` writes it."""
    writers = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] == "reporting":
            continue
        lines = _latex_writing(ast.parse(path.read_text()))
        if lines:
            writers[str(path.relative_to(PACKAGE))] = lines
    assert not writers, f"write LaTeX with reporting.latex, not here: {writers}"


def test_the_latex_finder_sees_code_not_docstrings():
    assert _latex_writing(ast.parse('def f(t):\n    return to_latex(t)'))
    assert _latex_writing(ast.parse('lines = [r"\\begin{tabular}{ll}"]'))
    assert not _latex_writing(ast.parse('"""Written as LaTeX by reporting.latex.to_latex."""'))
