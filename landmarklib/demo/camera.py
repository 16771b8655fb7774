"""Live landmarks: a local webcam window, and one frame from the browser on Colab.

``webcam`` shows live landmarks in an OpenCV window (needs an OpenCV with a
GUI: the project pins the headless wheel, so ``check_display`` says what to
install); ``capture_frame`` grabs one frame from a local camera without a
GUI and ``colab_capture`` one frame through the browser on Colab. Every frame
goes through the same tracker as a video file (``tracking.FaceTracker``), a
captured still through ``stills.annotate_image``: one pipeline everywhere.
"""
import sys
import time

import cv2

from ..core.errors import LandmarkError, quote
from ..data.crop import decode_image
from ..inference.photo import predictor_for_run
from .draw import draw
from .tracking import FaceTracker

WINDOW = "landmarklib webcam (q quits)"

# --- webcam ------------------------------------------------------------------------

# Colab runs the notebook on a server: the browser grabs a webcam frame in
# JavaScript and returns it as a JPEG data URL (google.colab.output.eval_js).
COLAB_CAPTURE_JS = """
async function captureFrame(quality) {
  const video = document.createElement('video');
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  document.body.appendChild(video);
  video.srcObject = stream;
  await video.play();
  await new Promise((resolve) => setTimeout(resolve, 800));  // let exposure settle
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  stream.getVideoTracks()[0].stop();
  video.remove();
  return canvas.toDataURL('image/jpeg', quality);
}
"""


# How long colab_capture waits for the browser's answer (the permission prompt,
# then one frame); without a limit eval_js waits for ever when nobody answers.
CAPTURE_TIMEOUT_S = 60
NO_FRAME = "no camera frame: "  # how every line saying why no frame was grabbed starts


def in_colab():
    """True inside a Google Colab kernel (its kernel imports google.colab first)."""
    return "google.colab" in sys.modules


def why_no_browser(interactive=True, check_client=True):
    """Why no browser can answer a camera request here, or None if one can.

    The rule (in this order):

    1. ``interactive=False``: the notebook says it runs headless (``make report``
       and ``00_colab_report`` pass it through papermill);
    2. ``google.colab`` is not imported: not Colab's own kernel (a kernel that
       papermill starts on a Colab machine is a plain one, with no page);
    3. the cell came from a client that takes no input: ipykernel records each
       execute request's ``allow_stdin``, which papermill and nbclient send as
       False (so in ``make colab-check``, whose notebooks keep
       ``interactive=True``). Colab's page lets ``input()`` work, which
       ipykernel allows only with True; that is the assumption here, not yet
       seen on Colab itself: ``check_client=False`` skips this rule.

    Args:
        interactive: the notebook's ``interactive`` parameter.
        check_client: apply rule 3 (False: trust rules 1-2 alone).
    """
    if not interactive:
        return "interactive = False (a headless run: nobody at a browser to allow the camera)"
    if not in_colab():
        return ("not in Google Colab; locally use capture_frame() or "
                "`python -m landmarklib webcam`")
    if not check_client:
        return None
    kernel = _kernel()
    if kernel is None:
        return "not in a Jupyter kernel, so there is no browser page to ask"
    if getattr(kernel, "_allow_stdin", True) is False:
        return ("this cell was sent by a client that takes no input (papermill or nbclient: a "
                "headless run), so no browser can answer; run the cell in Colab's page")
    return None


def _kernel():
    """The running ipykernel, or None outside one."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(get_ipython(), "kernel", None)


def colab_capture(quality=0.9, interactive=True, timeout_s=CAPTURE_TIMEOUT_S,
                  check_client=True):
    """One webcam frame (BGR) through the browser on Colab, or None with one line saying why.

    Asks the browser only when ``why_no_browser`` finds nothing against it;
    a camera that is missing or refused, or no answer within `timeout_s`,
    prints one line and returns None, so that "Run all" goes on.

    Args:
        quality: JPEG quality of the frame the browser sends (0-1).
        interactive: the notebook's ``interactive`` parameter (False: never ask).
        timeout_s: seconds to wait for the browser's answer.
        check_client: False skips rule 3 of ``why_no_browser`` (should it
            ever misjudge a live Colab page).
    """
    import base64

    reason = why_no_browser(interactive, check_client)
    if reason:
        print(NO_FRAME + reason)
        return None
    from google.colab.output import eval_js

    try:
        url = eval_js(COLAB_CAPTURE_JS + f"captureFrame({quality})", timeout_sec=timeout_s)
    except Exception as err:  # the browser's failure, of Colab's own types: denied, no camera, timeout
        print(NO_FRAME + _one_line(err) + "; allow the camera for this page and run the cell again")
        return None
    if not (isinstance(url, str) and url.startswith("data:image/") and "," in url):
        print(NO_FRAME + f"the browser answered {quote(url)} instead of an image")
        return None
    try:
        return decode_image(base64.b64decode(url.split(",", 1)[1]), "the webcam frame", color=True)
    except (LandmarkError, ValueError, cv2.error) as err:  # not base64, or not an image
        print(NO_FRAME + _one_line(err))
        return None


def _one_line(err):
    """The exception's type and first line, e.g. ``MessageError: NotAllowedError: ...``."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else f"{type(err).__name__} (no message)"


def notebook_frame(interactive=True, live_camera=False):
    """The frame 05_demo's webcam cell draws on, or None with one line saying why not.

    On Colab, the browser's camera (``colab_capture``); elsewhere the local
    camera if `live_camera` (``capture_frame``). Headless runs never capture.

    Args:
        interactive: the notebook's ``interactive`` parameter.
        live_camera: the notebook's ``live_camera`` parameter (local camera).
    """
    if in_colab():
        return colab_capture(interactive=interactive)
    if not live_camera:
        print(NO_FRAME + "not on Colab and live_camera = False")
        return None
    if not interactive:
        print(NO_FRAME + "interactive = False (a headless run)")
        return None
    try:
        return capture_frame()
    except LandmarkError as err:
        print(NO_FRAME + str(err))
        return None


def capture_frame(camera=0):
    """One frame (BGR) from a local camera; needs no GUI."""
    cap = cv2.VideoCapture(camera)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
    finally:
        cap.release()
    if not ok:
        raise LandmarkError(f"camera {camera}: cannot be opened or gave no frame")
    return frame



class NoDisplayError(RuntimeError):
    """This OpenCV build has no GUI (opencv-python-headless)."""


def gui_available():
    """True if this OpenCV can open windows (the headless wheel cannot)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


def check_display():
    """NoDisplayError, with what to do, if this OpenCV cannot open windows."""
    if not gui_available():
        raise NoDisplayError(
            "this OpenCV has no GUI (opencv-python-headless, as the project pins for servers "
            "and Colab); for a local window run `pip install opencv-python` in this "
            "environment, or use the Colab / local paths of notebooks/05_demo.ipynb")


def webcam(predictor, camera=0, smooth="one-euro", max_faces=1, names=False):
    """Live landmarks in a resizable, aspect-keeping window; `q` or closing it quits."""
    check_display()
    cap = cv2.VideoCapture(camera)
    if not cap.isOpened():
        raise LandmarkError(f"camera {camera}: cannot be opened (is it connected and free?)")
    tracker = FaceTracker(predictor, smooth=smooth, max_faces=max_faces)
    cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
    fps, last, start = None, time.perf_counter(), time.perf_counter()
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                raise LandmarkError(f"camera {camera}: stopped delivering frames")
            now = time.perf_counter()
            fps = 1 / (now - last) if fps is None else 0.9 * fps + 0.1 / max(now - last, 1e-6)
            last = now
            cv2.imshow(WINDOW, draw(frame, tracker(frame, now - start), names=names, fps=fps))
            key = cv2.waitKey(1) & 0xFF
            if key == ord("q") or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                break
    finally:
        cap.release()
        cv2.destroyAllWindows()


def webcam_cli(args):
    """``python -m landmarklib webcam --model RUN``."""
    try:
        check_display()  # say so before loading a model
    except NoDisplayError as err:
        raise LandmarkError(str(err)) from None  # the CLI's one line, exit 2
    webcam(predictor_for_run(args.model), camera=args.camera, smooth=args.smooth,
           max_faces=args.max_faces, names=getattr(args, "names", False))
