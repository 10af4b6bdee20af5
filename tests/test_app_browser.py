"""The app in a real headless Chromium, on a SQLite data folder seeded by ``seed_progress_world``
(six weeks of UI-PRMD sessions): the progress page, and a login that survives reloading the page.

Each test starts ``streamlit run app.py`` and logs in through the login form. The progress test
saves a screenshot (``out/progress_page.png``, or under $PHYSIO_BROWSER_ARTIFACTS). Debian
packages: chromium, chromium-driver.
"""

from __future__ import annotations

import os
import shutil
import time
import zipfile
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


def _seeded_data(tmp_path: Path) -> tuple[Path, str, dict[str, int]]:
    """A SQLite data folder holding ``seed_progress_world``: (folder, database URL, its ids)."""
    from physio_core.store import dispose_engines, init_db

    data = tmp_path / "data"
    url = f"sqlite:///{data / 'physiotrack.db'}"
    ids = seed_progress_world(init_db(url))
    dispose_engines(url)
    return data, url, ids


def test_progress_page_in_headless_chromium(tmp_path):
    _needs_browser()
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines, init_db, list_sessions
    from scripts.screenshot_upload import app_in_chromium, download_exports, log_in

    data, url, ids = _seeded_data(tmp_path)
    first = min(r.id for r in list_sessions(init_db(url), athlete_id=ids["athlete"]))
    dispose_engines(url)
    artifacts = Path(os.environ.get("PHYSIO_BROWSER_ARTIFACTS", ROOT / "out"))
    artifacts.mkdir(parents=True, exist_ok=True)
    png = artifacts / "progress_page.png"
    try:
        with app_in_chromium(data, tmp_path / "streamlit.log", 1500, 3400, http_timeout_s=120) as (driver, base):
            wait = WebDriverWait(driver, 240)
            driver.get(f"{base}/")

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
            # everything about the athlete in one file, made when clicked
            archive = download_exports(driver, wait, tmp_path / "downloads", ["All data (ZIP)"])["All data (ZIP)"]

            # a session's number in the session table opens its page, in a new tab
            table = driver.find_element(
                By.XPATH, "//h3[contains(., 'Sessions')][not(contains(., 'per week'))]"
                          "/following::div[@data-testid='stDataFrame'][1]")
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", table)
            time.sleep(1.0)
            box = table.rect  # the first column, left-aligned numbers; a 35 px header, then 35 px rows
            # here, with nine rows, the grid opened the link on the third click (with eleven, on the
            # first): a click that opens nothing is tried again, twice
            for _ in range(3):
                ActionChains(driver).move_to_element_with_offset(
                    table, 20 - box["width"] / 2, 35 + 17 - box["height"] / 2).pause(0.5).click().perform()
                try:
                    WebDriverWait(driver, 5).until(lambda d: len(d.window_handles) == 2)
                    break
                except TimeoutException:
                    continue
            tabs = len(driver.window_handles)
            opened = opened_url = ""
            if tabs == 2:
                driver.switch_to.window(driver.window_handles[-1])
                heading = (By.XPATH, "//h3[starts-with(normalize-space(.), '#')]")
                opened = wait.until(EC.presence_of_element_located(heading)).text
                opened_url = driver.current_url
    finally:
        if os.environ.get("PHYSIO_BROWSER_ARTIFACTS"):
            shutil.copy(tmp_path / "streamlit.log", artifacts / "progress_streamlit.log")

    assert errors == []
    assert metrics["Sessions"] == "9" and metrics["Reps"] == "24" and metrics["Active weeks"] == "6"
    assert len(charts) == 6  # sessions, reps, scores, mix, ROM, asymmetry
    assert "target Knee angle (R)" in legend_text and "Stability" in legend_text
    assert png.stat().st_size > 50_000
    with zipfile.ZipFile(archive) as z:
        assert archive.name.startswith(f"physiotrack_{ids['athlete']}_") and z.testzip() is None
        assert len(z.read("sessions.csv").decode().splitlines()) == 1 + 9
        assert f"session_{first}/{first}_report.html" in z.namelist()
    # the table lists the oldest session first: the athlete's first deep squat visit
    assert tabs == 2
    assert opened_url.endswith(f"/session_detail?id={first}") and opened.startswith(f"#{first} · Ana Lopez")


def test_login_survives_a_reload_and_log_out_ends_it(tmp_path):
    _needs_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.auth import logout_everywhere
    from physio_core.store import dispose_engines, init_db
    from scripts.screenshot_upload import app_in_chromium, log_in

    data, url, ids = _seeded_data(tmp_path)
    login_form = (By.CSS_SELECTOR, "input[aria-label='E-mail']")
    sidebar = (By.CSS_SELECTOR, "section[data-testid='stSidebar']")
    try:
        with app_in_chromium(data, tmp_path / "streamlit.log", 1400, 1000, http_timeout_s=120) as (driver, base):
            wait = WebDriverWait(driver, 120)

            def signed_in_as(name: str) -> bool:
                return name in driver.find_element(*sidebar).text

            # a bookmarked /login (the gate's default page, which Streamlit moves to the root
            # address) shows the form, and logging in there lands on the user's first page
            driver.get(f"{base}/login")
            wait.until(EC.presence_of_element_located(login_form))
            login_not_found = driver.find_elements(By.XPATH, "//*[contains(text(), 'Page not found')]")
            log_in(driver, wait, "ana@clinic.org", SEED_PASSWORDS["athlete"])
            wait.until(lambda d: signed_in_as("Ana Lopez"))
            wait.until(EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'Progress')]")))
            login_lands_not_found = driver.find_elements(By.XPATH, "//*[contains(text(), 'Page not found')]")
            cookie = driver.get_cookie("physiotrack_login")
            # the athlete's landing page (their progress) opens from its own address too
            # (Streamlit answers "Page not found" for the address of its default page)
            driver.get(f"{base}/progress")
            wait.until(lambda d: signed_in_as("Ana Lopez"))
            wait.until(EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'Progress')]")))
            time.sleep(1.0)
            landing_not_found = driver.find_elements(By.XPATH, "//*[contains(text(), 'Page not found')]")

            # a reload (here of a deep link) opens a new Streamlit session: the cookie logs it in
            driver.get(f"{base}/sessions")
            wait.until(EC.presence_of_element_located(sidebar))
            wait.until(lambda d: signed_in_as("Ana Lopez"))
            after_reload_url = driver.current_url

            driver.find_element(By.XPATH, "//section[@data-testid='stSidebar']//button[.//p[text()='Log out']]").click()
            wait.until(EC.presence_of_element_located(login_form))
            wait.until(lambda d: d.get_cookie("physiotrack_login") is None)
            driver.refresh()
            wait.until(EC.presence_of_element_located(login_form))
            time.sleep(2.0)  # nothing may log the user back in after the form shows
            logged_out_stays = not driver.find_elements(*sidebar)

            # a login ended elsewhere ("log out on every device") is refused on the next reload
            log_in(driver, wait, "ana@clinic.org", SEED_PASSWORDS["athlete"])  # waits for the cookie
            assert logout_everywhere(init_db(url), ids["athlete"]) == 1
            driver.refresh()
            notice = wait.until(EC.presence_of_element_located(
                (By.XPATH, "//*[contains(text(), 'Your session has expired')]"))).text
            wait.until(lambda d: d.get_cookie("physiotrack_login") is None)
    finally:
        dispose_engines(url)

    assert cookie is not None and cookie["sameSite"] == "Strict" and not cookie.get("secure")
    assert after_reload_url.endswith("/sessions")
    assert not login_not_found and not login_lands_not_found
    assert not landing_not_found
    assert logged_out_stays
    assert "log in again" in notice


def test_the_sidebar_shows_and_keeps_an_athlete_the_app_picks(tmp_path):
    """A new athlete is picked by the app (as an import's athlete is), not in the sidebar's select
    box. The box the browser showed kept its own choice: the page was the new athlete's under the
    old one's name, and the next page the old one's again (the box sent its choice back)."""
    _needs_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines
    from scripts.screenshot_upload import app_in_chromium, log_in

    data, url, ids = _seeded_data(tmp_path)
    dispose_engines(url)
    picker = (By.CSS_SELECTOR, "section[data-testid='stSidebar'] [data-testid='stSelectbox'] input")
    heading = "//h1[contains(., 'Progress')]"

    def athlete_shown(driver) -> str:  # the progress page's "Athlete: NAME" line
        return driver.find_element(By.XPATH, "//*[contains(text(), 'Athlete:')]/..").text

    with app_in_chromium(data, tmp_path / "streamlit.log", 1400, 1000, http_timeout_s=120) as (driver, base):
        wait = WebDriverWait(driver, 120)
        driver.get(base)
        log_in(driver, wait, "admin@clinic.org", SEED_PASSWORDS["admin"])
        driver.get(f"{base}/progress")
        wait.until(EC.presence_of_element_located((By.XPATH, heading)))
        wait.until(lambda d: d.find_element(*picker).get_attribute("value") == "Ana Lopez")
        driver.find_element(By.CSS_SELECTOR, "input[aria-label='New athlete']").send_keys("Zed Newcomer")
        driver.find_element(By.XPATH, "//section[@data-testid='stSidebar']//button[.//p[text()='Add athlete']]").click()
        wait.until(lambda d: "Zed Newcomer" in athlete_shown(d))
        time.sleep(1.0)  # the sidebar's last redraw
        picked = driver.find_element(*picker).get_attribute("value")
        # the next click anywhere: another page, then back
        driver.find_element(By.CSS_SELECTOR, "a[data-testid='stSidebarNavLink'][href$='/sessions']").click()
        wait.until(EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'Sessions')]")))
        driver.find_element(By.CSS_SELECTOR, "a[data-testid='stSidebarNavLink'][href$='/progress']").click()
        wait.until(EC.presence_of_element_located((By.XPATH, heading)))
        time.sleep(2.0)
        after = athlete_shown(driver)
        picked_after = driver.find_element(*picker).get_attribute("value")
    assert picked == "Zed Newcomer"
    assert "Zed Newcomer" in after and picked_after == "Zed Newcomer", (after, picked_after)


@pytest.mark.parametrize("address, title", [("imu", "Sensor set (IMU)"), ("live", "Live session")])
def test_a_bookmark_is_the_first_request_after_the_server_starts(tmp_path, address, title):
    """On the first request after it starts, Streamlit looks the address up among the files of
    ``pages/`` before app.py builds the navigation: an address that named no file there (/imu
    was pages/imu_set.py) got a "Page not found" dialog over the login form."""
    _needs_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from scripts.screenshot_upload import app_in_chromium, log_in

    data, _, _ = _seeded_data(tmp_path)
    not_found = (By.XPATH, "//*[contains(text(), 'Page not found')]")
    with app_in_chromium(data, tmp_path / "streamlit.log", 1400, 1000, http_timeout_s=120) as (driver, base):
        wait = WebDriverWait(driver, 120)
        driver.get(f"{base}/{address}")
        wait.until(EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'PhysioTrack')]")))
        time.sleep(2.0)  # the dialog, if any, comes with the first run
        dialog_before_login = driver.find_elements(*not_found)
        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        heading = wait.until(EC.presence_of_element_located((By.XPATH, f"//h1[contains(., '{title}')]"))).text
        landed = driver.current_url

    assert not dialog_before_login
    assert heading == title and landed.endswith(f"/{address}")


def test_a_click_on_a_row_of_the_rep_table_replays_that_rep(tmp_path, assessed_squat_result):
    """The session page's rep table picks the rep that the 3D view replays against its
    correction: a click on a row's box shows that rep; the picker under the table still picks
    one, and then no row stays marked."""
    _needs_browser()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines, init_db, save_session_result
    from scripts.screenshot_upload import app_in_chromium, log_in

    data, url, ids = _seeded_data(tmp_path)
    result = assessed_squat_result
    sid = save_session_result(init_db(url), result, ids["athlete"], ids["trainer"])
    dispose_engines(url)
    verdicts = {a["rep"]: a["mistake"] for a in result.rep_assessments}
    first_wrong = next(r for r, m in verdicts.items() if m == "incorrect")
    row = next(k for k, r in enumerate(result.reps) if verdicts[r.index] == "correct")
    last = result.reps[-1].index

    with app_in_chromium(data, tmp_path / "streamlit.log", 1400, 1400, http_timeout_s=120) as (driver, base):
        wait = WebDriverWait(driver, 120)

        def replayed() -> str:
            titles = driver.execute_script(
                "return Array.from(document.querySelectorAll('.js-plotly-plot .gtitle'), t => t.textContent)")
            return next((t for t in titles if t.startswith("Rep #")), "")

        def replays(k: int) -> bool:  # "Rep #4: you …", or "Rep #4 (correct): you …"
            return replayed().startswith((f"Rep #{k}:", f"Rep #{k} ("))

        def clear_selection_buttons() -> int:
            return len(driver.find_elements(By.CSS_SELECTOR, "button[aria-label='Clear selection']"))

        driver.get(f"{base}/")
        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        driver.get(f"{base}/session_detail?id={sid}")
        wait.until(lambda d: replays(first_wrong))
        table = driver.find_element(
            By.XPATH, "//h3[contains(., 'Repetitions')]/following::div[@data-testid='stDataFrame'][1]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", table)
        time.sleep(1.0)
        # the row's selection box: the grid's first column; a 35 px header, then 35 px rows
        box = table.rect
        ActionChains(driver).move_to_element_with_offset(
            table, 17 - box["width"] / 2, 35 + 35 * row + 17 - box["height"] / 2).click().perform()
        wait.until(lambda d: replays(result.reps[row].index))
        marked_after_click = clear_selection_buttons()

        picker = driver.find_element(By.CSS_SELECTOR, "input[aria-label='Rep to inspect']")
        picker.click()
        wait.until(EC.element_to_be_clickable(
            (By.XPATH, f"//*[@role='option'][contains(., '#{last} ·')]"))).click()
        wait.until(lambda d: replays(last))
        time.sleep(1.0)
        marked_after_picker = clear_selection_buttons()
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")]

    assert result.reps[row].index != first_wrong  # the click changed what the view replays
    assert marked_after_click == 1 and marked_after_picker == 0
    assert errors == []


# every metric tile's label and value elements whose text is wider than their box (Streamlit cuts
# such text with an ellipsis)
_CUT_TILES_JS = """
return Array.from(document.querySelectorAll('[data-testid="stMetric"]')).flatMap(tile =>
    Array.from(tile.querySelectorAll('[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *'))
        .filter(e => e.children.length === 0 && e.scrollWidth > e.clientWidth + 1)
        .map(e => e.textContent));
"""


# the rep replay's parts, each as its box on the page [left, top, right, bottom]
_REPLAY_BOXES_JS = """
const p = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(p => (p.querySelector('.gtitle')?.textContent || '').startsWith('Rep #'));
if (!p) return null;
const box = s => { const b = p.querySelector(s).getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
return {buttons: box('.updatemenu-container'), slider: box('.slider-container'), legend: box('.legend'),
        title: box('.gtitle'), toolbar: box('.modebar')};
"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_no_metric_tile_is_cut_at_tablet_width(tmp_path, assessed_squat_result):
    """At 1024 px with the sidebar open (a tablet held sideways) the session page's tiles wrap onto
    another line instead of cutting their labels and values ("Stabi…", "uiprm…"), as do the
    progress page's. The rep replay, in a column 300 px wide, keeps its Play buttons off its
    slider and its legend, and its tool bar off its title."""
    _needs_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines, init_db, save_session_result
    from scripts.screenshot_upload import app_in_chromium, log_in

    data, url, ids = _seeded_data(tmp_path)
    sid = save_session_result(init_db(url), assessed_squat_result, ids["athlete"], ids["trainer"])
    dispose_engines(url)
    with app_in_chromium(data, tmp_path / "streamlit.log", 1024, 1400, http_timeout_s=120) as (driver, base):
        wait = WebDriverWait(driver, 120)
        driver.get(f"{base}/")
        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        seen = {}
        for page, tiles in ((f"session_detail?id={sid}", 9), ("progress", 5)):
            driver.get(f"{base}/{page}")
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stMetric']")) >= tiles)
            time.sleep(1.0)  # the fonts' and the layout's last pass
            width = driver.execute_script("return document.querySelector('[data-testid=\"stMain\"]').clientWidth")
            seen[page] = driver.execute_script(_CUT_TILES_JS)
            if page.startswith("session_detail"):
                replay = wait.until(lambda d: d.execute_script(_REPLAY_BOXES_JS))
    assert width < 800  # the sidebar is open: the page is narrow
    assert seen == {f"session_detail?id={sid}": [], "progress": []}
    clashes = [(a, b) for a, b in (("buttons", "slider"), ("buttons", "legend"), ("title", "toolbar"))
               if _overlap(replay[a], replay[b])]
    assert clashes == [], replay


def test_times_are_shown_on_the_viewers_clock(tmp_path):
    """A browser in Tokyo sees a session filmed at 09:00 UTC at 18:00, says so where a time is
    typed in, and the date it types in is stored as Tokyo's; the printable report it downloads
    tells Tokyo's time too."""
    _needs_browser()
    from datetime import UTC, datetime

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from physio_core.store import dispose_engines, get_session_detail, init_db, list_sessions
    from scripts.screenshot_upload import app_in_chromium, download_exports, log_in

    data, url, ids = _seeded_data(tmp_path)
    first = min(list_sessions(init_db(url), athlete_id=ids["athlete"]), key=lambda r: r.id)
    dispose_engines(url)
    assert first.started_at == datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    with app_in_chromium(data, tmp_path / "streamlit.log", 1400, 2400, http_timeout_s=120) as (driver, base):
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
        wait = WebDriverWait(driver, 240)
        driver.get(f"{base}/")
        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        driver.get(f"{base}/session_detail?id={first.id}")
        caption = wait.until(EC.presence_of_element_located(
            (By.XPATH, "//*[@data-testid='stCaptionContainer'][contains(., ' · source ')]"))).text
        label = wait.until(EC.presence_of_element_located(
            (By.XPATH, "//label[contains(., 'at (')]"))).text
        # type a new time in and save it: 07:30 in Tokyo is 22:30 UTC the day before
        box = driver.find_element(By.XPATH, "//label[contains(., 'at (')]/following::input[1]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        box.click()
        box.send_keys("07:30\n")
        time.sleep(1.0)
        driver.find_element(By.XPATH, "//button[contains(., 'Save date')]").click()
        wait.until(EC.presence_of_element_located((By.XPATH, "//*[contains(., 'is now dated 2026-09-07 07:30')]")))
        report = download_exports(driver, wait, tmp_path / "downloads", ["Printable report (HTML)"])
    assert caption.startswith("2026-09-07 18:00 · source"), caption
    page = report["Printable report (HTML)"].read_text()
    assert "<p class='meta'>2026-09-07 07:30 (Asia/Tokyo) · exercise:" in page
    assert label == "at (Asia/Tokyo)"
    moved = get_session_detail(init_db(url), first.id).session
    dispose_engines(url)
    assert moved.started_at == datetime(2026, 9, 6, 22, 30, tzinfo=UTC)


def test_the_printable_reports_fit_a_phone(tmp_path, assessed_squat_result):
    """An athlete opens their session's and their progress report on a phone (390 px, as a
    phone's browser lays out a page): the page is the phone's width, its text is not shrunk to
    fit a desktop's 980 px, every chart is drawn as wide as the column, and a table too wide
    for the screen scrolls on its own."""
    _needs_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from physio_core import exports
    from physio_core.store import dispose_engines, init_db, progress_for_athlete

    data, url, ids = _seeded_data(tmp_path)
    engine = init_db(url)
    rows = progress_for_athlete(engine, ids["athlete"])
    reports = {
        "session": exports.html_report(assessed_squat_result, title="Deep squat · Ana Lopez"),
        "progress": exports.progress_report_html(rows, athlete="Ana Lopez", rom_exercise="deep_squat",
                                                 angles=["knee_angle_r", "knee_angle_l"]),
    }
    assert len(rows) > 1
    dispose_engines(url)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(flag)
    opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {
        "width": 390, "height": 844, "pixelRatio": 1.0, "mobile": True, "touch": True}})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        for name, html in reports.items():
            page = tmp_path / f"{name}.html"
            page.write_bytes(html)
            driver.get(page.as_uri())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not driver.execute_script(
                    "return document.querySelectorAll('.js-plotly-plot .main-svg').length > 0"):
                time.sleep(0.2)
            time.sleep(1.0)  # the charts are drawn one after the other
            width, scroll = driver.execute_script(
                "return [window.innerWidth, document.documentElement.scrollWidth]")
            assert (width, scroll) == (390, 390), name  # a desktop page zoomed out reads 980
            charts = driver.execute_script("""
                return [...document.querySelectorAll('.js-plotly-plot')].map(d => {
                  const col = d.closest('.chart').getBoundingClientRect();
                  const svg = d.querySelector('.main-svg').getBoundingClientRect();
                  return [Math.round(svg.width), Math.round(col.width)]; });""")
            assert len(charts) >= 2, name
            for drawn, column in charts:
                assert column <= 360 and abs(drawn - column) <= 2, (name, charts)
            tables = driver.execute_script("""
                return [...document.querySelectorAll('table')].map(t => [
                  t.parentElement.className, Math.round(t.parentElement.getBoundingClientRect().right)]);""")
            assert tables and all(cls == "scroll" and right <= 390 for cls, right in tables), (name, tables)
            # a text cell (a rep's reason) keeps a few words a line: the table scrolls rather than
            # squeezing it to a word a line
            lines = driver.execute_script("""
                return [...document.querySelectorAll('td.l')].map(td => {
                  const r = document.createRange(); r.selectNodeContents(td);
                  return new Set([...r.getClientRects()].map(q => Math.round(q.top))).size; });""")
            assert lines and max(lines) <= 3, (name, lines)
    finally:
        driver.quit()


def test_an_angle_chip_shows_its_whole_name(tmp_path):
    """A shoulder abduction's page picks "Shoulder abduction (R)" among its angles. Streamlit cut
    a chip at 128 px, so that it and "(L)" both read "Shoulder abductio…": every chip of the page
    now shows its name whole, at a tablet's width and at a phone's."""
    _needs_browser()
    from selenium.webdriver.support.ui import WebDriverWait

    from conftest import uiprmd_set
    from physio_core.pipeline import finish_sequence
    from physio_core.store import dispose_engines, init_db, save_session_result
    from scripts.screenshot_upload import app_in_chromium, log_in

    data, url, ids = _seeded_data(tmp_path)
    seq, _, _ = uiprmd_set([("standing_shoulder_abduction", 5, True)] * 3)
    result = finish_sequence(seq, backend="uiprmd-kinect", exercise="standing_shoulder_abduction",
                             source="upload:abduction.mp4", smooth=False)
    sid = save_session_result(init_db(url), result, ids["athlete"], ids["trainer"])
    dispose_engines(url)
    chips_js = """return [...document.querySelectorAll("[data-baseweb='tag'] > span[title]")].map(
        s => [s.getAttribute('title'), s.scrollWidth, s.clientWidth]);"""
    seen = {}
    with app_in_chromium(data, tmp_path / "streamlit.log", 1024, 1400, http_timeout_s=120) as (driver, base):
        wait = WebDriverWait(driver, 120)
        driver.get(f"{base}/")
        log_in(driver, wait, "coach@clinic.org", SEED_PASSWORDS["trainer"])
        for width in (1024, 500):  # 500: the narrowest window headless Chromium draws
            driver.set_window_size(width, 1400)
            driver.get(f"{base}/session_detail?id={sid}")
            wait.until(lambda d: any(t == "Shoulder abduction (R)" for t, *_ in d.execute_script(chips_js)))
            time.sleep(1.0)  # the fonts' and the layout's last pass
            seen[width] = driver.execute_script(chips_js)
    for width, chips in seen.items():
        cut = [title for title, whole, shown in chips if whole > shown]
        assert chips and not cut, (width, chips)


def test_the_printed_report_draws_each_correction_flat(tmp_path, assessed_squat_result):
    """Printed (the page's print media in Chromium), the session report leaves off the 3D
    replays, which print blank (WebGL) and whose Play button means nothing on paper, and shows
    each rep judged incorrect from the front and the side, drawn in SVG: the athlete's red bones
    and the correction's green ones."""
    _needs_browser()
    from physio_core import exports
    from scripts.screenshot_upload import make_driver

    page = tmp_path / "report.html"
    page.write_bytes(exports.html_report(assessed_squat_result, title="Deep squat · Ana Lopez"))
    shown = min(exports.MAX_CORRECTIONS_SHOWN,
                sum(a["mistake"] == "incorrect" for a in assessed_squat_result.rep_assessments))
    views_js = """
        const views = [...document.querySelectorAll('.corrections .chart')];
        return views.map(v => {
          const replay = v.querySelector('.noprint');
          const flat = [...v.querySelectorAll(':scope > div:not(.noprint) .js-plotly-plot')];
          const strokes = flat.flatMap(d => [...d.querySelectorAll('.scatterlayer path.js-line')])
                              .filter(p => p.getBoundingClientRect().width > 0)
                              .map(p => getComputedStyle(p).stroke);
          return [replay.getBoundingClientRect().height, flat.length, strokes];
        });"""
    driver = make_driver(1280, 1400)
    try:
        driver.get(page.as_uri())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not driver.execute_script(
                "return document.querySelectorAll('.corrections .scatterlayer path.js-line').length > 0"):
            time.sleep(0.2)
        time.sleep(1.0)
        on_screen = driver.execute_script(views_js)
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        time.sleep(0.5)
        printed = driver.execute_script(views_js)
    finally:
        driver.quit()
    assert len(on_screen) == len(printed) == shown > 0
    assert all(replay > 100 for replay, _, _ in on_screen)  # the replay is there on screen
    for replay, flat, strokes in printed:
        assert replay == 0 and flat == 1, printed  # on paper, only the flat views
        assert {"rgb(231, 76, 60)", "rgb(39, 174, 96)"} <= set(strokes), strokes  # athlete red, correction green
