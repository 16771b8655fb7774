# The two commands of the README:
#   make report [PROFILE=smoke|cpu|full]   rerun every notebook, rebuild report/main.pdf
#   make test                              the test suite (includes a smoke run of the notebooks)
# Everything else is set up on demand in .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# cpu without a GPU, full with one; override with PROFILE=...
PROFILE ?= auto
PYTEST_ARGS ?=
ONLY ?=

.PHONY: setup test report notebooks pdf climb benchmarks detectors-venv clean-build help colab-check readme overleaf colab-links

help:
	@echo "make report [PROFILE=smoke|cpu|full]  - run the notebooks and build report/main.pdf"
	@echo "make pdf [PROFILE=...]                - rebuild report/main.pdf from the trained runs"
	@echo "make test                             - run the tests"
	@echo "make climb [PROFILE=...]              - train V6's climb, one run per row (README, Beyond V4)"
	@echo "make benchmarks                       - print the speed tables quoted in the README"
	@echo "make readme [PROFILE=...]             - rewrite the README's tables from runs and benchmarks"
	@echo "make detectors-venv                   - dlib + MediaPipe for benchmarks/compare_detectors.py"
	@echo "make colab-check [ONLY=...]           - every notebook at smoke under Colab's package versions"
	@echo "make overleaf                         - build/overleaf/landmarklib-report.zip for Overleaf"
	@echo "make colab-links REPO=owner/name      - point every Colab badge and clone line at the repository"

setup: $(STAMP)

# requirements.txt is the lock file (exact pins); the package goes in editable and
# without its dependencies, which pyproject.toml only declares as ranges.
# setuptools: the build backend (--no-build-isolation; Python >= 3.12 venvs lack it).
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=61"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (landmarklib)" > /dev/null
	touch $@

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ONLY=03_train_v4 (space-separated, substrings of the executed notebooks' names) reruns a few.
report: setup
	$(BIN)/python -m landmarklib report --profile $(PROFILE) $(foreach o,$(ONLY),--only $(o))
	$(if $(filter smoke,$(PROFILE)),@echo "readme: smoke runs are not quoted in the README",$(MAKE) readme PROFILE=$(PROFILE))

# The README's tables (between <!-- begin/end: NAME --> markers) from models/*/results.json,
# build/comparison.csv and build/benchmarks/*.json; absent inputs leave a table as it is.
readme: setup
	$(BIN)/python -m landmarklib.reporting.readme --profile $(PROFILE)

# Tables from the trained runs + report/main.pdf, without running the notebooks.
pdf: setup
	$(BIN)/python -c "import sys; from landmarklib import report; sys.exit(report.build('$(PROFILE)'))"

# V6's climb (training/versions.py, CLIMB): one run per row, cached runs loaded; then the
# README's climb and goals tables (only those). Not part of make report (a training per row).
climb: setup
	$(BIN)/python -c "from landmarklib.training import climb; climb.train_climb('$(PROFILE)')"
	$(if $(filter smoke,$(PROFILE)),@echo "readme: smoke runs are not quoted in the README",$(BIN)/python -m landmarklib.reporting.readme --profile $(PROFILE) --only climb goals)

# The CPU benchmarks (gpu_train_speed.py is for a machine with an accelerator, see README).
# compare_detectors.py needs `make detectors-venv` first and is skipped without it.
CPU_BENCHMARKS = data_speed augment_speed train_speed batchnorm_speed video_speed inspector_speed face_detectors realworld
benchmarks: setup
	for b in $(CPU_BENCHMARKS); do echo "== benchmarks/$$b.py"; $(BIN)/python benchmarks/$$b.py || exit 1; done
	if [ -x .venv-detectors/bin/python ]; then $(BIN)/python benchmarks/compare_detectors.py && \
	  $(BIN)/python benchmarks/compare_detectors.py --videos; \
	else echo "compare_detectors.py skipped: make detectors-venv first"; fi

# dlib and MediaPipe for benchmarks/compare_detectors.py (numpy < 2: not in .venv)
detectors-venv: .venv-detectors/.installed

.venv-detectors/.installed: benchmarks/requirements-detectors.txt
	$(PYTHON) -m venv .venv-detectors
	.venv-detectors/bin/python -m pip install --quiet -r benchmarks/requirements-detectors.txt
	touch $@

clean-build:
	rm -rf build report/figures/*.pdf report/figures/*.png report/generated/*.tex
	cd report && latexmk -C main.tex > /dev/null 2>&1 || true

# Colab's runtime stand-in (tools/colab/README.md): .venv-colab with Colab's package
# versions (Python 3.13) and a google.colab stand-in; runs every notebook at the smoke
# profile through its Colab setup cell, then the unit tests. ONLY=03_train runs some.
colab-check:
	bash tools/colab/check.sh $(ONLY)

# The report for Overleaf (main.tex, sections, figures, generated tables, references.bib)
# as build/overleaf/landmarklib-report.zip; run make report (or make pdf) before.
overleaf: setup
	$(BIN)/python -m landmarklib.reporting.overleaf

# REPO=owner/name: the one setting (reporting/notebook.py REPO_URL) and every badge and
# clone line in notebooks/ and README.md follow it.
REPO ?=
colab-links: setup
	@test -n "$(REPO)" || { echo "usage: make colab-links REPO=owner/name"; exit 2; }
	$(BIN)/python -m landmarklib.reporting.colablinks $(REPO)
