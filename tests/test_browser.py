"""The inspector in a real browser: Voila serves a small widget notebook on
127.0.0.1, headless Chromium (driven by Selenium) opens it and uses every
control as a person would (slider keys, ticks, dropdowns, buttons, the grid,
the page's file input), asserting each one's effect on the page: the index
and position texts, the error table, the picture's bytes, the grid, the
upload's message. Breaking any one handler makes it fail.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them) and the pip packages ``voila`` and ``selenium`` (pinned in
requirements.txt); skipped with the reason otherwise. The screenshot goes to
``build/screenshots/inspector.png``.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import nbformat
import pytest

from landmarklib import config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
SERVER_START_S = 180     # Voila listening (generous: bounds a hang, not a speed goal)
PAGE_READY_S = 360       # kernel started, landmarklib imported, widget drawn
CHANGE_S = 60            # a redraw after a key press
SCREENSHOT = config.BUILD / "screenshots" / "inspector.png"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1280,1100")

# The data of the notebook Voila runs: eight synthetic MTFL-like faces with
# attributes, a second split of three faces, two fake models (no TensorFlow).
# The test executes the same code to know what each control must show.
NOTEBOOK_DATA = """
import numpy as np, pandas as pd
import landmarklib as lm

rng = np.random.default_rng(0)
n = 8
yy, xx = np.mgrid[0:96, 0:96]
images = np.stack([((xx * (i + 1) * 2 + yy * 3) % 256).astype(np.uint8) for i in range(n)])
keypoints = rng.uniform(15, 80, (n, 30)).astype(np.float32)
keypoints[:, :4] = (66, 38, 30, 38)
meta = pd.DataFrame({"source": ["synthetic"] * n, "pose": [3, 3, 1, 3, 5, 3, 3, 2],
                     "glasses": [2, 1, 2, 2, 1, 2, 2, 2], "smile": [1, 2] * 4,
                     "gender": [1] * 4 + [2] * 4})
faces = lm.datasets.FaceSet(images, keypoints, meta)
offset = np.zeros((n, 1), np.float32)
offset[5], offset[2] = 6.0, -1.0       # image 5: model a's worst; image 2: a's best
predictions = {"a": keypoints + 1.0 + offset + rng.normal(0, 1, keypoints.shape).astype(np.float32),
               "b": keypoints + 2.0 + rng.normal(0, 1, keypoints.shape).astype(np.float32)}
other = lm.datasets.FaceSet(images[:3], keypoints[:3], pd.DataFrame({"source": ["ytf"] * 3}))
splits = {"test_mtfl": faces, "test": other}
split_predictions = {"test_mtfl": predictions,
                     "test": {k: v[:3] for k, v in predictions.items()}}
"""
NOTEBOOK_CODE = NOTEBOOK_DATA + """
inspector = lm.widgets.Inspector(splits, split_predictions, recipes=[], title="browser test")
inspector.show()
"""


def _chromium():
    return next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)


def _requirements():
    """(chromium, chromedriver) paths, or skip saying what is missing."""
    missing = []
    browser, driver = _chromium(), shutil.which("chromedriver")
    if not browser:
        missing.append("chromium (apt-get install chromium)")
    if not driver:
        missing.append("chromedriver (apt-get install chromium-driver)")
    for module in ("selenium", "voila"):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{module} (pip install -r requirements.txt)")
    if missing:
        pytest.skip("browser test needs " + ", ".join(missing))
    return browser, driver


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port, process, timeout):
    """Wait until Voila accepts connections (a GET would already run the notebook)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout} s")


@pytest.fixture
def voila_url(tmp_path):
    """Serve the widget notebook with Voila on a free local port; stopped afterwards."""
    _requirements()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "inspector.ipynb")
    port = _free_port()
    jupyter = {f"JUPYTER_{kind}_DIR": str(tmp_path / f"jupyter-{kind.lower()}")
               for kind in ("RUNTIME", "DATA", "CONFIG")}  # nothing written to ~
    env = {**os.environ, **jupyter, "PYTHONPATH": str(config.ROOT), "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = open(tmp_path / "voila.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", "inspector.ipynb", "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, process, SERVER_START_S)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # voila and the kernel it started
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        print((tmp_path / "voila.log").read_text()[-3000:])


@pytest.fixture
def browser(tmp_path):
    browser_path, driver_path = _requirements()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


# The upload button opens a file dialog through a hidden <input type=file> that
# ipywidgets 8 never attaches to the page. Instead of the dialog, this puts that
# very input on the page, so that Selenium can type a path into it; its
# "change" handler (the widget's) then reads the file as a person's choice would.
REVEAL_FILE_INPUT = """
const click = HTMLInputElement.prototype.click;
HTMLInputElement.prototype.click = function () {
  if (this.type !== "file") { return click.call(this); }
  this.style.display = "block";
  this.classList.add("lm-file-input");
  document.body.appendChild(this);
};
"""


def _text(driver, css):
    """The text of the first element matching `css` inside the inspector ("" if none)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            found = driver.find_elements(By.CSS_SELECTOR, f".lm-inspector {css}")
            return found[0].text if found else ""
        except StaleElementReferenceException:
            time.sleep(0.25)
    return ""


def _picture(driver):
    """The PNG bytes of the main picture (what the browser shows of it)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            return driver.find_element(By.CSS_SELECTOR, ".lm-inspector img.lm-picture, "
                                       ".lm-inspector .lm-picture img").screenshot_as_png
        except StaleElementReferenceException:
            time.sleep(0.25)
    raise AssertionError("the picture kept being replaced")


def _state(driver):
    """(index text, position text, error table text, picture bytes) as the page shows them."""
    return (_text(driver, ".lm-index"), _text(driver, ".lm-position"),
            _text(driver, ".lm-errors"), _picture(driver))


def _wait(driver, condition, what):
    """Wait until `condition(driver)` holds, failing with `what` and the page's text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, CHANGE_S).until(condition)
    except TimeoutException:
        raise AssertionError(f"{what}; the inspector shows: {_text(driver, '.lm-index')} "
                             f"{_text(driver, '.lm-position')}") from None


def _control(driver, name, tag):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f".lm-inspector .lm-{name} {tag}")


def _choose(driver, name, text):
    """Pick `text` in the inspector's dropdown `name` (its CSS class lm-<name>)."""
    from selenium.webdriver.support.ui import Select

    Select(_control(driver, name, "select")).select_by_visible_text(text)


def _tick(driver, name):
    _control(driver, name, "input[type=checkbox]").click()


def _changes(driver, action, what, expect=None):
    """Run `action`, wait until the picture or texts change (to `expect` if given)."""
    before = _state(driver)
    action()
    if expect is None:
        _wait(driver, lambda d: _state(d) != before, f"{what} changed nothing")
    else:
        _wait(driver, lambda d: expect(_state(d)), f"{what} did not have its effect")
    return before, _state(driver)


def _expected():
    """What the notebook's inspector holds, computed here from the same code."""
    from landmarklib import metrics

    scope = {}
    exec(NOTEBOOK_DATA, scope)
    faces, pred = scope["faces"], scope["predictions"]
    nme = {k: metrics.nme_per_image(faces.keypoints, p) for k, p in pred.items()}
    return scope, nme


def test_every_control_changes_what_the_page_shows(voila_url, browser, tmp_path):
    """Slider, model ticks, ground truth, lines, numbers, sort (NME, keypoint, model gap,
    reverse), worst, filters (attribute, failures), grid and its click, split, upload."""
    import cv2
    import numpy as np
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    from landmarklib import keypoints as kp
    from landmarklib import metrics
    from landmarklib.evaluation import inspector_data

    scope, nme = _expected()
    faces, pred = scope["faces"], scope["predictions"]
    browser.get(voila_url)
    WebDriverWait(browser, PAGE_READY_S).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".lm-inspector .lm-errors")))
    assert _state(browser)[0] == "image 0"

    # slider: two steps right
    handle = browser.find_element(By.CSS_SELECTOR, ".lm-inspector .widget-slider .noUi-handle, "
                                  ".lm-inspector .widget-slider .ui-slider-handle")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    handle.send_keys(Keys.ARROW_RIGHT)
    _wait(browser, lambda d: _state(d)[0] == "image 2", "the slider did not reach image 2")

    # model ticks: b adds a column to the table and crosses to the picture
    before, after = _changes(browser, lambda: _tick(browser, "model-b"), "ticking model b",
                             lambda s: " b" in s[2].splitlines()[0])
    assert after[3] != before[3], "ticking b did not change the picture"
    # ground truth off, error lines, keypoint numbers: each changes the picture
    assert "ground truth" in _text(browser, ".lm-info")
    before, after = _changes(browser, lambda: _tick(browser, "truth"), "ground truth off")
    assert "ground truth" not in _text(browser, ".lm-info") and after[3] != before[3]
    _changes(browser, lambda: _tick(browser, "truth"), "ground truth on")
    for name in ("lines", "labels"):
        before, after = _changes(browser, lambda n=name: _tick(browser, n), name)
        assert after[3] != before[3], f"{name} did not change the picture"
    assert "mouth center bottom lip" in after[2]  # the legend of the numbers

    # sort: image 2 stays on screen and its position follows the order
    rank = {k: list(inspector_data.descending(v)) for k, v in nme.items()}
    _changes(browser, lambda: _choose(browser, "order", "error (worst first)"), "order by NME",
             lambda s: s[1].startswith(f"{rank['a'].index(2) + 1} of 8"))
    errors = metrics.point_errors(faces.keypoints, pred["a"])
    by_point = {k: list(inspector_data.descending(errors[:, kp.INDEX[k]]))
                for k in ("left_eye_center", "mouth_left_corner")}
    assert by_point["left_eye_center"].index(2) != by_point["mouth_left_corner"].index(2)
    for point in by_point:  # the first keypoint is chosen already, then another one
        position = by_point[point].index(2) + 1
        _changes(browser, lambda p=point: (_choose(browser, "keypoint", p),
                                           _choose(browser, "order", "keypoint error")),
                 f"order by {point}", lambda s, n=position: s[1].startswith(f"{n} of 8"))
    gap = list(inspector_data.descending(nme["a"] - nme["b"]))
    _changes(browser, lambda: _choose(browser, "order", "model gap (A - B)"), "order by gap",
             lambda s: s[1].startswith(f"{gap.index(2) + 1} of 8"))
    _changes(browser, lambda: _tick(browser, "reverse"), "reverse",
             lambda s: s[1].startswith(f"{8 - gap.index(2)} of 8"))
    _changes(browser, lambda: _choose(browser, "gap-a", "b"), "model A := b",  # b - b: no gap
             lambda s: s[1].startswith("3 of 8"))
    _tick(browser, "reverse")

    # worst button: model a's worst face
    worst = browser.find_element(By.CSS_SELECTOR, ".lm-inspector .lm-worst")
    _changes(browser, worst.click, "the worst button", lambda s: s[0] == f"image {rank['a'][0]}")

    # filters: frontal faces only, then also failures only
    frontal = [i for i in range(8) if faces.meta["pose"][i] == 3]
    _changes(browser, lambda: _choose(browser, "filter-pose", "frontal"), "the pose filter",
             lambda s: s[1].endswith(f"of {len(frontal)}"))
    failing = [i for i in frontal if nme["a"][i] > metrics.FAILURE_NME]
    assert 0 < len(failing) < len(frontal)
    _changes(browser, lambda: _tick(browser, "failures"), "the failure filter",
             lambda s: s[1].endswith(f"of {len(failing)}"))
    _tick(browser, "failures")
    _choose(browser, "filter-pose", "all")

    # grid: the best faces of model a; the second one's button opens it
    _choose(browser, "grid-kind", "best")
    best = list(inspector_data.descending(-nme["a"]))
    _wait(browser, lambda d: f"open {best[0]}" in _text(d, ".lm-grid-open"), "the grid kind")
    buttons = browser.find_elements(By.CSS_SELECTOR, ".lm-inspector .lm-grid-open")
    assert [b.text for b in buttons] == [f"open {i}" for i in best[:len(buttons)]]
    _changes(browser, lambda: buttons[1].click(), "a grid click",
             lambda s: s[0] == f"image {best[1]}")

    # split: the second split has three faces
    _changes(browser, lambda: _choose(browser, "split", "test"), "the split",
             lambda s: s[1].endswith("of 3"))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000

    # upload through the page's file input: a real photo shows the detector box
    photos = sorted((config.SHARED_DATA / "youtube-faces" / "test").glob("*.jpg"))
    if photos and not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5: said clearly
        photo, expect = photos[0], "no face detector available"
    elif photos:
        photo, expect = photos[0], "face at"
    else:  # no shared data: a blank image, which must be refused
        photo, expect = tmp_path / "blank.png", "no face"
        cv2.imwrite(str(photo), np.full((120, 120), 128, np.uint8))
    browser.execute_script(REVEAL_FILE_INPUT)
    browser.find_element(By.CSS_SELECTOR, ".lm-inspector .lm-upload-button").click()
    browser.find_element(By.CSS_SELECTOR, "input.lm-file-input").send_keys(str(photo))
    _wait(browser, lambda d: expect in _text(d, ".lm-upload-info"),
          f"the upload of {photo.name} showed no '{expect}'")
    if expect == "face at":  # the whole photo with the box, beside the crop
        shown = browser.find_element(By.CSS_SELECTOR, ".lm-inspector img.lm-upload-picture")
        assert shown.is_displayed() and shown.size["width"] > 2 * shown.size["height"] * 0.6
