"""The repository's address as one setting: ``make colab-links REPO=owner/name``.

``notebook.REPO_URL`` is the setting. ``rewrite(repo)`` changes it and every
place that spells it: the notebooks' Colab badges, their setup cells and the
README's badges and clone lines. ``disagreements()`` lists the places that do
not follow the setting (the test asserts there are none).

The setup cell (the first code cell of every notebook) has one source,
``notebook.colab_setup_source``: ``write_setup_cells`` writes it into every
notebook (``rewrite`` does, with the new address) and ``setup_cell_drift``
lists the notebooks whose cell differs from it.

    python -m landmarklib.reporting.colablinks owner/name
"""
import re
import sys
from pathlib import Path

import nbformat

from ..core import config, files
from . import notebook

NOTEBOOKS = config.ROOT / "notebooks"
README = config.ROOT / "README.md"
SETTING_FILE = Path(notebook.__file__)
NAME = r"[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9._-]*?"
# The places that name the repository: Colab badges/links and clone lines (other
# GitHub addresses, e.g. of the datasets' sources, are left alone).
PLACES = (re.compile(rf"(colab\.research\.google\.com/github/)({NAME})(?=/blob/)"),
          re.compile(rf"(git clone[^\n]*?https://github\.com/)({NAME})(?=\.git\b|[\s\"'`]|$)", re.M))
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def _write(path, text):
    with files.atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _read_notebook(path):
    return nbformat.read(path, as_version=4)


def _write_notebook(path, nb):
    """Write `nb` as the notebooks are stored (nbformat's layout, a final newline)."""
    _write(path, nbformat.writes(nb) + "\n")


def setup_cell(nb):
    """The first code cell of a notebook (its setup cell)."""
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code:
        raise ValueError("the notebook has no code cell, so no setup cell")
    return code[0]


def setup_cell_drift(notebooks_dir=NOTEBOOKS, repo_url=None):
    """Names of the notebooks whose setup cell is not ``notebook.colab_setup_source(repo_url)``.

    Args:
        notebooks_dir: folder of the ``*.ipynb``.
        repo_url: the address the cell clones (default: the setting, ``notebook.REPO_URL``).
    """
    expected = notebook.colab_setup_source(repo_url or notebook.REPO_URL)
    return [path.name for path in sorted(Path(notebooks_dir).glob("*.ipynb"))
            if setup_cell(_read_notebook(path)).source != expected]


def write_setup_cells(notebooks_dir=NOTEBOOKS, repo_url=None):
    """Write the one setup cell source into every notebook's first code cell.

    The cell keeps its id and metadata; it has no outputs. Returns the notebooks changed.

    Args:
        notebooks_dir: folder of the ``*.ipynb``.
        repo_url: the address the cell clones (default: the setting, ``notebook.REPO_URL``).
    """
    expected = notebook.colab_setup_source(repo_url or notebook.REPO_URL)
    changed = []
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        nb = _read_notebook(path)
        cell = setup_cell(nb)
        if cell.source != expected or cell.outputs or cell.execution_count is not None:
            cell.source, cell.outputs, cell.execution_count = expected, [], None
            _write_notebook(path, nb)
            changed.append(path)
    return changed


def repo_name(url=None):
    """owner/name of a github.com address (default: the setting)."""
    return (url or notebook.REPO_URL).removeprefix("https://github.com/").removesuffix(".git")


def _rewrite_text(text, repo):
    for place in PLACES:
        text = place.sub(lambda m: m.group(1) + repo, text)
    return text


def rewrite(repo, notebooks_dir=NOTEBOOKS, readme=README, setting_file=SETTING_FILE):
    """Point the setting, every notebook and the README at github.com/`repo`.

    Args:
        repo: "owner/name".
        notebooks_dir: folder of the ``*.ipynb``.
        readme: the README to rewrite.
        setting_file: the module holding ``REPO_URL``.
    Returns the files changed.
    """
    if not REPO_RE.match(repo or ""):
        raise ValueError(f"REPO={repo!r}: expected owner/name, e.g. REPO=alice/landmarklib")
    url = f"https://github.com/{repo}"
    changed = []
    source = Path(setting_file).read_text(encoding="utf-8")
    new = re.sub(r'^REPO_URL = ".*"$', f'REPO_URL = "{url}"', source, count=1, flags=re.M)
    if new != source:
        _write(setting_file, new)
        changed.append(Path(setting_file))
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        nb = _read_notebook(path)
        touched = False
        for cell in nb.cells:
            new = _rewrite_text(cell.source, repo)
            if new != cell.source:
                cell.source = new
                touched = True
        if touched:
            _write_notebook(path, nb)
            changed.append(path)
    changed += [p for p in write_setup_cells(notebooks_dir, url) if p not in changed]
    if readme and Path(readme).exists():
        text = Path(readme).read_text(encoding="utf-8")
        new = _rewrite_text(text, repo)
        if new != text:
            _write(readme, new)
            changed.append(Path(readme))
    return changed


def disagreements(notebooks_dir=NOTEBOOKS, readme=README, repo=None):
    """Places whose GitHub address differs from the setting: list of (file, found)."""
    repo = repo or repo_name()
    found = []
    paths = sorted(Path(notebooks_dir).glob("*.ipynb")) + ([Path(readme)] if readme else [])
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        for place in PLACES:
            found += [(path.name, m.group(2)) for m in place.finditer(text) if m.group(2) != repo]
    return found


def main(argv=None):
    """``python -m landmarklib.reporting.colablinks owner/name``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: make colab-links REPO=owner/name", file=sys.stderr)
        return 2
    try:
        changed = rewrite(argv[0])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"github.com/{argv[0]}: {len(changed)} files rewritten"
          + "".join(f"\n  {p}" for p in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
