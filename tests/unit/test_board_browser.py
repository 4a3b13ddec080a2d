"""The refill board in a real headless browser: Debian's chromium driven by its chromedriver through
Selenium (nothing is downloaded at run time).  `pumpsync board` runs as the nurse starts it, on a free
localhost port; the test loads the board, sorts it, opens a unit, and keeps screenshots in
build/test-artefacts/board/ (ignored by git).  Skipped, with the reason, without chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import board_data
from pumpsync import board, due_list
from pumpsync.history import History

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1500,1000")
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts" / "board"

pytestmark = pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
                                reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
                                       "chromium-driver, or make setup)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    db = tmp_path / "history.sqlite"
    history = History(db)
    labels = board_data.fill(history)
    history.close()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "pumpsync", "board", "--db", str(db), "--listen",
                               f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"pumpsync board did not start: {server.communicate()}")
            time.sleep(0.2)
    yield url, db, labels, server
    if server.poll() is None:
        server.terminate()
        server.communicate(timeout=20)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTEFACTS / name
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1500, max(700, height + 200))  # the whole page: headless windows include a frame
    driver.save_screenshot(str(target))
    return target


def test_load_sort_and_open_a_unit_in_a_real_browser(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, db, labels, server = served
    history = History(db)
    rows = due_list.board_rows(history, int(time.time()))
    expected = [r.unit_id for r in rows]
    empty = {r.unit_id for r in rows if r.empty}
    history.close()

    browser.get(url)
    assert browser.title == "Refill board"
    units = lambda: [tr.get_attribute("data-unit") for tr in browser.find_elements(By.CSS_SELECTOR, "#board tbody tr")]  # noqa: E731
    assert units() == expected  # the soonest due first
    overdue = browser.find_elements(By.CSS_SELECTOR, "#board tr.overdue")
    assert [tr.get_attribute("data-unit") for tr in overdue] == ["feedfacecafe"]
    cell = overdue[0].find_element(By.CSS_SELECTOR, "td")
    # it stands out: red, and darker red when the reservoir is forecast empty (the near-empty example, today)
    red = "rgba(248, 180, 176, 1)" if "feedfacecafe" in empty else "rgba(253, 226, 225, 1)"
    assert cell.value_of_css_property("background-color") == red
    late = browser.find_elements(By.CSS_SELECTOR, "#board tr.late")
    assert "77aa00bb11cc" in [tr.get_attribute("data-unit") for tr in late]
    assert "Bed 4 - A. Meyer" in browser.page_source and "Europe/Berlin" in browser.page_source
    shots = [_shot(browser, "board.png")]

    browser.find_element(By.ID, "sort-label").click()
    assert browser.current_url.endswith("/?sort=label")
    assert [labels[u] for u in units()] == sorted(labels.values(), key=str.casefold)
    shots.append(_shot(browser, "board-by-patient.png"))

    browser.find_element(By.CSS_SELECTOR, 'tr[data-unit="a1b2c3d4e5f6"] td.label a').click()
    assert browser.current_url == url + "unit/a1b2c3d4e5f6"
    assert "Bed 4 - A. Meyer" in browser.find_element(By.TAG_NAME, "h1").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")) >= 3
    plot = browser.find_element(By.ID, "plot")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", plot) > 500
    shots.append(_shot(browser, "unit.png"))

    for shot in shots:  # kept with this test's files too
        assert shot.stat().st_size > 10_000
        shutil.copy(shot, tmp_path / shot.name)
    server.terminate()
    out, err = server.communicate(timeout=20)
    for label in labels.values():  # no patient data in the server's output
        assert label not in out + err
    assert "Traceback" not in err
