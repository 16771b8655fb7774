"""Kernel side of tools/colab/check.sh: a cell that changes a papermill parameter fails.

check.sh runs the notebooks with ``-p profile smoke``. A notebook that, on Colab,
replaces such a parameter (``profile = lm.config.default_profile()``) would
silently run with other settings (and, for ``profile``, train for an hour). With
``COLAB_CHECK_PARAMS`` set to the parameters as JSON (``{"profile": "smoke"}``),
every cell run after the parameters are in place ends with a check that they
still hold, and the first cell that changes one fails with ``ParameterChanged``,
naming the parameter and both values (the parameters are then put back, so that
a run that goes on past errors keeps them). Without the variable this does nothing.

Installed into the check's venv as ``_colab_check_guard`` and started from the
venv's ``etc/ipython/ipython_kernel_config.py`` (see check.sh).
"""
import ast
import json
import os

ENV = "COLAB_CHECK_PARAMS"
CHECK_NAME = "__colab_check_params__"
_MISSING = object()


class ParameterChanged(AssertionError):
    """A cell replaced a parameter that papermill had set."""


class _Guard:
    def __init__(self, shell, expected):
        self.shell = shell
        self.expected = expected
        self.armed = False      # True once every parameter holds its expected value
        self.reported = False   # fail once, not in every later cell

    def changed(self):
        ns = self.shell.user_ns
        return {k: ns.get(k, _MISSING) for k, v in self.expected.items()
                if ns.get(k, _MISSING) != v}

    def check(self):
        if not self.armed or self.reported:
            return
        changed = self.changed()
        if changed:
            self.reported = True
            self.shell.user_ns.update(self.expected)  # a --keep-going run goes on with them
            what = ", ".join(f"{k}={self.expected[k]!r} (papermill -p) is now "
                             f"{'undefined' if v is _MISSING else repr(v)}"
                             for k, v in changed.items())
            raise ParameterChanged(f"this cell changed a notebook parameter: {what}; the run "
                                   "would not use the parameters it was given")

    def post_run_cell(self, result=None):
        if not self.armed and not self.changed():
            self.armed = True


class _AddChecks(ast.NodeTransformer):
    """Check at the start of each cell and at its end (before a trailing expression,
    which IPython displays)."""

    def visit_Module(self, node):
        def call():
            return ast.Expr(ast.Call(ast.Name(CHECK_NAME, ast.Load()), [], []))

        body = list(node.body)
        end = len(body) - 1 if body and isinstance(body[-1], ast.Expr) else len(body)
        node.body = [call()] + body[:end] + [call()] + body[end:]
        return ast.fix_missing_locations(node)


def install(shell=None):
    spec = os.environ.get(ENV)
    if not spec:
        return None
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    guard = _Guard(shell, json.loads(spec))
    shell.user_ns[CHECK_NAME] = guard.check
    shell.user_ns_hidden[CHECK_NAME] = guard.check  # not listed by %who
    shell.events.register("post_run_cell", guard.post_run_cell)
    shell.ast_transformers.append(_AddChecks())
    return guard
