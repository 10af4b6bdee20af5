"""Screenshot the upload report in a real headless Chromium.

    python scripts/screenshot_upload.py [--video tests/data/sports2d_demo.mp4] [--out out/upload.png] [--annotated] [--downloads DIR]

Starts the app (``streamlit run app.py``) on a free local port with an empty data folder,
adds an athlete, uploads the video through the page's file input, clicks Analyse, scrubs to a
frame, and saves a full-page PNG once the report is there. Needs Debian's ``chromium`` and
``chromium-driver`` (scripts/test.sh installs them). Prints the PNG path and what the page said.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT / "tests" / "data" / "sports2d_demo.mp4"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)


@dataclass
class ScreenshotResult:
    png: Path
    success_text: str = ""
    errors: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)
    image_captions: list[str] = field(default_factory=list)
    plotly_charts: int = 0
    # with annotated=True: what the browser's player says of the annotated video after playing it
    # for a while (readyState, duration, videoWidth, currentTime, error)
    annotated_video: dict[str, object] = field(default_factory=dict)
    # with downloads=DIR: the report's download buttons clicked, each file as saved in DIR
    downloads: dict[str, Path] = field(default_factory=dict)
    # where the frame image and the 3D pose view sit on the page: [left, top, right, bottom] (px)
    boxes: dict[str, list[float] | None] = field(default_factory=dict)


def step(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# the app has a login gate: the throw-away database gets this first admin from the environment
DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD = "admin@physio.test", "demo-admin-password"


def start_streamlit(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PHYSIO_DATA_DIR": str(data_dir),
           "PHYSIO_ADMIN_EMAIL": DEMO_ADMIN_EMAIL, "PHYSIO_ADMIN_PASSWORD": DEMO_ADMIN_PASSWORD}
    env.pop("DATABASE_URL", None)  # a throw-away SQLite database under data_dir
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         f"--server.port={port}", "--server.address=127.0.0.1", "--server.headless=true",
         "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def wait_http(port: int, timeout_s: float = 240) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer on port {port} within {timeout_s:.0f} s")


def make_driver(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_AVOID_STATS", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


@contextmanager
def app_in_chromium(data_dir: Path, log_path: Path, width: int, height: int, http_timeout_s: float = 240):
    """The app on a free local port over ``data_dir`` and a headless Chromium beside it: yields
    ``(driver, base_url)`` once the server answers; the browser quits and the server stops on
    the way out."""
    port = free_port()
    server = start_streamlit(port, data_dir, log_path)
    driver = None
    try:
        wait_http(port, http_timeout_s)
        driver = make_driver(width, height)
        yield driver, f"http://127.0.0.1:{port}"
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def log_in(driver, wait, email: str = DEMO_ADMIN_EMAIL, password: str = DEMO_ADMIN_PASSWORD) -> None:
    """Fill the login form of the page the driver shows and wait for the app's sidebar and its
    login cookie."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    # clickable, not only present: on a busy machine the form is in the page a moment before its
    # inputs take keys ("element not interactable")
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='E-mail']"))).send_keys(email)
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "input[aria-label='Password']"))).send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "[data-testid='stFormSubmitButton'] button").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "a[data-testid='stSidebarNavLink']")))
    # the login cookie is written by a script in the sidebar, which can come after the page's
    # links: a page load before it (the caller's next driver.get) would find the login form
    wait.until(lambda d: d.get_cookie("physiotrack_login") is not None)


def capture(video: Path, out: Path, *, frame: int = 25, width: int = 1400, height: int = 3000,
            timeout_s: float = 240, exercise: str | None = None,
            annotated: bool = False, downloads: Path | None = None) -> ScreenshotResult:
    """``exercise``: the Exercise box's option as the page shows it ("Deep squat"); None keeps
    "Detect automatically". ``annotated``: also make the annotated video and play it.
    ``downloads``: a folder; click the report's Angles / Summary / 3D joints downloads into it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    out.parent.mkdir(parents=True, exist_ok=True)
    with (tempfile.TemporaryDirectory(prefix="physio_shot_") as tmp,
          app_in_chromium(Path(tmp) / "data", Path(tmp) / "streamlit.log", width, height) as (driver, base)):
        try:
            step(f"streamlit up at {base}")
            # Streamlit re-renders elements on every rerun: retry on stale references
            wait = WebDriverWait(driver, timeout_s,
                                 ignored_exceptions=(StaleElementReferenceException,))
            driver.get(f"{base}/")
            log_in(driver, wait)  # an admin lands on Upload analysis
            step("logged in")

            # an athlete in the sidebar, so that the analysis is saved as a session
            sidebar = "section[data-testid='stSidebar']"
            add_button = (By.XPATH, "//section[@data-testid='stSidebar']//button[normalize-space()='Add athlete']")
            wait.until(EC.element_to_be_clickable(add_button))
            time.sleep(1.0)  # let the first run settle before typing
            name_box = driver.find_element(By.CSS_SELECTOR, f"{sidebar} [data-testid='stTextInput'] input")
            name_box.send_keys("Demo athlete")
            driver.find_element(*add_button).click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{sidebar} [data-testid='stSelectbox']"))
            step("athlete added")
            if exercise:
                # on a busy machine the page is still rerunning after the athlete was added
                box = wait.until(EC.presence_of_element_located(
                    (By.XPATH, "//div[@data-testid='stSelectbox'][.//p[normalize-space()='Exercise']]")))
                box.find_element(By.CSS_SELECTOR, "input").send_keys(exercise)
                wait.until(EC.element_to_be_clickable(
                    (By.XPATH, f"//*[@role='option'][normalize-space()='{exercise}']"))).click()
                picked = "//div[@data-testid='stSelectbox'][.//p[normalize-space()='Exercise']]"
                wait.until(lambda d: exercise in d.find_element(By.XPATH, picked).text
                           or exercise == d.find_element(By.XPATH, picked + "//input").get_attribute("value"))
                step(f"exercise: {exercise}")
            upload = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "input[type='file']")))
            upload.send_keys(str(video.resolve()))
            wait.until(EC.element_to_be_clickable(
                (By.XPATH, "//button[normalize-space()='Analyse']"))).click()
            step("analysing")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='stSlider']")
                       or d.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']"))

            result = ScreenshotResult(out)
            result.errors = [e.text for e in driver.find_elements(
                By.CSS_SELECTOR, "[data-testid='stAlertContentError']")]
            step(f"report shown (errors: {result.errors})")
            if not result.errors:
                # the slider is a visually hidden <input type=range>: focus it and use the keys
                slider = wait.until(EC.presence_of_element_located(
                    (By.CSS_SELECTOR, "[data-testid='stSlider'] input[type='range']")))
                driver.execute_script("arguments[0].focus();", slider)
                keys = ActionChains(driver)
                for _ in range(frame):
                    keys.send_keys(Keys.ARROW_RIGHT)
                keys.perform()
                wait.until(lambda d: any(
                    c.text.startswith(f"frame {frame} ")
                    for c in d.find_elements(By.CSS_SELECTOR, "[data-testid='stImageCaption']")))
                # the frame image itself has arrived (not only its caption)
                wait.until(lambda d: d.execute_script(
                    "const i = document.querySelector(\"[data-testid='stImage'] img\");"
                    "return i !== null && i.complete && i.naturalWidth > 0;"))
                # let Plotly finish drawing
                wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= 3)
                time.sleep(2.0)
            result.success_text = " ".join(e.text for e in driver.find_elements(
                By.CSS_SELECTOR, "[data-testid='stAlertContentSuccess']"))
            for m in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stMetric']"):
                label, _, value = m.text.partition("\n")
                result.metrics[label.strip()] = value.strip()
            result.image_captions = [c.text for c in driver.find_elements(
                By.CSS_SELECTOR, "[data-testid='stImageCaption']")]
            result.plotly_charts = len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot"))
            result.boxes = driver.execute_script(_BOXES_JS)
            if downloads is not None and not result.errors:
                result.downloads = download_exports(driver, wait, downloads)
            if annotated and not result.errors:
                result.annotated_video = _play_annotated(driver, wait)
            driver.save_screenshot(str(out))
            step(f"saved {out}")
            return result
        except Exception:  # what the page showed when it went wrong
            driver.save_screenshot(str(out.with_suffix(".error.png")))
            step(f"failed; page saved to {out.with_suffix('.error.png')}")
            raise


_BOXES_JS = """
const box = e => { if (!e) return null; const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
const pose = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(p => (p.querySelector('.gtitle')?.textContent || '').startsWith('3D pose'));
return {frame: box(document.querySelector("[data-testid='stImage'] img")), pose: box(pose)};
"""

DOWNLOADS = ("Angles (CSV)", "Summary (JSON)", "3D joints (CSV)", "Printable report (HTML)")


def download_exports(driver, wait, folder: Path, labels=None) -> dict[str, Path]:
    """Click each download button named in ``labels`` (default: the upload report's; their files
    are built on the click) and wait until Chromium has saved it in ``folder``. Returns {button
    label: saved file}."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    saved: dict[str, Path] = {}
    for label in labels or DOWNLOADS:
        before = set(folder.iterdir())
        button = wait.until(EC.element_to_be_clickable(
            (By.XPATH, f"//*[@data-testid='stDownloadButton']//button[.//p[normalize-space()='{label}']]")))
        driver.execute_script("arguments[0].scrollIntoView();", button)
        button.click()

        def arrived(_):
            new = [p for p in set(folder.iterdir()) - before if not p.name.endswith(".crdownload")]
            return new[0] if new else None

        saved[label] = wait.until(arrived)
        step(f"downloaded {label}: {saved[label].name} ({saved[label].stat().st_size} bytes)")
    return saved


def _play_annotated(driver, wait) -> dict[str, object]:
    """Click "Make the annotated video", wait for its player and play it (muted) for 1.5 s."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    make = wait.until(EC.element_to_be_clickable(
        (By.XPATH, "//button[.//p[normalize-space()='Make the annotated video']]")))
    driver.execute_script("arguments[0].scrollIntoView();", make)
    make.click()
    step("making the annotated video")
    wait.until(lambda d: d.find_elements(By.XPATH, "//button[.//p[normalize-space()='Annotated video (MP4)']]"))
    video = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "video")))
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].muted = true; arguments[0].play();", video)
    wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 3)
    time.sleep(1.5)
    keys = ("readyState", "duration", "videoWidth", "currentTime", "error")
    values = driver.execute_script("const v = arguments[0]; return [v.readyState, v.duration, v.videoWidth, "
                                   "v.currentTime, v.error && v.error.message];", video)
    step(f"annotated video played: {dict(zip(keys, values))}")
    return dict(zip(keys, values))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "upload_report.png")
    ap.add_argument("--frame", type=int, default=25, help="frame to scrub to before the shot")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=3000)
    ap.add_argument("--timeout", type=float, default=240, help="seconds to wait for each step")
    ap.add_argument("--exercise", help='pick this exercise as the page names it, e.g. "Deep squat"')
    ap.add_argument("--annotated", action="store_true", help="also make the annotated video and play it")
    ap.add_argument("--downloads", type=Path, help="also click the report's downloads, saving them here")
    args = ap.parse_args(argv)
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        print("error: needs Debian's chromium and chromium-driver "
              "(apt-get install -y chromium chromium-driver)", file=sys.stderr)
        return 2
    res = capture(args.video, args.out, frame=args.frame, width=args.width, height=args.height,
                  timeout_s=args.timeout, exercise=args.exercise, annotated=args.annotated,
                  downloads=args.downloads)
    print(res.png)
    print(f"success: {res.success_text!r}; errors: {res.errors}; metrics: {res.metrics}; "
          f"captions: {res.image_captions}; plotly charts: {res.plotly_charts}"
          + (f"; annotated video: {res.annotated_video}" if res.annotated_video else "")
          + (f"; downloads: {[str(p) for p in res.downloads.values()]}" if res.downloads else ""))
    return 0 if not res.errors else 1


if __name__ == "__main__":
    sys.exit(main())
