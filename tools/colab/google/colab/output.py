"""``google.colab.output``: widget manager and JavaScript calls, recorded."""
import base64
import mimetypes
import os

from ._record import record, unsupported

_state = {"custom_widget_manager": False, "callbacks": {}}
CAMERA_ENV = "COLAB_STANDIN_CAMERA"
RESULT_ENV = "COLAB_STANDIN_EVAL_JS_RESULT"


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
    user denies the camera.
    """
    record("output.eval_js", script, ignore_result=ignore_result, timeout_sec=timeout_sec)
    if ignore_result:
        return None
    if "getUserMedia" in script:
        path = os.environ.get(CAMERA_ENV)
        if not path:
            raise RuntimeError(  # what the real eval_js raises for a rejected promise
                "NotAllowedError: Permission denied (Colab stand-in: set "
                f"{CAMERA_ENV} to an image file to answer webcam scripts)")
        mime = mimetypes.guess_type(path)[0] or "image/jpeg"
        with open(path, "rb") as f:
            return f"data:{mime};base64," + base64.b64encode(f.read()).decode("ascii")
    return os.environ.get(RESULT_ENV)


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
