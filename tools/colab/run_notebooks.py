"""Run notebooks with papermill the way Colab would, and say precisely what failed.

Run by tools/colab/check.sh inside .venv-colab (it needs papermill and nbformat):

    python tools/colab/run_notebooks.py --src DIR --out DIR --cwd DIR -p profile smoke [NAME ...]

* ``--src``: the notebooks to run (``NN_*.ipynb``); NAMEs (substrings) pick some.
* Each notebook is copied to ``--out``/input/ first. If its setup cell still
  clones a fixed address (the first cell from before LANDMARKLIB_REPO /
  LANDMARKLIB_COLAB_DIR), the copy is patched to take both from the environment;
  the patch is printed. The committed notebooks are never changed.
* The kernel is the venv's ``python3`` (check.sh registers it), started in
  ``--cwd`` (Colab's /content); google.colab is imported at its start-up.
* ``-p NAME VALUE`` parameters go to papermill, and to the kernel's parameter
  guard (COLAB_CHECK_PARAMS, see colab_check_guard.py).
* ``--keep-going``: run every cell even after an error, to list all errors of
  a notebook (later ones may follow from the first).

For every failure it prints the notebook, the cell (numbered as in the committed
notebook, 1-based over all cells, as ``make report`` does), its first line, the
error, and the traceback's frames in landmarklib (file:line). Exit status 1 if
any notebook failed.
"""
import argparse
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

REPORTING = Path(__file__).resolve().parents[2] / "landmarklib" / "reporting"
SETTING = REPORTING / "notebook.py"


def _load_execute():
    """landmarklib/reporting/execute.py, loaded by path: landmarklib is not installed in the
    venv yet (the notebooks' setup cell installs the clone), and the package's __init__ is
    heavy. It runs notebooks so that a lost kernel message cannot hang them (see there)."""
    spec = importlib.util.spec_from_file_location("_landmarklib_execute", REPORTING / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = _load_execute()


def _setting(name, fallback):
    """A constant of reporting/notebook.py (the one setting `make colab-links` rewrites)."""
    match = re.search(rf'^{name} = "(.*)"$', SETTING.read_text(encoding="utf-8"), re.M) if SETTING.exists() else None
    return match.group(1) if match else fallback


DEFAULT_REPO = _setting("REPO_URL", "https://github.com/landmarklib/landmarklib")
DEFAULT_COLAB_DIR = "/content/landmarklib"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Traceback frames: Python's `File "x.py", line 3`, IPython 8's `File x.py:3, in f`,
# IPython 7's `x.py in f(...)` followed by `--> 3 ...`.
FRAME_PY = re.compile(r'File "([^"]+)", line (\d+)')
FRAME_IPY8 = re.compile(r'File (\S+\.py):(\d+)')
FRAME_IPY7 = re.compile(r'^(\S+\.py) in ')
ARROW = re.compile(r'^-+>\s*(\d+)')
TRACEBACK_TAIL = 25  # lines of the stripped traceback printed per error


def parse_value(text):
    """papermill's -p rule, roughly: JSON literals (numbers, true/false, null) or a string."""
    for candidate in (text, text.lower()):
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    return text


def patch_setup_cell(source):
    """Old setup cell -> one that clones $LANDMARKLIB_REPO into $LANDMARKLIB_COLAB_DIR.

    Returns (new source, changed). A cell that already reads LANDMARKLIB_REPO is kept.
    """
    if "LANDMARKLIB_REPO" in source or DEFAULT_REPO not in source:
        return source, False
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("!", "%")):
            line = indent + stripped.replace(DEFAULT_REPO, "{_lm_repo}").replace(
                DEFAULT_COLAB_DIR, "{_lm_dir}")
        else:
            line = line.replace(f'"{DEFAULT_COLAB_DIR}"', "_lm_dir")
        out.append(line)
        if stripped.startswith('if "google.colab" in sys.modules:'):
            inner = indent + "    "
            out += [f"{inner}import os  # colab-check patch: clone source and target from the environment",
                    f'{inner}_lm_repo = os.environ.get("LANDMARKLIB_REPO", "{DEFAULT_REPO}")',
                    f'{inner}_lm_dir = os.environ.get("LANDMARKLIB_COLAB_DIR", "{DEFAULT_COLAB_DIR}")']
    return "\n".join(out), True


def prepare(source_path, input_dir):
    """Copy a notebook to input_dir, patching its setup cell if needed."""
    nb = nbformat.read(str(source_path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    patched = False
    if code:
        code[0].source, patched = patch_setup_cell(code[0].source)
    target = input_dir / source_path.name
    nbformat.write(nb, str(target))
    if patched:
        print(f"  patched the setup cell of the scratch copy {target}:")
        print("    " + code[0].source.replace("\n", "\n    "))
    return target


def cell_numbers(source_path):
    """cell id -> 1-based number in the committed notebook."""
    nb = nbformat.read(str(source_path), as_version=4)
    return {cell.get("id"): i for i, cell in enumerate(nb.cells, start=1)}, nb


def frames_of(lines):
    """(path, line) of every frame of a stripped traceback, outermost first."""
    frames, pending = [], None
    for line in lines:
        line = line.strip()
        m = FRAME_PY.search(line) or FRAME_IPY8.search(line)
        if m:
            frames.append((m.group(1), m.group(2)))
            pending = None
            continue
        m = FRAME_IPY7.match(line)
        if m:
            pending = m.group(1)
            continue
        m = ARROW.match(line)
        if m and pending:
            frames.append((pending, m.group(1)))
            pending = None
    return frames


def errors_in(executed_path, source_path, lib_marker):
    """Every error output of an executed notebook, as dicts."""
    numbers, source_nb = cell_numbers(source_path)
    by_source = {c.source: i for i, c in enumerate(source_nb.cells, start=1)}
    nb = nbformat.read(str(executed_path), as_version=4)
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"):
                continue
            number = numbers.get(cell.get("id")) or by_source.get(cell.source)
            tb = [ANSI.sub("", t) for t in output.get("traceback", [])]
            lines = "\n".join(tb).splitlines()
            frames = [f"{path[path.rindex(lib_marker):]}:{lineno}"
                      for path, lineno in frames_of(lines) if lib_marker in path]
            found.append({"cell": number, "exec_count": cell.get("execution_count"),
                          "first_line": next((s.strip() for s in cell.source.splitlines()
                                              if s.strip() and not s.strip().startswith("#")), ""),
                          "ename": output.get("ename"), "evalue": output.get("evalue"),
                          "lib_frames": frames, "traceback": lines})
    return found


SETUP_ERROR = re.compile(r"^\s*(fatal:|error:|ERROR:|\[Errno \d+\])")
# `git clone ... || git -C DIR pull`: the clone's complaint when DIR is there already
SETUP_EXPECTED = re.compile(r"destination path .* already exists and is not an empty directory")


def setup_cell_errors(executed_path, source_path):
    """Errors that the setup cell printed but did not raise.

    `!git clone` and `%pip install` do not stop a cell when they fail; the cell
    then imports whatever `landmarklib` it finds (the empty clone folder, as a
    namespace package) and the notebook fails cells later. Report it where it
    happened.
    """
    nb = nbformat.read(str(executed_path), as_version=4)
    numbers, _ = cell_numbers(source_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        return []
    cell = code[0]
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")
    bad = [ANSI.sub("", line).strip() for line in text.splitlines()
           if SETUP_ERROR.match(ANSI.sub("", line)) and not SETUP_EXPECTED.search(line)]
    if not bad:
        return []
    return [{"cell": numbers.get(cell.get("id")), "exec_count": cell.get("execution_count"),
             "first_line": "(setup cell)", "ename": "SetupCellError",
             "evalue": "the setup cell printed errors but went on: " + " | ".join(bad),
             "lib_frames": [], "traceback": []}]


def describe(name, error):
    where = f"cell {error['cell']}" if error["cell"] else "a cell papermill added"
    lines = [f"FAILED: {name}, {where} (In [{error['exec_count']}]): {error['first_line']}",
             f"  {error['ename']}: {error['evalue']}".rstrip()]
    if error["lib_frames"]:
        lines.append("  in landmarklib: " + " -> ".join(dict.fromkeys(error["lib_frames"])))
    tail = [line for line in error["traceback"] if line.strip()][-TRACEBACK_TAIL:]
    lines += ["  | " + line for line in tail]
    return "\n".join(lines)


def standin_calls(log_path, start):
    """The google.colab stand-in calls logged from byte offset `start` on."""
    if not log_path or not Path(log_path).exists():
        return []
    with open(log_path, encoding="utf-8") as f:
        f.seek(start)
        return [json.loads(line) for line in f if line.strip()]


WIDGET_MANAGER = "output.enable_custom_widget_manager"  # every notebook's setup cell calls it


REPORT_NOTEBOOK = "00_colab_report"
REPORT_TIMEOUT_FACTOR = 3             # its one report cell may run 3 x --cell-timeout
ZIP_NAME = "landmarklib-report.zip"   # what 00_colab_report delivers (reporting/overleaf.py)
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "main.tex")


def overleaf_zip_errors(downloads, folder):
    """Errors (as dicts) unless the zip 00_colab_report offered for download builds on its own.

    Unpacks it into an empty `folder` and runs latexmk there, as Overleaf would; a machine
    without latexmk only checks that main.tex is in the zip.

    Args:
        downloads: $COLAB_STANDIN_DOWNLOADS, where the stand-in's files.download copies to.
        folder: an empty folder to unpack into (made here).
    """
    import shutil
    import subprocess
    import zipfile

    def error(text):
        return [{"cell": None, "exec_count": None, "first_line": "", "ename": "OverleafZip",
                 "evalue": text, "lib_frames": [], "traceback": []}]

    zip_path = Path(downloads or "") / ZIP_NAME
    if not downloads or not zip_path.is_file():
        return error(f"{REPORT_NOTEBOOK} offered no {ZIP_NAME} for download (files.download)")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    if not (folder / "main.tex").is_file():
        return error(f"{zip_path}: no main.tex at the top of the zip")
    if shutil.which("latexmk") is None:
        print(f"  {ZIP_NAME}: unpacked into {folder}; latexmk not installed, so not built", flush=True)
        return []
    t0 = time.perf_counter()
    done = subprocess.run(LATEXMK, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0 or not (folder / "main.pdf").is_file():
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        return error(f"the zip, unpacked alone into {folder}, does not build: latexmk exit "
                     f"{done.returncode}: {tail}")
    print(f"  {ZIP_NAME}: unpacked alone into {folder}, latexmk built main.pdf "
          f"({(folder / 'main.pdf').stat().st_size // 1024} KiB) in {time.perf_counter() - t0:.0f} s",
          flush=True)
    return []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="run only notebooks whose name contains one of these")
    ap.add_argument("--src", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cwd", type=Path, required=True)
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                    metavar=("NAME", "VALUE"))
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--cell-timeout", type=int, default=900)
    ap.add_argument("--start-timeout", type=int, default=180)
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("--report-only", metavar="WORDS",
                    help=f"{REPORT_NOTEBOOK}'s `only` parameter (\"\": the whole report; "
                         "default: the notebook's own)")
    ap.add_argument("--repeat-widget-cells", type=int, default=0, metavar="N",
                    help="once a notebook passed, run its widget cells N more times in its kernel")
    ap.add_argument("--lib-marker", default="/landmarklib/",
                    help="traceback paths containing this are the library's")
    args = ap.parse_args(argv)

    parameters = {name: parse_value(value) for name, value in args.parameter}
    os.environ["COLAB_CHECK_PARAMS"] = json.dumps(parameters)
    sources = sorted(args.src.glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        sources = [s for s in sources if any(n in s.stem for n in args.names)]
    # 00_colab_report last: it reuses the runs and figures the others left in the Drive home
    sources.sort(key=lambda s: s.stem == REPORT_NOTEBOOK)
    if not sources:
        print(f"no notebooks to run in {args.src}", file=sys.stderr)
        return 2
    input_dir, executed_dir = args.out / "input", args.out / "executed"
    for folder in (input_dir, executed_dir, args.cwd):
        folder.mkdir(parents=True, exist_ok=True)
    log_path = os.environ.get("COLAB_STANDIN_LOG")

    failed, timings = [], []
    for source in sources:
        print(f"== {source.stem}: papermill -p {' -p '.join(f'{k} {v}' for k, v in parameters.items())}"
              f" (kernel {args.kernel}, cwd {args.cwd})", flush=True)
        notebook = prepare(source, input_dir)
        executed = executed_dir / source.name
        declared = papermill.inspect_notebook(str(notebook))
        # each notebook gets (and its guard checks) the parameters it declares
        own = {k: v for k, v in parameters.items() if k in declared}
        if source.stem == REPORT_NOTEBOOK and args.report_only is not None:
            own["only"] = args.report_only
        os.environ["COLAB_CHECK_PARAMS"] = json.dumps(own)
        log_start = Path(log_path).stat().st_size if log_path and Path(log_path).exists() else 0
        t0 = time.perf_counter()
        exception = None
        late_before = len(execute.LATE_REPLIES)
        # No retry: a cell past its budget (its metadata's, else --cell-timeout) or a reply
        # that never came fails at once with execute.CellHung, naming the cell.
        # 00_colab_report's report cell runs every notebook, each with its own cell budgets
        cell_timeout = args.cell_timeout * (REPORT_TIMEOUT_FACTOR if source.stem == REPORT_NOTEBOOK else 1)
        try:
            execute.execute_notebook(
                notebook, executed, parameters=own, kernel_name=args.kernel, cwd=args.cwd,
                cell_timeout=cell_timeout, start_timeout=args.start_timeout,
                progress_bar=False, log_output=False, repeat_widget_cells=args.repeat_widget_cells,
                **({"allow_errors": True} if args.keep_going else {}))
        except PapermillExecutionError as error:
            exception = error
        except Exception as error:  # a kernel that died or never started, a hung cell, ...
            exception = error
        seconds = time.perf_counter() - t0
        late = execute.LATE_REPLIES[late_before:]
        if late:  # recovered, but worth knowing: the hang execute.py guards against
            print(f"  {source.stem}: {len(late)} kernel replies read late (cell, seconds): {late}",
                  flush=True)
        errors = (setup_cell_errors(executed, source) + errors_in(executed, source, args.lib_marker)
                  if executed.exists() else [])
        if exception is not None and not errors:
            errors = [{"cell": None, "exec_count": None, "first_line": "",
                       "ename": type(exception).__name__, "evalue": str(exception)[:2000],
                       "lib_frames": [], "traceback": []}]
        calls = standin_calls(log_path, log_start)
        if calls:
            print("  google.colab calls: " + ", ".join(c["call"] for c in calls))
        if log_path and WIDGET_MANAGER not in {c["call"] for c in calls}:
            errors.append({"cell": None, "exec_count": None, "first_line": "",
                           "ename": "WidgetManagerNotEnabled",
                           "evalue": f"{source.stem} never called google.colab.{WIDGET_MANAGER}()"
                                     " (Colab draws no ipywidgets without it)",
                           "lib_frames": [], "traceback": []})
        if source.stem == REPORT_NOTEBOOK and not errors:
            errors += overleaf_zip_errors(os.environ.get("COLAB_STANDIN_DOWNLOADS"), args.out / "overleaf")
        status = "FAILED" if errors else "ok"
        print(f"TIME notebook {source.stem}: {seconds:.0f} s ({status}); executed copy {executed}",
              flush=True)
        timings.append((source.stem, seconds, status))
        for error in errors:
            print(describe(source.stem, error), flush=True)
        if errors:
            failed.append((source.stem, errors))

    with open(args.out / "failures.txt", "w", encoding="utf-8") as f:  # read by check.sh
        for name, errors in failed:
            for e in errors:
                where = f"cell {e['cell']}" if e["cell"] else "papermill"
                frames = " [" + " -> ".join(dict.fromkeys(e["lib_frames"])) + "]" if e["lib_frames"] else ""
                evalue = " ".join(str(e["evalue"]).split())[:240]
                f.write(f"{name} {where}: {e['ename']}: {evalue}{frames}\n")
    print("\nnotebooks:")
    for name, seconds, status in timings:
        print(f"  {name:<14} {seconds:6.0f} s  {status}")
    if failed:
        print(f"{len(failed)} of {len(timings)} notebooks failed: "
              + ", ".join(f"{name} (cell {errs[0]['cell']}: {errs[0]['ename']})"
                          for name, errs in failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
