"""pytest plugin of tools/colab/check.sh: skip what needs a dev-only extra.

Colab has no voila, selenium, tf2onnx, onnx or onnxruntime (the project's
requirements.txt installs them for development only). A test module that fails
to import, or a test that fails, because one of the modules named in
``COLAB_CHECK_DEV_ONLY`` (space-separated) is missing is reported as skipped,
with the module named. Any other missing module still fails: the Colab runtime
has to provide it.

Loaded with ``pytest -p _colab_check_pytest`` (check.sh installs it into the venv
under that name).
"""
import os
import re

import pytest

ENV = "COLAB_CHECK_DEV_ONLY"
MISSING = re.compile(r"No module named '([\w.]+)'")


def _dev_only():
    return set(os.environ.get(ENV, "").split())


def _missing_extra(text):
    """The dev-only top-level module a 'No module named' message is about, else None."""
    for name in MISSING.findall(text or ""):
        top = name.split(".")[0]
        if top in _dev_only():
            return top
    return None


def _skip_longrepr(report, module):
    path, lineno = str(report.fspath), 0
    if getattr(report, "location", None):
        path, lineno = report.location[0], report.location[1] or 0
    return (path, lineno, f"Skipped: needs {module}, a dev-only extra that Colab does not have")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        module = _missing_extra(str(report.longrepr))
        if module:
            report.outcome = "skipped"
            report.longrepr = _skip_longrepr(report, module)
            report.result = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None and call.excinfo.errisinstance(ImportError):
        module = _missing_extra(str(call.excinfo.value))
        if module:
            report.outcome = "skipped"
            report.longrepr = _skip_longrepr(report, module)
