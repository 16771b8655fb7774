"""``google.colab.output``: widget manager and JavaScript calls, recorded."""
import base64
import mimetypes
import os

from ._record import record, unsupported

_state = {"custom_widget_manager": False, "callbacks": {}}
CAMERA_ENV = "COLAB_STANDIN_CAMERA"
RESULT_ENV = "COLAB_STANDIN_EVAL_JS_RESULT"
# "raise": every script fails as a rejected promise (e.g. no camera); "timeout": no
# browser answers, so a call with timeout_sec raises TimeoutException and one
# without it raises at once instead of waiting for ever, as Colab's would.
FAIL_ENV = "COLAB_STANDIN_EVAL_JS_FAIL"
FAIL_MODES = ("raise", "timeout")


class MessageError(RuntimeError):
    """What Colab raises when the page's JavaScript rejects (google.colab._message)."""


class TimeoutException(RuntimeError):
    """What Colab raises when no answer came within timeout_sec (google.colab._message)."""


def enable_custom_widget_manager():
    """Colab draws third-party ipywidgets only after this; here it is recorded."""
    record("output.enable_custom_widget_manager")
    _state["custom_widget_manager"] = True


def disable_custom_widget_manager():
    record("output.disable_custom_widget_manager")
    _state["custom_widget_manager"] = False


def custom_widget_manager_enabled():
    """Stand-in only: whether ``enable_custom_widget_manager`` was called."""
    return _state["custom_widget_manager"]


def eval_js(script, ignore_result=False, timeout_sec=None):
    """Record the script; answer as a browser might.

    A script that grabs a webcam frame (mentions ``getUserMedia``) gets the image
    of $COLAB_STANDIN_CAMERA as a data URL (like ``canvas.toDataURL``); any other
    script gets $COLAB_STANDIN_EVAL_JS_RESULT, or None (JavaScript's undefined).
    Without $COLAB_STANDIN_CAMERA a webcam script raises, as Colab does when the
    user denies the camera. $COLAB_STANDIN_EVAL_JS_FAIL makes every script fail
    (see FAIL_ENV).
    """
    record("output.eval_js", script, ignore_result=ignore_result, timeout_sec=timeout_sec)
    if ignore_result:
        return None
    _fail_if_asked(timeout_sec)
    if "getUserMedia" in script:
        path = os.environ.get(CAMERA_ENV)
        if not path:
            raise MessageError(  # what the real eval_js raises for a rejected promise
                "NotAllowedError: Permission denied (Colab stand-in: set "
                f"{CAMERA_ENV} to an image file to answer webcam scripts)")
        mime = mimetypes.guess_type(path)[0] or "image/jpeg"
        with open(path, "rb") as f:
            return f"data:{mime};base64," + base64.b64encode(f.read()).decode("ascii")
    return os.environ.get(RESULT_ENV)


def _fail_if_asked(timeout_sec):
    """Raise as $COLAB_STANDIN_EVAL_JS_FAIL says (nothing when it is unset)."""
    mode = os.environ.get(FAIL_ENV, "")
    if not mode:
        return
    if mode not in FAIL_MODES:
        raise ValueError(f"${FAIL_ENV}={mode!r}: expected one of {FAIL_MODES} or unset")
    if mode == "raise":
        raise MessageError("NotFoundError: Requested device not found (Colab stand-in: "
                           f"${FAIL_ENV}=raise)")
    if timeout_sec is None:
        raise TimeoutException(f"no browser answers and eval_js has no timeout_sec: on Colab "
                               f"this call would wait for ever (Colab stand-in: ${FAIL_ENV}="
                               "timeout)")
    raise TimeoutException(f"no answer within {timeout_sec} s (Colab stand-in: "
                           f"${FAIL_ENV}=timeout)")


def register_callback(function_name, callback):
    """Colab lets JavaScript call back into Python by this name; here it is stored."""
    record("output.register_callback", function_name)
    _state["callbacks"][function_name] = callback


def clear(wait=False, output_tags=()):
    record("output.clear", wait=wait, output_tags=output_tags)


def serve_kernel_port_as_window(port, path="/", anchor_text=None):
    record("output.serve_kernel_port_as_window", port, path=path)


def serve_kernel_port_as_iframe(port, path="/", height=400, cache_in_notebook=False):
    record("output.serve_kernel_port_as_iframe", port, path=path)


def __getattr__(name):
    raise unsupported("output", name)
