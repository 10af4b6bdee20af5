"""The progress page in a real headless Chromium, with six weeks of seeded UI-PRMD sessions.

Starts ``streamlit run app.py`` on a SQLite data folder seeded by ``seed_progress_world``, logs
in as the trainer through the login form, opens Progress from the sidebar and saves a screenshot
(``out/progress_page.png``, or under $PHYSIO_BROWSER_ARTIFACTS). Debian packages: chromium,
chromium-driver.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import SEED_PASSWORDS, seed_progress_world

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _needs_browser() -> None:
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not Path(tool).exists():
            reason = f"{tool} is missing (apt-get install -y chromium chromium-driver)"
            if os.environ.get("CI"):
                pytest.fail(reason + "; the browser test must run in CI")
            pytest.skip(reason)


def test_progress_page_in_headless_chromium(tmp_path):
    _needs_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines, init_db
    from scripts.screenshot_upload import free_port, log_in, make_driver, start_streamlit, wait_http

    data = tmp_path / "data"
    url = f"sqlite:///{data / 'physiotrack.db'}"
    seed_progress_world(init_db(url))
    dispose_engines(url)

    artifacts = Path(os.environ.get("PHYSIO_BROWSER_ARTIFACTS", ROOT / "out"))
    artifacts.mkdir(parents=True, exist_ok=True)
    png = artifacts / "progress_page.png"
    port = free_port()
    server = start_streamlit(port, data, tmp_path / "streamlit.log")
    driver = None
    try:
        wait_http(port, timeout_s=120)
        driver = make_driver(1500, 3400)
        wait = WebDriverWait(driver, 240)
        driver.get(f"http://127.0.0.1:{port}/")

        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])

        nav = wait.until(EC.element_to_be_clickable(
            (By.CSS_SELECTOR, "a[data-testid='stSidebarNavLink'][href$='/progress']")))
        assert "Carla Coach" in driver.find_element(By.CSS_SELECTOR, "section[data-testid='stSidebar']").text
        nav.click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= 6)
        time.sleep(2.0)  # let Plotly finish its transitions

        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")]
        metrics = {}
        for m in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stMetric']"):
            label, _, value = m.text.partition("\n")
            metrics[label.strip()] = value.strip().splitlines()[0]
        charts = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
        legend_text = " ".join(c.text for c in charts)
        driver.save_screenshot(str(png))
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=10)
        except Exception:
            server.kill()
        if os.environ.get("PHYSIO_BROWSER_ARTIFACTS"):
            shutil.copy(tmp_path / "streamlit.log", artifacts / "progress_streamlit.log")

    assert errors == []
    assert metrics["Sessions"] == "9" and metrics["Reps"] == "24" and metrics["Active weeks"] == "6"
    assert len(charts) == 6  # sessions, reps, scores, mix, ROM, asymmetry
    assert "target Knee angle (R)" in legend_text and "Stability" in legend_text
    assert png.stat().st_size > 50_000
