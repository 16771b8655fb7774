"""The inspector in a real browser: Voila serves a small widget notebook on
127.0.0.1, headless Chromium (driven by Selenium) opens it, moves the slider
with the keyboard, and checks that the picture and the error text change.

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

# The notebook Voila runs: eight synthetic faces, two fake models.
NOTEBOOK_CODE = """
import numpy as np, pandas as pd
import landmarklib as lm
from landmarklib import keypoints as kp

rng = np.random.default_rng(0)
n = 8
yy, xx = np.mgrid[0:96, 0:96]
images = np.stack([((xx * (i + 1) * 2 + yy * 3) % 256).astype(np.uint8) for i in range(n)])
keypoints = rng.uniform(15, 80, (n, 30)).astype(np.float32)
keypoints[:, :4] = (66, 38, 30, 38)
faces = lm.datasets.FaceSet(images, keypoints, pd.DataFrame({"source": ["synthetic"] * n}))
predictions = {"a": keypoints + rng.normal(0, 2, keypoints.shape).astype(np.float32),
               "b": keypoints + 3.0}
inspector = lm.widgets.Inspector(faces, predictions, recipes=[], title="browser test")
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


def _state(driver, attempts=20):
    """(index text, error table text, picture bytes) as the page shows them.

    A redraw replaces the elements; one read that races it is retried.
    """
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for attempt in range(attempts):
        try:
            index = driver.find_element(By.CSS_SELECTOR, ".lm-inspector .lm-index").text
            table = driver.find_element(By.CSS_SELECTOR, ".lm-inspector .lm-errors").text
            picture = driver.find_element(By.CSS_SELECTOR, ".lm-inspector img").screenshot_as_png
            return index, table, picture
        except StaleElementReferenceException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25)


def test_slider_changes_picture_and_errors(voila_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(voila_url)
    WebDriverWait(browser, PAGE_READY_S).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".lm-inspector .lm-errors")))
    before = _state(browser)
    assert before[0] == "image 0"
    handle = browser.find_element(By.CSS_SELECTOR, ".lm-inspector .widget-slider .noUi-handle")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    handle.send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(browser, CHANGE_S).until(lambda d: _state(d)[0] == "image 2")
    after = _state(browser)
    assert after[1] != before[1], "the error table did not change"
    assert after[2] != before[2], "the picture did not change"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
