"""The package's layout: a public surface a reader can hold (``__all__`` per
subpackage, docstrings that name every module, the notebooks' names resolve),
imports at the top of modules, layers that import only downwards, no import
cycles, small modules."""
import ast
import importlib
import json
import re
from pathlib import Path

import pytest

import landmarklib as lm

PACKAGE = Path(lm.__file__).parent
# Lower layers first; a module may import its own layer and the ones before it.
LAYERS = ("core", "data", "training", "inference", "evaluation", "demo", "reporting")
TOP_LEVEL = {"__init__", "__main__", "cli"}   # the entry points may import anything
MAX_LINES = 400
# Still being split (each entry must go once its module is under the limit: strict xfail).
OVERSIZE = set()


def _modules():
    """{"landmarklib.core.keypoints": path, ...} for every module of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(("landmarklib",) + parts)] = path
    return out


def _imports(name, path):
    """The landmarklib modules that `name` imports (at module level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("landmarklib"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("landmarklib.")}
    return {m for m in found if m in MODULES and m != name}


MODULES = _modules()
GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


# --- the public surface: what a reader can hold ------------------------------------------

NOTEBOOKS = sorted((PACKAGE.parent / "notebooks").glob("*.ipynb"))
LM_NAME = re.compile(r"\blm\.(\w+)(?:\.(\w+))?")
# At most this many imports of the package's own modules inside functions (import
# statements and importlib.import_module calls): the rest sit at the top of their
# module, where a reader sees what a module depends on. The ones left keep TensorFlow
# out of modules that must not load it (the data's figures, the photo pipeline's
# geometry, a notebook's setup, the detectors' own venv) or dispatch the CLI.
MAX_FUNCTION_IMPORTS = 25


def _notebook_names():
    """{(alias, name or None)} of every ``lm.<alias>[.<name>]`` in the notebooks' code cells."""
    found = set()
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                found |= {(a, n or None) for a, n in LM_NAME.findall("".join(cell["source"]))}
    return found


def test_every_name_the_notebooks_use_resolves():
    names = _notebook_names()
    assert len(names) > 50   # the regex reads the notebooks (they use many names)
    missing = []
    for alias, name in sorted(names, key=str):
        if not hasattr(lm, alias):
            missing.append(f"lm.{alias}")
        elif name and not hasattr(getattr(lm, alias), name):
            missing.append(f"lm.{alias}.{name}")
    assert not missing, f"names the notebooks use that do not exist: {missing}"


def test_every_alias_is_a_module():
    for alias, target in lm.ALIASES.items():
        assert f"landmarklib.{target}" in MODULES, f"lm.{alias} points at a missing module {target}"
        assert getattr(lm, alias).__name__ == f"landmarklib.{target}"
    with pytest.raises(AttributeError, match="has no attribute 'no_such_module'"):
        lm.no_such_module


@pytest.mark.parametrize("layer", LAYERS)
def test_every_subpackage_lists_its_public_names(layer):
    package = importlib.import_module(f"landmarklib.{layer}")
    public = getattr(package, "__all__", None)
    assert public, f"{layer}/__init__.py: no __all__ (the subpackage's public names)"
    assert len(set(public)) == len(public), f"{layer}.__all__ repeats a name"
    missing = [name for name in public if not hasattr(package, name)]
    assert not missing, f"{layer}.__all__ names what {layer} does not have: {missing}"
    own = {m.rsplit(".", 1)[1] for m in MODULES if m.startswith(f"landmarklib.{layer}.")}
    private = sorted(n for n in public if n in own and n.startswith("_"))
    assert not private, f"{layer}.__all__ makes private modules public: {private}"


@pytest.mark.parametrize("layer", LAYERS)
def test_every_subpackage_docstring_names_its_modules(layer):
    doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text())) or ""
    modules = sorted(p.stem for p in (PACKAGE / layer).glob("*.py") if p.stem != "__init__")
    unnamed = [m for m in modules if f"``{m}``" not in doc]
    assert not unnamed, f"{layer}/__init__.py: the docstring does not name {unnamed}"


def test_the_package_docstring_names_every_subpackage():
    unnamed = [layer for layer in LAYERS if f"{layer}/" not in lm.__doc__]
    assert not unnamed, f"landmarklib/__init__.py: the docstring does not name {unnamed}"


def function_level_imports(source):
    """Line numbers of the imports of landmarklib's own modules made inside functions of
    `source` (a module's text): import statements, and ``importlib.import_module`` calls."""
    lines = set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                own = node.level > 0 or (node.module or "").split(".")[0] == "landmarklib"
            elif isinstance(node, ast.Import):
                own = any(a.name.split(".")[0] == "landmarklib" for a in node.names)
            else:
                own = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                       and node.func.attr == "import_module")
            if own:
                lines.add(node.lineno)
    return sorted(lines)


def test_function_level_imports_count_only_the_package_own():
    source = ("import os\nfrom . import a\n\ndef f():\n    import json\n    from .b import c\n"
              "    def g():\n        import landmarklib.x\n        from landmarklib import y\n"
              "    return importlib.import_module(name)\n")
    assert function_level_imports(source) == [6, 8, 9, 10]


def test_own_modules_are_imported_at_the_top():
    found = {str(path.relative_to(PACKAGE)): lines for path in MODULES.values()
             if (lines := function_level_imports(path.read_text()))}
    total = sum(len(lines) for lines in found.values())
    per_file = "\n".join(f"  {len(lines):3d} {path}: lines {lines}"
                         for path, lines in sorted(found.items(), key=lambda kv: -len(kv[1])))
    assert total <= MAX_FUNCTION_IMPORTS, (
        f"{total} imports of landmarklib's own modules inside functions (limit "
        f"{MAX_FUNCTION_IMPORTS}): import them at the top of the module, or, where the "
        f"module must not load TensorFlow, say why beside the import\n{per_file}")


# --- the notebooks' setup cell: one source ---------------------------------------------

def test_every_notebook_starts_with_the_one_setup_cell():
    from landmarklib.reporting import colablinks, notebook

    assert len(NOTEBOOKS) >= 6
    assert colablinks.setup_cell_drift() == [], (
        "setup cells that differ from notebook.colab_setup_source(): run "
        "make colab-links REPO=<owner/name> (it writes them from the one source)")
    assert notebook.REPO_URL in notebook.colab_setup_source()


def test_write_setup_cells_restores_a_drifted_cell_and_keeps_the_rest(tmp_path):
    import shutil

    import nbformat

    from landmarklib.reporting import colablinks

    folder = tmp_path / "notebooks"
    shutil.copytree(PACKAGE.parent / "notebooks", folder)
    path = folder / "03_train.ipynb"
    before = nbformat.read(path, as_version=4)
    drifted = nbformat.read(path, as_version=4)
    cell = colablinks.setup_cell(drifted)
    cell.source = cell.source.replace("--depth 1", "--depth 2")
    cell.outputs = [nbformat.v4.new_output("stream", text="cloned\n")]
    nbformat.write(drifted, path)
    assert colablinks.setup_cell_drift(folder) == ["03_train.ipynb"]
    assert colablinks.write_setup_cells(folder) == [path]
    assert colablinks.setup_cell_drift(folder) == [] and colablinks.write_setup_cells(folder) == []
    after = nbformat.read(path, as_version=4)
    assert [c.get("id") for c in after.cells] == [c.get("id") for c in before.cells]
    assert after.cells == before.cells and colablinks.setup_cell(after).outputs == []
    assert path.read_text(encoding="utf-8") == (PACKAGE.parent / "notebooks" / path.name).read_text(
        encoding="utf-8")


def test_layers_import_only_downwards():
    upward = []
    for module, imported in GRAPH.items():
        layer = _layer(module)
        if layer is None:
            continue
        for target in imported:
            other = _layer(target)
            if other is None or LAYERS.index(other) > LAYERS.index(layer):
                upward.append(f"{module} imports {target}")
    assert not upward, "imports against the layering " + str(LAYERS) + ":\n" + "\n".join(upward)


def test_no_import_cycles():
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_subpackage_says_what_it_owns():
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), f"{layer}/__init__.py: docstring should say what it owns and may import"


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.xfail(strict=True)) if m in OVERSIZE
                                  else m for m in sorted(MODULES)])
def test_modules_stay_small(name):
    lines = MODULES[name].read_text().count("\n")
    assert lines <= MAX_LINES, f"{MODULES[name]}: {lines} lines (split it by concern; limit {MAX_LINES})"


# --- one function per job ---------------------------------------------------------------

IMAGE_READER = "landmarklib.data.crop"   # read_image / decode_image: the one image reader


def test_images_are_read_by_one_function():
    readers = {}
    for name, path in MODULES.items():
        calls = [f"line {node.lineno}: cv2.{node.func.attr}"
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                 and node.func.attr in ("imread", "imdecode")]
        if calls and name != IMAGE_READER:
            readers[name] = calls
    assert not readers, f"read images with data.crop.read_image / decode_image, not OpenCV: {readers}"


def test_the_image_reader_names_the_file(tmp_path):
    import cv2
    import numpy as np

    from landmarklib.data import crop

    good = tmp_path / "face é.jpg"   # non-ASCII names too (OpenCV's imread cannot)
    image = np.zeros((8, 10, 3), np.uint8)
    image[..., 2] = 200
    good.write_bytes(cv2.imencode(".png", image)[1].tobytes())   # a PNG named .jpg
    assert crop.read_image(good).shape == (8, 10)
    assert crop.read_image(good, color=True).shape == (8, 10, 3)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(crop.ImageReadError, match="broken.jpg: not a readable image"):
        crop.read_image(bad)
    with pytest.raises(FileNotFoundError, match="missing.png: no such image file"):
        crop.read_gray(tmp_path / "missing.png")
    with pytest.raises(crop.ImageReadError, match="the upload: not a readable image"):
        crop.decode_image(b"\x00\x01", "the upload")


def test_the_youtube_faces_lists_are_read_in_one_place():
    readers = {name for name, path in MODULES.items()
               if "_frames_keypoints.csv" in path.read_text()} - {"landmarklib.data.sources"}
    assert not readers, (f"{sorted(readers)}: read the YouTube-Faces lists with "
                         "data.sources.youtube_faces_annotations or read_youtube_faces_list")


def test_youtube_faces_annotations_key_every_photo_by_folder(tmp_path):
    import numpy as np

    from landmarklib.core import keypoints as kp
    from landmarklib.data import sources

    header = "name," + ",".join(f"c{i}" for i in range(136))
    for split, (csv_name, _) in sources.YOUTUBE_FACES_PARTS.items():
        row = ",".join(str(v) for v in np.arange(136) + (1000 if split == "test" else 0))
        (tmp_path / csv_name).write_text(f"{header}\n{split}_face_01.jpg,{row}\n")
    found = sources.youtube_faces_annotations(tmp_path)
    assert sorted(found) == ["test/test_face_01.jpg", "training/train_face_01.jpg"]
    expected = kp.from_ibug68(np.arange(136, dtype=float).reshape(1, 68, 2))[0]
    np.testing.assert_allclose(found["training/train_face_01.jpg"], expected)
    np.testing.assert_allclose(found["test/test_face_01.jpg"], expected + 1000)
