"""Small file helpers: atomic writes (nothing half-written is ever left
looking complete), the outputs of one command as one transaction
(``OutputSet``), and JSON in and out."""
import contextlib
import json
import os
import tempfile
from pathlib import Path

from .errors import LandmarkError


def _umask():
    """The process umask (os.umask can only be read by setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# What open() would give a new file: 0666 minus the process umask.
_DEFAULT_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; rename it to `path` on success.

    On an exception the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        os.chmod(tmp, _DEFAULT_MODE)  # mkstemp makes 0600; give the usual rw-r--r--
        _replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _temporary_beside(path, option=None):
    """A new empty temporary file in `path`'s folder (made if missing), as a Path.

    Errors name `path`, the file the user asked for, never the hidden temporary one.

    Args:
        path: the final output file.
        option: how the user gave it (e.g. "--out"), named in the error.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    except OSError as err:
        raise PermissionError(f"{_named(path, option)}: cannot write in the folder "
                              f"{path.parent} ({err.strerror or err})") from None
    os.close(fd)
    return Path(tmp)


def _replace(tmp, path, option=None):
    """os.replace(tmp, path), its error naming `path` (the file the user gave)."""
    try:
        os.replace(tmp, path)
    except OSError as err:
        raise PermissionError(f"{_named(path, option)}: cannot write this file "
                              f"({err.strerror or err})") from None


def _named(path, option=None):
    """How an error names `path`: with its option (``--out x.csv``); a positional one alone."""
    return f"{option} {path}" if option and option.startswith("-") else str(path)


# --- the outputs of one command, as one transaction ------------------------------------

def same_file(a, b):
    """True if paths `a` and `b` name one file: the same resolved path (symlinks
    followed), or, when both exist, the same file on disk (``os.path.samefile``
    also catches hard links).

    Args:
        a, b: paths (str or Path); neither needs to exist.
    """
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def writable_folder(path, option=None):
    """A LandmarkError/PermissionError unless the file `path` can be created.

    The nearest existing folder above `path` must be a folder this process can
    create a file in (tried with a temporary file, removed at once: on /proc or
    a read-only mount ``os.access`` can say yes as root). Nothing is left behind.

    Args:
        path: an output file the user named.
        option: how it was given (e.g. "--out"), named in the error.
    """
    path = Path(path)
    if path.is_dir():
        raise LandmarkError(f"{_named(path, option)}: is a folder, expected a file name")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise LandmarkError(f"{_named(path, option)}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".landmarklib-probe.")
    except OSError as err:
        raise PermissionError(f"{_named(path, option)}: cannot write in the folder {folder} "
                              f"({err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)


def check_outputs(outputs, inputs=()):
    """One clear error unless every output can be written and none is an input.

    Args:
        outputs: (option, path) pairs of the files a command will write
            (path None: not given, skipped).
        inputs: (option, path) pairs of the files it reads.

    Raises:
        LandmarkError: an output is one of the inputs, two outputs are one file,
            or an output names a folder; PermissionError: its folder is not writable.
    """
    outputs = [(o, p) for o, p in outputs if p is not None]
    inputs = [(o, p) for o, p in inputs if p is not None]
    for i, (option, path) in enumerate(outputs):
        for in_option, in_path in inputs:
            if same_file(path, in_path):
                raise LandmarkError(f"{option} {path}: is the input {_named(in_path, in_option)}; "
                                    f"writing it would destroy the input (choose another file)")
        for other_option, other in outputs[:i]:
            if same_file(path, other):
                raise LandmarkError(f"{option} {path}: is also {other_option}; "
                                    f"give each output its own file")
        writable_folder(path, option)


class OutputSet:
    """The output files of one command, written as one transaction.

    Each output is written to a temporary file beside it (``add`` returns its
    path); ``commit`` renames them all to their final names, and only then
    removes the files given to ``remove_on_commit``. If the command fails
    before (an exception inside ``with``), every temporary file is deleted and
    no output, old or new, is touched; folders made for the outputs are
    removed again when they are left empty.

    Args:
        inputs: (option, path) pairs of the command's input files: no output may
            be one of them (``check_outputs``).

    Example:
        >>> with OutputSet(inputs=[("--csv", "in.csv")]) as outputs:
        ...     write_a(outputs.add("a.csv", "--out"))
        ...     write_b(outputs.add("b.csv", "--submission"))
        # both renamed at the end of the block, or neither
    """

    def __init__(self, inputs=()):
        self.inputs = list(inputs)
        self.staged = {}      # final Path -> (temporary Path, option)
        self.removals = []    # files to delete once the outputs are in place
        self.made = []        # folders created for the outputs
        self.committed = False

    def add(self, path, option=None):
        """The temporary path to write `path` to (checked first, see ``check_outputs``).

        Args:
            path: the output file the user named.
            option: how it was given (e.g. "--out"), named in errors.
        """
        path = Path(path)
        check_outputs([(option or "output", path)], self.inputs)
        for other, (_, other_option) in self.staged.items():
            if same_file(path, other):
                raise LandmarkError(f"{_named(path, option)}: is also {other_option or other}; "
                                    f"give each output its own file")
        self._make_folders(path.parent)
        tmp = _temporary_beside(path, option)
        self.staged[path] = (tmp, option)
        return tmp

    def remove_on_commit(self, path):
        """Delete `path` (if it exists) after the outputs are renamed: a stale
        output of an earlier run that this one does not rewrite."""
        self.removals.append(Path(path))

    def _make_folders(self, folder):
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            try:
                made.mkdir()
            except OSError as err:
                raise PermissionError(f"{made}: cannot create this folder "
                                      f"({err.strerror or err})") from None
            self.made.append(made)

    def commit(self, rename=None):
        """Rename every temporary file to its final name (or ``rename(final)``).

        Args:
            rename: optional function final path -> the path to use instead
                (e.g. ``OUT.partial.mp4`` for an incomplete video).
        """
        for path, (tmp, option) in self.staged.items():
            os.chmod(tmp, _DEFAULT_MODE)
            _replace(tmp, rename(path) if rename else path, option)
        for path in self.removals:
            if path not in self.staged:
                path.unlink(missing_ok=True)
        self.committed = True

    def rollback(self):
        """Delete the temporary files (and the folders made for them, if empty)."""
        for tmp, _ in self.staged.values():
            tmp.unlink(missing_ok=True)
        for folder in reversed(self.made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.staged.clear()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is None and not self.committed:
            try:
                self.commit()
            except BaseException:
                self.rollback()
                raise
        elif kind is not None:
            self.rollback()
        return False


def write_json(obj, path):
    """Write `obj` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_default) + "\n")
    return Path(path)


def read_json(path):
    return json.loads(Path(path).read_text())


def _default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
