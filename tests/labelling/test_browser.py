"""The labelling page in a real headless Chromium, against a real server process.

Needs selenium (the ``test`` extra) and Chromium with its driver; skipped with the reason
otherwise (see tests/report/test_browser.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from tests.report.test_browser import BINARY, DRIVER, MISSING

from deepshadows.labelling import LabelFile

pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BINARY
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _serve(store, model_dir, labels):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "deepshadows",
        "label",
        str(store),
        "--model",
        str(model_dir),
        "--out",
        str(labels),
        "--port",
        "0",
        "--no-browser",
        "--mc-samples",
        "3",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def _wait(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _counter(browser):
    return browser.find_element("id", "counter").text


def _key(browser, key):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()


def test_label_by_keys_undo_reload_and_restart(browser, store, model_dir, tmp_path):
    from selenium.webdriver.common.keys import Keys

    labels = tmp_path / "labels.csv"
    proc, url = _serve(store, model_dir, labels)
    try:
        browser.get(url)
        _wait(lambda: "remaining" in _counter(browser))
        tiles = browser.find_elements("css selector", ".tile")
        assert len(tiles) == 24
        _wait(lambda: browser.execute_script("return document.querySelector('.tile img').naturalWidth") == 64)
        first = tiles[0].get_attribute("data-id")
        _key(browser, "l")
        _wait(lambda: _counter(browser).startswith("1 labelled / 39"))
        _key(browser, Keys.ARROW_RIGHT)
        second = browser.find_element("css selector", ".tile.selected").get_attribute("data-id")
        _key(browser, "a")
        _wait(lambda: _counter(browser).startswith("2 labelled"))
        _key(browser, "u")
        _wait(lambda: _counter(browser).startswith("1 labelled"))
        assert LabelFile(labels).labels() == {first: "lsbg"}
        browser.refresh()
        _wait(lambda: _counter(browser).startswith("1 labelled / 39"))
        assert first not in [
            t.get_attribute("data-id") for t in browser.find_elements("css selector", ".tile")
        ]
        _key(browser, "s")
        _wait(lambda: "(1 skipped)" in _counter(browser))
    finally:
        proc.kill()  # mid-session, no clean shutdown
        proc.wait()
        proc.stdout.close()
    assert second not in LabelFile(labels).labels()
    proc, url = _serve(store, model_dir, labels)
    try:
        browser.get(url)
        _wait(lambda: _counter(browser).startswith("1 labelled / 38 remaining (1 skipped)"))
        tiles = browser.find_elements("css selector", ".tile")
        tiles[2].click()
        _wait(lambda: browser.execute_script("return document.getElementById('detail').open"))
        _wait(
            lambda: browser.execute_script("return document.getElementById('detail-cam').naturalWidth") == 64
        )
        assert "p(LSBG)" in browser.find_element("id", "detail-text").text
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
