#!/usr/bin/env bash
# make colab-check: the project under Colab's package versions, the way Colab runs it.
#
#   bash tools/colab/check.sh [--keep-going] [--no-notebooks] [--no-tests] [NAME ...]
#
# 1. .venv-colab: Python 3.13 with tools/colab/requirements-colab.txt (Colab's exact
#    versions, constraints-colab.txt for everything else); rebuilt only when one of
#    the two files is newer than .venv-colab/.installed. The google.colab stand-in,
#    the kernel config and the kernel spec are (re)installed every run, and papermill
#    is installed the way a Colab cell would (pinned as in requirements.txt, with
#    Colab's constraints), then `pip check`.
# 2. A snapshot of the checkout is put in a scratch bare repository; the notebooks
#    run from it with papermill at the smoke profile. Their setup cell takes its
#    Colab branch (the kernel imports google.colab at start-up): it clones
#    $LANDMARKLIB_REPO (the snapshot) into $LANDMARKLIB_COLAB_DIR and pip-installs it
#    there, exactly as on Colab.
# 3. The unit tests (not slow, not browser) of that clone, in the same venv; tests
#    needing a dev-only extra Colab lacks (onnx, ...) are skipped.
#
# NAME: run only the notebooks whose name contains it. --keep-going: run every cell
# of a notebook past errors, to list them all. Environment (all optional):
#   COLAB_CHECK_REF      worktree (default: committed HEAD plus uncommitted changes
#                        and untracked files that git does not ignore) or a commit
#                        (HEAD, a branch, a sha)
#   COLAB_CHECK_PROFILE  smoke (default)
#   COLAB_CHECK_WORK     scratch folder (default build/colab-check; wiped each run;
#                        the executed notebooks stay in it)
#   COLAB_CHECK_CELL_TIMEOUT  seconds per cell (default 900; a cell's own metadata
#                        budget wins: the widget cells have 120 s)
#   COLAB_CHECK_WIDGET_REPEATS  extra runs of each notebook's widget cells in its kernel
#                        once it passed (default 9: ten in all)
#   COLAB_CHECK_REPORT_ONLY  00_colab_report's `only` (default 03_train: it retrains nothing
#                        and builds the report from what 01-05 left in the Drive home;
#                        "" runs the whole report headless, about 8 more minutes)
#   COLAB_VENV           the venv (default .venv-colab); PYTHON313: the interpreter
# Exit status: 0 when every part passed, 1 otherwise (the failures are listed last).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${COLAB_VENV:-$ROOT/.venv-colab}"
WORK="${COLAB_CHECK_WORK:-$ROOT/build/colab-check}"
REF="${COLAB_CHECK_REF:-worktree}"
PROFILE="${COLAB_CHECK_PROFILE:-smoke}"
CELL_TIMEOUT="${COLAB_CHECK_CELL_TIMEOUT:-900}"   # a cell's metadata budget wins (widget cells: 120 s)
WIDGET_REPEATS="${COLAB_CHECK_WIDGET_REPEATS:-9}"  # widget cells run 1 + 9 times per notebook
# 00_colab_report runs last, redoing only these runs of the report ("": all of it): the
# notebooks before it left every other run, figure and table in the Drive home.
REPORT_ONLY="${COLAB_CHECK_REPORT_ONLY-03_train}"
REQUIREMENTS="$HERE/requirements-colab.txt"
CONSTRAINTS="$HERE/constraints-colab.txt"
DEV_ONLY="voila selenium tf2onnx onnx onnxruntime hypothesis"   # in requirements.txt, not on Colab
DEFAULT_REPO="https://github.com/landmarklib/landmarklib"

KEEP_GOING=""; RUN_NOTEBOOKS=1; RUN_TESTS=1; NAMES=()
for arg in "$@"; do
    case "$arg" in
        --keep-going) KEEP_GOING=--keep-going ;;
        --no-notebooks) RUN_NOTEBOOKS=0 ;;
        --no-tests) RUN_TESTS=0 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "check.sh: unknown option $arg" >&2; exit 2 ;;
        *) NAMES+=("$arg") ;;
    esac
done

FAILURES=()
TIMES=()
now() { date +%s; }
timing() {  # timing PART SECONDS STATUS
    printf 'TIME %s: %d s (%s)\n' "$1" "$2" "$3"
    TIMES+=("$(printf '%-22s %5d s  %s' "$1" "$2" "$3")")
}
die() { echo "colab-check: $*" >&2; exit 1; }
# pip, without the "Location ... is ignored" lines of this machine's empty local indexes
pip_() {
    "$1" -m pip "${@:2}" 2>&1 | grep -v "^WARNING: Location 'file://.*' is ignored"
    return "${PIPESTATUS[0]}"
}
export PYDEVD_DISABLE_FILE_VALIDATION=1   # debugpy's frozen-modules notice at every kernel start

# --- Python 3.13 -----------------------------------------------------------------------
find_python() {
    local candidates=("${PYTHON313:-}" python3.13)
    [ -x "$HOME/.pyenv/bin/pyenv" ] && candidates+=("$("$HOME/.pyenv/bin/pyenv" root)/versions/3.13.0/bin/python3")
    for py in "${candidates[@]}"; do
        [ -n "$py" ] && command -v "$py" > /dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2> /dev/null &&
            { command -v "$py"; return; }
    done
    return 1
}

# --- 1. the venv ---------------------------------------------------------------------------
python3 "$HERE/colab_constraints.py" --check || die "requirements-colab.txt disagrees with Colab's list"
STAMP="$VENV/.installed"
t0=$(now)
if [ -f "$STAMP" ] && [ "$STAMP" -nt "$REQUIREMENTS" ] && [ "$STAMP" -nt "$CONSTRAINTS" ]; then
    timing "venv" $(($(now) - t0)) "reused $VENV"
else
    PY313="$(find_python)" || die "no Python 3.13 (set PYTHON313, or: pyenv install 3.13.0)"
    echo "== building $VENV with $PY313 ($("$PY313" --version))"
    rm -rf "$VENV"
    "$PY313" -m venv "$VENV" || die "venv failed"
    # Colab's pip first (24.1.2), then Colab's packages. (pip's cache does not make a
    # rebuild faster here: this machine's PyPI mirror sends no caching headers, and
    # unpacking the ~450 MB of wheels takes most of the time anyway.)
    pip_ "$VENV/bin/python" install -q "pip==$(sed -n 's/^pip==//p' "$CONSTRAINTS")" \
        || die "installing Colab's pip failed"
    pip_ "$VENV/bin/python" install -q -r "$REQUIREMENTS" -c "$CONSTRAINTS" \
        || die "pip install -r $REQUIREMENTS failed (a Colab version missing for Python 3.13?)"
    touch "$STAMP"
    timing "venv" $(($(now) - t0)) "built"
fi
PY="$VENV/bin/python"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# The google.colab stand-in goes into the `google` namespace folder that protobuf
# already uses (no google/__init__.py: both are portions of one namespace package).
t0=$(now)
rm -rf "$SITE/google/colab"
mkdir -p "$SITE/google/colab"
cp "$HERE"/google/colab/*.py "$SITE/google/colab/"
cp "$HERE/colab_check_guard.py" "$SITE/_colab_check_guard.py"
cp "$HERE/pytest_colab_extras.py" "$SITE/_colab_check_pytest.py"
# Kernels of this venv import google.colab at start-up, as Colab's do.
mkdir -p "$VENV/etc/ipython"
cp "$HERE/ipython_kernel_config.py" "$VENV/etc/ipython/ipython_kernel_config.py"
"$PY" -m ipykernel install --sys-prefix --name python3 \
    --display-name "Python 3 (Colab stand-in)" > /dev/null || die "ipykernel install failed"
# A fresh Colab runtime has no landmarklib: drop the previous run's editable install.
if "$PY" -m pip show -q landmarklib > /dev/null 2>&1; then
    pip_ "$PY" uninstall -q -y landmarklib > /dev/null
fi
# What a headless Colab cell does: `!pip install papermill`, here pinned to the
# project's version and held to Colab's versions of everything else.
PAPERMILL="$(sed -n 's/^papermill==\([^ ;#]*\).*/\1/p' "$ROOT/requirements.txt")"
pip_ "$PY" install -q "papermill==${PAPERMILL:?no papermill pin in requirements.txt}" \
    -c "$CONSTRAINTS" || die "pip install papermill failed"
pip_ "$PY" check || FAILURES+=("pip check: broken requirements in $VENV (see above)")
"$PY" - <<'EOF'
from importlib.metadata import version
names = ["tensorflow-cpu", "keras", "numpy", "pandas", "matplotlib", "opencv-python-headless",
         "pillow", "ipywidgets", "ipykernel", "ipython", "jupyter_client", "nbclient",
         "traitlets", "papermill", "pytest"]
print("versions: " + ", ".join(f"{n} {version(n)}" for n in names))
EOF
timing "stand-in + papermill" $(($(now) - t0)) "installed"

# --- 2. the snapshot the notebooks clone ----------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK/src" "$WORK/content"
SNAPSHOT="$WORK/snapshot.git"
git init -q --bare "$SNAPSHOT" && git -C "$SNAPSHOT" symbolic-ref HEAD refs/heads/main
if [ "$REF" = worktree ]; then
    # A commit of the work tree as it is (tracked changes and untracked files that git
    # does not ignore), made with a scratch index: the checkout's index, branch and
    # refs are not touched. Objects go into the checkout's object store, as with
    # `git stash create`.
    INDEX="$WORK/snapshot.index"
    cp "$ROOT/$(git -C "$ROOT" rev-parse --git-path index)" "$INDEX" 2> /dev/null || true
    GIT_INDEX_FILE="$INDEX" git -C "$ROOT" add -A || die "git add failed"
    TREE="$(GIT_INDEX_FILE="$INDEX" git -C "$ROOT" write-tree)" || die "git write-tree failed"
    SHA="$(GIT_AUTHOR_NAME=colab-check GIT_AUTHOR_EMAIL=colab-check@localhost \
        GIT_COMMITTER_NAME=colab-check GIT_COMMITTER_EMAIL=colab-check@localhost \
        git -C "$ROOT" commit-tree "$TREE" -p HEAD -m "colab-check: snapshot of the work tree")" \
        || die "git commit-tree failed"
    CHANGED="$(git -C "$ROOT" diff --name-only HEAD "$SHA" | wc -l)"
    echo "== source: the work tree (HEAD $(git -C "$ROOT" rev-parse --short HEAD) + $CHANGED changed files), snapshot $SHA"
else
    SHA="$(git -C "$ROOT" rev-parse --verify "$REF^{commit}")" || die "no commit $REF"
    echo "== source: $REF = $SHA (committed files only)"
fi
git -C "$ROOT" push -q "$SNAPSHOT" "$SHA:refs/heads/main" || die "git push to $SNAPSHOT failed"
git -C "$ROOT" archive "$SHA" notebooks | tar -x -C "$WORK/src" || die "git archive failed"

export LANDMARKLIB_REPO="file://$SNAPSHOT"
export LANDMARKLIB_COLAB_DIR="$WORK/content/landmarklib"
CLONE="$LANDMARKLIB_COLAB_DIR"
# Colab would download the public data; here the read-only copy beside the checkout
# (landmarklib.core.config reads LANDMARKLIB_SHARED_DATA).
if [ -z "${LANDMARKLIB_SHARED_DATA:-}" ] && [ -d "$ROOT/../shared/data" ]; then
    export LANDMARKLIB_SHARED_DATA="$(cd "$ROOT/../shared/data" && pwd)"
fi
export COLAB_STANDIN_LOG="$WORK/colab-calls.jsonl"
export COLAB_STANDIN_DRIVE="$WORK/drive"
# A fresh runtime has no Drive mounted: drop the mount point (a symlink) an earlier check left.
for mount in /content/drive; do [ -L "$mount" ] && rm -f "$mount"; done
export COLAB_STANDIN_DOWNLOADS="$WORK/downloads"
CAMERA="$(ls "${LANDMARKLIB_SHARED_DATA:-/nonexistent}"/youtube-faces/test/*.jpg 2> /dev/null | head -n 1)"
[ -n "$CAMERA" ] && export COLAB_STANDIN_CAMERA="$CAMERA"
export COLAB_CHECK_DEV_ONLY="$DEV_ONLY"
export JUPYTER_PATH="$VENV/share/jupyter"   # this venv's python3 kernel before any other
export IPYTHONDIR="$WORK/ipython"           # a fresh IPython profile, as on a new runtime
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
export PYTHONNOUSERSITE=1
unset PYTHONPATH
: > "$COLAB_STANDIN_LOG"

# --- 3. the notebooks ------------------------------------------------------------------
if [ "$RUN_NOTEBOOKS" = 1 ]; then
    echo "== notebooks (profile $PROFILE) -> $WORK/executed; clone in $CLONE"
    t0=$(now)
    "$PY" "$HERE/run_notebooks.py" --src "$WORK/src/notebooks" --out "$WORK" --cwd "$WORK/content" \
        -p profile "$PROFILE" -p train_missing true -p use_drive true --cell-timeout "$CELL_TIMEOUT" \
        --repeat-widget-cells "$WIDGET_REPEATS" --report-only "$REPORT_ONLY" $KEEP_GOING "${NAMES[@]}" \
        | tee "$WORK/notebooks.log"
    if [ "${PIPESTATUS[0]}" = 0 ]; then
        timing "notebooks (all)" $(($(now) - t0)) "ok"
    else
        timing "notebooks (all)" $(($(now) - t0)) "FAILED"
        FAILURES+=("notebooks: $(grep -E '^[0-9]+ of [0-9]+ notebooks failed' "$WORK/notebooks.log" || echo 'see above')")
        while IFS= read -r line; do FAILURES+=("  $line"); done < <(cat "$WORK/failures.txt" 2> /dev/null)
    fi
fi

# --- the runtime the setup cell left: does it have landmarklib's declared dependencies? ---
# (The setup cell installs with --no-deps; Colab has only what its freeze lists.
# "requires tensorflow" is ours: tensorflow-cpu stands in for it here.)
if "$PY" -m pip show -q landmarklib > /dev/null 2>&1; then
    MISSING_DEPS="$(pip_ "$PY" check | grep '^landmarklib ' | grep -v 'requires tensorflow,')"
    if [ -n "$MISSING_DEPS" ]; then
        echo "$MISSING_DEPS"
        FAILURES+=("Colab runtime after the setup cell: $(echo "$MISSING_DEPS" | tr '\n' ' ')")
    fi
fi

# --- 4. the unit tests -----------------------------------------------------------------
if [ "$RUN_TESTS" = 1 ]; then
    t0=$(now)
    # The clone the first notebook's setup cell made; made here if no notebook did.
    if [ ! -d "$CLONE/.git" ]; then
        echo "== no clone from the notebooks: cloning and installing as the setup cell does"
        git clone -q "$LANDMARKLIB_REPO" "$CLONE" && pip_ "$PY" install -q --no-deps -e "$CLONE" \
            || die "clone/install of $LANDMARKLIB_REPO failed"
    fi
    INSTALLED="$(cd "$WORK" && "$PY" -c 'import landmarklib, os; print(os.path.dirname(os.path.dirname(landmarklib.__file__)))' 2>&1)"
    if [ "$INSTALLED" != "$(cd "$CLONE" && pwd)" ]; then
        echo "== landmarklib in $VENV is not the clone ($INSTALLED): installing the clone"
        pip_ "$PY" install -q --no-deps -e "$CLONE" || die "pip install -e $CLONE failed"
    fi
    echo "== unit tests of $CLONE (-m 'not slow and not browser'; skipped if they need: $DEV_ONLY)"
    (cd "$CLONE" && COLUMNS=250 "$PY" -m pytest -q -rfEs -m "not slow and not browser" \
        -p _colab_check_pytest -p no:cacheprovider) 2>&1 | tee "$WORK/tests.log"
    status="${PIPESTATUS[0]}"
    summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|skipped)|no tests ran' "$WORK/tests.log" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')"
    if [ "$status" = 0 ]; then
        timing "tests" $(($(now) - t0)) "ok: $summary"
    else
        timing "tests" $(($(now) - t0)) "FAILED: $summary"
        FAILURES+=("tests: $summary")
        while IFS= read -r line; do FAILURES+=("  $line"); done \
            < <(grep -E '^(FAILED|ERROR) ' "$WORK/tests.log" | cut -c1-300)
    fi
fi

# --- summary -----------------------------------------------------------------------------
echo
echo "colab-check timings:"
for line in "${TIMES[@]}"; do echo "  $line"; done
echo "google.colab stand-in calls: $(wc -l < "$COLAB_STANDIN_LOG") (log $COLAB_STANDIN_LOG)"
if [ ${#FAILURES[@]} -gt 0 ]; then
    echo "colab-check FAILED:"
    for line in "${FAILURES[@]}"; do echo "  $line"; done
    exit 1
fi
echo "colab-check passed"
