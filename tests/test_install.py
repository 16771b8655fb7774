"""The package installs: ``pip install .`` (not editable) gives a package whose
command line runs from anywhere, and pyproject.toml declares what the code imports.

The install goes into a temporary folder (``pip install --target``, no
dependencies, no build isolation: nothing is downloaded); the suite's own
Python then runs that copy from a directory outside the checkout.
"""
import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_FILES = ("pyproject.toml", "README.md")   # besides landmarklib/
SUBCOMMANDS = ("convert", "train", "evaluate", "predict", "report", "video", "predict-image")
# import name -> distribution, where they differ
DISTRIBUTIONS = {"cv2": "opencv-python-headless", "yaml": "pyyaml", "IPython": "ipykernel"}
# Extras that `make setup` does not install, so the lock file need not pin them.
UNLOCKED_EXTRAS = ("detectors",)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package installed by ``pip install .`` into a folder of its own.

    It is built from a copy of what the package consists of (pyproject.toml,
    README.md, landmarklib/), so that setuptools' build/ folder lands in the
    copy, not in the checkout, and no stale build output can be installed.
    """
    source = tmp_path_factory.mktemp("source")
    for name in PACKAGE_FILES:
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "landmarklib", source / "landmarklib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return target


def _run_installed(target, args, cwd):
    env = {**os.environ, "PYTHONPATH": str(target), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.mark.slow
def test_pip_install_gives_a_package_whose_cli_runs_outside_the_checkout(installed, tmp_path):
    package = installed / "landmarklib"
    assert (package / "__init__.py").exists() and (package / "reporting" / "report.py").exists()
    assert not list(installed.glob("__editable__*")), "installed editable, not as a copy"
    where = _run_installed(installed, ["-c", "import landmarklib; print(landmarklib.__file__)"],
                           tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve() == (package / "__init__.py").resolve()
    done = _run_installed(installed, ["-m", "landmarklib", "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    for command in SUBCOMMANDS:
        assert f"\n    {command} " in done.stdout, f"{command} missing from --help:\n{done.stdout}"
    train = _run_installed(installed, ["-m", "landmarklib", "train", "--help"], tmp_path)
    assert train.returncode == 0 and "--version" in train.stdout, train.stderr


def _top_level_imports(folder):
    """Third-party top-level module names imported anywhere under `folder`."""
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "landmarklib"}


def _declared(leave_out=()):
    """Distribution names in pyproject.toml's dependencies and extras (lower case).

    Args:
        leave_out: names of extras not to count.
    """
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for name, extra in project["optional-dependencies"].items():
        if name not in leave_out:
            specs += extra
    return {spec.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0]
            .strip().lower() for spec in specs}


def test_pyproject_declares_every_package_the_library_imports():
    declared = _declared()
    # the off-the-shelf detectors live in their own environment (make detectors-venv)
    optional_elsewhere = {"dlib", "mediapipe", "face_recognition_models", "google"}
    missing = {DISTRIBUTIONS.get(n, n).lower() for n in _top_level_imports(ROOT / "landmarklib")}
    missing -= declared | optional_elsewhere
    assert not missing, f"imported by landmarklib but not in pyproject.toml: {sorted(missing)}"


def test_the_lock_file_pins_every_declared_package_exactly():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        spec = line.split("#")[0].strip()
        if spec:
            name, _, version = spec.split(";")[0].partition("==")
            pins[name.strip().lower()] = version.strip()
    assert all(pins.values()), f"requirements.txt: every line pins with ==: {pins}"
    unpinned = _declared(leave_out=UNLOCKED_EXTRAS) - set(pins) - {"landmarklib", "tensorflow"}
    assert not unpinned, f"declared in pyproject.toml but not pinned in requirements.txt: {unpinned}"
    assert {"tensorflow", "tensorflow-cpu"} & set(pins)
    unused = set(pins) - _declared() - {"tensorflow-cpu", "joblib", "lz4"}
    assert not unused, f"pinned but declared nowhere (drop them or declare them): {sorted(unused)}"
