"""A stand-in for Colab's ``google.colab`` package, for running notebooks headlessly.

Colab's kernel imports ``google.colab`` before the first cell runs, so notebooks
test ``"google.colab" in sys.modules`` to take their Colab branch.  This package
offers the parts of the real API that this project's notebooks use, and records
every call instead of talking to a browser:

    from google.colab import output, drive, files
    output.enable_custom_widget_manager()   # recorded
    output.eval_js("...")                   # recorded; answer: see output.eval_js
    drive.mount("/content/drive")           # a symlink to a local folder
    files.download("report.pdf")            # recorded (and copied, if asked)

Every call is appended to ``CALLS`` (in memory) and, when the environment
variable ``COLAB_STANDIN_LOG`` names a file, written there as one line of
JSON per call, so that a script outside the kernel can check what happened.

Environment variables (all optional):

* ``COLAB_STANDIN_LOG``: file that receives one JSON line per call.
* ``COLAB_STANDIN_DRIVE``: folder that ``drive.mount`` links to (default: a new
  temporary folder); ``MyDrive/`` is made inside it.
* ``COLAB_STANDIN_DOWNLOADS``: folder that ``files.download`` copies files into.
* ``COLAB_STANDIN_UPLOAD``: files (joined by ``os.pathsep``) that
  ``files.upload`` "uploads" (copies into the working folder).
* ``COLAB_STANDIN_CAMERA``: an image file; ``output.eval_js`` answers a script
  that calls ``getUserMedia`` (a webcam grab) with it as a data URL.
* ``COLAB_STANDIN_EVAL_JS_RESULT``: what ``output.eval_js`` returns for any
  other script (default ``None``, what Colab returns for ``undefined``).
* ``COLAB_STANDIN_EVAL_JS_FAIL``: ``raise`` makes every ``output.eval_js`` call
  fail like a rejected promise (no camera), ``timeout`` like a page that never
  answers (at once, also for a call without ``timeout_sec`` that would hang on Colab).

This is not Google's code; it lives in the landmarklib repository under
tools/colab/ (see tools/colab/README.md) and is installed into the check's
virtual environment by tools/colab/check.sh.
"""
from ._record import CALLS, record  # noqa: F401
from . import drive, files, output  # noqa: F401

__all__ = ["drive", "files", "output", "CALLS"]
STANDIN = True  # the real package has no such attribute
