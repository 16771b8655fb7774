"""Live landmarks: a local webcam window, and one frame from the browser on Colab.

``webcam`` shows live landmarks in an OpenCV window (needs an OpenCV with a
GUI: the project pins the headless wheel, so ``check_display`` says what to
install); ``capture_frame`` grabs one frame from a local camera without a
GUI and ``colab_capture`` one frame through the browser on Colab. Every frame
goes through the same tracker as a video file (``tracking.FaceTracker``), a
captured still through ``stills.annotate_image``: one pipeline everywhere.
"""
import time

import cv2

from ..core.errors import LandmarkError
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


def colab_capture(quality=0.9):
    """One webcam frame (BGR) through the browser, on Colab only."""
    import base64

    try:
        from google.colab.output import eval_js
    except ImportError:
        raise NoDisplayError("colab_capture works in Google Colab only; locally use "
                             "capture_frame() or `python -m landmarklib webcam`") from None
    url = eval_js(COLAB_CAPTURE_JS + f"captureFrame({quality})")
    return decode_image(base64.b64decode(url.split(",", 1)[1]), "the webcam frame", color=True)


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
        raise SystemExit(f"error: {err}") from None
    webcam(predictor_for_run(args.model), camera=args.camera, smooth=args.smooth,
           max_faces=args.max_faces, names=getattr(args, "names", False))
