"""The webcam cell of 05_demo: capture only where a browser can answer, one line otherwise.

Unit tests put a fake ``google.colab.output`` in sys.modules and a fake
ipykernel behind ``IPython.get_ipython``; two slow tests start real kernels
with the project's google.colab stand-in (tools/colab/), one driven like
papermill (nbclient) and one like a page that takes input.
"""
import base64
import json
import os
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from landmarklib.demo import camera

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ROOT / "tools" / "colab"


def _jpeg_data_url(height=48, width=64):
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (255, 0, 0)  # BGR blue on the left
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()


@pytest.fixture
def colab(monkeypatch):
    """A fake ``google.colab.output`` whose eval_js answers with ``.answer`` (or raises it)."""
    calls = []
    output = types.ModuleType("google.colab.output")
    output.answer = _jpeg_data_url()

    def eval_js(script, ignore_result=False, timeout_sec=None):
        calls.append({"script": script, "timeout_sec": timeout_sec})
        if isinstance(output.answer, BaseException):
            raise output.answer
        return output.answer

    output.eval_js = eval_js
    output.calls = calls
    package = types.ModuleType("google.colab")
    package.output = output
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return output


class _Kernel:
    def __init__(self, allow_stdin):
        self._allow_stdin = allow_stdin


@pytest.fixture
def page(monkeypatch):
    """Run as if a cell came from a page that takes input (set ``.allow_stdin`` to change)."""
    import IPython

    shell = types.SimpleNamespace(kernel=_Kernel(True))
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    return shell.kernel


def _one_line(capsys):
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(camera.NO_FRAME)
    return lines[0]


def test_a_live_page_gives_the_frame_and_a_timeout_is_set(colab, page):
    frame = camera.colab_capture()
    assert frame.shape == (48, 64, 3) and frame[:, :20, 0].mean() > 200  # BGR, blue left
    assert len(colab.calls) == 1
    assert "getUserMedia" in colab.calls[0]["script"]
    assert colab.calls[0]["timeout_sec"] == camera.CAPTURE_TIMEOUT_S  # never waits for ever


@pytest.mark.parametrize("error", [
    RuntimeError("NotAllowedError: Permission denied\n    at stack line"),
    RuntimeError("NotFoundError: Requested device not found"),
    TimeoutError(),
])
def test_eval_js_that_raises_gives_one_line_and_none(colab, page, capsys, error):
    colab.answer = error
    assert camera.colab_capture() is None
    line = _one_line(capsys)
    assert type(error).__name__ in line and "allow the camera" in line
    if str(error):
        assert str(error).splitlines()[0] in line


@pytest.mark.parametrize("answer", [None, "", "data:text/plain,hello",
                                    "data:image/jpeg;base64,bm90IGFuIGltYWdl",
                                    "data:image/jpeg;base64,"])
def test_an_answer_that_is_not_an_image_gives_one_line(colab, page, capsys, answer):
    colab.answer = answer
    assert camera.colab_capture() is None
    _one_line(capsys)


def test_headless_never_calls_eval_js(colab, page, capsys):
    assert camera.colab_capture(interactive=False) is None
    assert "interactive = False" in _one_line(capsys)
    page._allow_stdin = False  # papermill / nbclient send allow_stdin=False
    assert camera.colab_capture() is None
    assert "papermill" in _one_line(capsys)
    assert colab.calls == []


def test_no_kernel_and_no_colab_never_ask(colab, capsys, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert camera.colab_capture() is None
    assert "not in a Jupyter kernel" in _one_line(capsys)
    monkeypatch.delitem(sys.modules, "google.colab")
    assert camera.colab_capture() is None
    assert "not in Google Colab" in _one_line(capsys)
    assert colab.calls == []


def test_check_client_false_trusts_the_notebook(colab, page):
    page._allow_stdin = False
    assert camera.colab_capture(check_client=False) is not None
    assert len(colab.calls) == 1
    assert camera.colab_capture(interactive=False, check_client=False) is None
    assert len(colab.calls) == 1


class _NoCamera:
    def __init__(self, index):
        pass

    def isOpened(self):
        return False

    def release(self):
        pass


def test_notebook_frame_locally(capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert camera.notebook_frame() is None
    assert "live_camera = False" in _one_line(capsys)
    monkeypatch.setattr(camera.cv2, "VideoCapture", _NoCamera)
    assert camera.notebook_frame(live_camera=True) is None  # the notebook goes on
    assert "camera 0: cannot be opened" in _one_line(capsys)
    assert camera.notebook_frame(interactive=False, live_camera=True) is None
    assert "interactive = False" in _one_line(capsys)


def test_notebook_frame_on_colab_passes_interactive(colab, page, capsys):
    assert camera.notebook_frame(interactive=False) is None
    _one_line(capsys)
    assert colab.calls == []
    assert camera.notebook_frame(interactive=True) is not None


def test_the_notebook_cell_uses_notebook_frame():
    nb = json.loads((ROOT / "notebooks" / "05_demo.ipynb").read_text())
    cell = next(c for c in nb["cells"] if c.get("id") == "d00e94d2")
    source = "".join(cell["source"])
    assert "lm.camera.notebook_frame(interactive=interactive, live_camera=live_camera)" in source
    assert "eval_js" not in source and "colab_capture" not in source


# --- the stand-in in real kernels -------------------------------------------------------

CELL = ("import google.colab\n"
        "from landmarklib.demo import camera\n"
        "frame = camera.colab_capture()\n"
        "print('frame', None if frame is None else frame.shape)\n")


@pytest.fixture
def standin(tmp_path, monkeypatch, shared_data):
    """Kernels started now see the stand-in, log its calls, and have a camera image."""
    log = tmp_path / "calls.jsonl"
    image = next((shared_data / "youtube-faces" / "test").glob("*.jpg"))
    monkeypatch.setenv("PYTHONPATH", str(STANDIN))
    monkeypatch.setenv("COLAB_STANDIN_LOG", str(log))
    monkeypatch.setenv("COLAB_STANDIN_CAMERA", str(image))
    monkeypatch.delenv("COLAB_STANDIN_EVAL_JS_FAIL", raising=False)
    return log


def _eval_js_calls(log):
    if not log.exists():
        return []
    return [c for c in map(json.loads, log.read_text().splitlines()) if c["call"] == "output.eval_js"]


@pytest.mark.slow
def test_papermill_like_run_never_calls_eval_js(standin):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(camera.NO_FRAME) and "papermill" in lines[0]
    assert lines[1] == "frame None"
    assert _eval_js_calls(standin) == []


@pytest.mark.slow
def test_a_client_that_takes_input_gets_the_frame_and_failures_are_one_line(standin):
    from jupyter_client.manager import start_new_kernel

    def run(code):
        texts = []
        reply = client.execute_interactive(code, allow_stdin=True, timeout=120,
                                           output_hook=lambda m: texts.append(
                                               m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(texts)

    shape = cv2.imread(os.environ["COLAB_STANDIN_CAMERA"], cv2.IMREAD_COLOR).shape
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        assert run(CELL).strip() == f"frame {shape}"  # the stand-in's camera image, as BGR
        assert [c["kwargs"]["timeout_sec"] for c in _eval_js_calls(standin)] == [
            str(camera.CAPTURE_TIMEOUT_S)]
        for mode, words in (("raise", "NotFoundError"), ("timeout", "no answer within")):
            out = run(f"import os; os.environ['COLAB_STANDIN_EVAL_JS_FAIL'] = {mode!r}\n" + CELL)
            lines = out.strip().splitlines()
            assert len(lines) == 2 and lines[0].startswith(camera.NO_FRAME), lines
            assert words in lines[0] and lines[1] == "frame None"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
