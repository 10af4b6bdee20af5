"""The live page end to end in a real headless Chromium with a fake camera.

The camera is a y4m clip of a real person (tests/browser/clip.py). The test starts the real app
(``streamlit run app.py``) on an empty SQLite data folder, opens the live page, clicks the
camera component's START, then checks from the server side (the ``PHYSIO_LIVE_STATS_FILE`` the
LiveSession writes) that frames were processed with a person found, reads the pixels of the
video the browser gets back to see the skeleton overlay, checks that the page said the reps
counted aloud (**Say reps aloud**, ticked before START: what it handed the browser's speech is
in ``window.__physioSaid``), clicks STOP and finds the stored session with its pose series in
the database.

WebRTC between headless Chromium and the server only connects inside a private network
namespace, so the test re-runs itself under
``unshare -n sh -c 'ip link set lo up; ip addr add 127.0.0.2/8 dev lo; ...'``
(root, or a user namespace, is needed). Debian packages: chromium, chromium-driver.
Run it alone with:  .venv/bin/python -m pytest tests/browser -q
Screenshots and logs of the last run are left in $PHYSIO_BROWSER_ARTIFACTS (default:
a temporary folder printed on failure).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_NETNS = "PHYSIO_BROWSER_IN_NETNS"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NETNS_SETUP = "ip link set lo up && ip addr add 127.0.0.2/8 dev lo"


def _missing_tools() -> str | None:
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not Path(tool).exists():
            return f"{tool} is missing (apt-get install -y chromium chromium-driver)"
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare / ip are missing (util-linux, iproute2)"
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; the browser test must run in CI")
    pytest.skip(reason)


# ------------------------------------------------------------------ outer: re-run in a netns


@pytest.mark.skipif(os.environ.get(IN_NETNS) == "1", reason="runs the inner test instead")
def test_live_page_in_headless_chromium(tmp_path):
    """Re-runs the inner test under ``unshare -n`` and reports its result."""
    reason = _missing_tools()
    if reason:
        _skip_or_fail(reason)
    probe = subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP], capture_output=True,
                           text=True)
    if probe.returncode != 0:
        _skip_or_fail(f"cannot create a network namespace: {probe.stderr.strip()}")
    artifacts = Path(os.environ.get("PHYSIO_BROWSER_ARTIFACTS") or tmp_path / "artifacts")
    env = os.environ | {IN_NETNS: "1", "PHYSIO_BROWSER_ARTIFACTS": str(artifacts)}
    inner = (f"{NETNS_SETUP} && exec {sys.executable} -m pytest -q -x -p no:cacheprovider "
             f"{Path(__file__)}::test_live_session_over_webrtc")
    proc = subprocess.run(["unshare", "-n", "sh", "-c", inner], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    print(proc.stdout[-20000:])
    print(proc.stderr[-5000:], file=sys.stderr)
    assert proc.returncode == 0, (
        f"the browser test failed (rc {proc.returncode}); artifacts in {artifacts}\n"
        + proc.stdout[-4000:]
    )
    assert re.search(r"^1 passed", proc.stdout, re.M), proc.stdout[-2000:]


# ------------------------------------------------------------------ inner: the real test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(pred, what: str, limit_s: float, proc: subprocess.Popen | None = None):
    end = time.monotonic() + limit_s
    while True:
        value = pred()
        if value is not None and value is not False:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the app exited (rc {proc.returncode}) while waiting for {what}")
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {limit_s:.0f} s")
        time.sleep(0.25)


def _read_stats(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _colour_share(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 40) -> float:
    return float((np.abs(img[..., :3].astype(int) - rgb).max(axis=2) <= tol).mean())


# draws the component's <video> on a canvas and returns it as a PNG data URL (null if no
# picture yet)
_GRAB_JS = """
const v = document.querySelector('video');
if (!v || v.readyState < 2 || !v.videoWidth) return null;
const c = document.createElement('canvas');
c.width = v.videoWidth; c.height = v.videoHeight;
c.getContext('2d').drawImage(v, 0, 0);
return c.toDataURL('image/png');
"""


def _png_to_rgb(data_url: str) -> np.ndarray:
    import cv2

    raw = base64.b64decode(data_url.split(",", 1)[1])
    bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    return bgr[..., ::-1]


@pytest.mark.skipif(os.environ.get(IN_NETNS) != "1", reason="runs inside the network namespace")
def test_live_session_over_webrtc(tmp_path):
    import cv2
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        NoSuchElementException,
        NoSuchFrameException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from physio_core.overlay import LEFT_RGB, RIGHT_RGB
    from physio_core.store import SessionStatus, create_user, get_session_detail, init_db
    from tests.browser.clip import make_clip

    artifacts = Path(os.environ.get("PHYSIO_BROWSER_ARTIFACTS") or tmp_path / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    clip, clip_frames = make_clip(tmp_path / "person.y4m", max_frames=150)
    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'physiotrack.db'}"
    data_dir.mkdir()
    engine = init_db(db_url)
    athlete = create_user(engine, None, "Browser Athlete")  # the sidebar picks the first one
    # the app's login gate: an admin (who sees every athlete) logs in first
    admin_login = ("admin@physio.test", "browser-admin-password")
    create_user(engine, admin_login[0], "Admin", "admin", admin_login[1])
    stats_file = tmp_path / "live_stats.json"

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PHYSIO_DATABASE_URL")}
    env |= {"PHYSIO_DATA_DIR": str(data_dir), "PHYSIO_LIVE_STATS_FILE": str(stats_file),
            "PHYSIO_ICE_SERVERS": "[]", "PYTHONUNBUFFERED": "1"}
    app_log = (artifacts / "streamlit.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         f"--server.port={port}", "--server.address=127.0.0.1", "--server.headless=true",
         "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, env=env, stdout=app_log, stderr=subprocess.STDOUT,
    )
    driver = None
    try:
        def healthy() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        _wait(healthy, "the app to listen", 120, app)

        os.environ["SE_AVOID_STATS"] = "true"
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-video-capture={clip}",
                    "--allow-loopback-in-peer-connection", "--window-size=1400,1500",
                    "--disable-dev-shm-usage"):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console, for failures
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        driver.set_page_load_timeout(120)
        # open the live page's own address (a bookmark) before logging in: the login form shows
        # there, and logging in lands on the live page itself. (The very first visit of a fresh
        # server is the app's main page: until app.py has run once, Streamlit takes the pages/
        # folder for an old-style multipage app and answers /live with "Page not found".)
        driver.get(f"http://127.0.0.1:{port}/")
        _wait(lambda: bool(driver.find_elements(By.CSS_SELECTOR, "input[aria-label='E-mail']")),
              "the app's first page", 180, app)
        driver.get(f"http://127.0.0.1:{port}/live")

        def logged_in() -> bool:
            # the login form, filled in one go (retried while Streamlit re-renders it)
            try:
                for label, text in (("E-mail", admin_login[0]), ("Password", admin_login[1])):
                    box = driver.find_element(By.CSS_SELECTOR, f"input[aria-label='{label}']")
                    box.clear()
                    box.send_keys(text)
                driver.find_element(By.CSS_SELECTOR, "[data-testid='stFormSubmitButton'] button").click()
            except (NoSuchElementException, StaleElementReferenceException,
                    ElementNotInteractableException):  # still being drawn
                return False
            return True

        _wait(logged_in, "the login form", 180, app)

        def clicked(find) -> bool:
            # Streamlit re-renders while it loads / connects: find and click in one go, retrying
            try:
                element = find()
                if element is None:
                    return False
                element.click()
                return True
            except (StaleElementReferenceException, ElementClickInterceptedException):
                return False

        def on_live_page() -> bool:
            titles = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h1")]
            current = driver.find_elements(
                By.CSS_SELECTOR, "[data-testid=stSidebarNav] a[aria-current='page']")
            return "Live session" in titles and any("Live session" in a.text for a in current)

        _wait(on_live_page, "the live page after logging in", 180, app)

        def component_frame():
            frames = driver.find_elements(By.CSS_SELECTOR, "iframe[title*='webrtc']")
            return frames[0] if frames else None

        _wait(component_frame, "the camera component", 180, app)

        def enter_component() -> None:
            driver.switch_to.default_content()
            driver.switch_to.frame(component_frame())

        def button(label: str):
            try:
                enter_component()
                found = [b for b in driver.find_elements(By.TAG_NAME, "button")
                         if b.text.strip().upper() == label and b.is_enabled()]
            except (StaleElementReferenceException, NoSuchFrameException):
                return None
            return found[0] if found else None

        # the rep count said aloud: ticked before START, as a coach would
        def tick_say() -> bool:
            # a pointer on the box's words (a plain element click on the label leaves it unticked)
            driver.switch_to.default_content()
            try:
                found = [c for c in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stCheckbox'] label")
                         if c.text.strip() == "Say reps aloud"]
                if not found:
                    return False
                ActionChains(driver).move_to_element(
                    found[0].find_element(By.CSS_SELECTOR, "[data-testid='stWidgetLabel']")).click().perform()
            except (StaleElementReferenceException, NoSuchElementException):  # still being drawn
                return False
            return True

        _wait(tick_say, "the Say reps aloud box", 60, app)
        _wait(lambda: driver.find_element(By.CSS_SELECTOR, "input[aria-label='Say reps aloud']").is_selected(),
              "Say reps aloud ticked", 30, app)
        _wait(lambda: clicked(lambda: button("START")), "the START button", 120, app)

        # server side: frames processed, a person found
        stats = _wait(
            lambda: (s := _read_stats(stats_file)).get("frames_with_person", 0) >= 15 and s,
            "processed frames with a person", 240, app)
        assert stats["frames_processed"] >= 15 and stats["error"] is None
        assert stats["backend"] == "mediapipe" and stats["state"] == "running"

        # client side: the video that comes back shows the skeleton
        grabs: list[str] = []  # what each look at the returned video saw, for a failure message
        last_grab: list[np.ndarray] = []

        def grab_with_overlay():
            try:
                enter_component()
                url = driver.execute_script(_GRAB_JS)
            except (StaleElementReferenceException, NoSuchFrameException):
                return None
            s = _read_stats(stats_file)
            server = (f"server: {s.get('frames_processed')} processed, "
                      f"{s.get('frames_with_person')} with a person, "
                      f"person_in_view={s.get('person_in_view')}, fps={s.get('fps')}")
            if not url:
                grabs.append(f"no picture yet; {server}")
                return None
            img = _png_to_rgb(url)
            last_grab[:] = [img]
            share = _colour_share(img, RIGHT_RGB) + _colour_share(img, LEFT_RGB)
            grabs.append(f"{img.shape[1]}x{img.shape[0]} overlay share {share:.2e}; {server}")
            return img if share > 5e-4 else None

        try:
            shown = _wait(grab_with_overlay, "the overlay in the returned video", 120, app)
        except AssertionError as exc:
            if last_grab:
                cv2.imwrite(str(artifacts / "last_returned_frame.png"), last_grab[0][..., ::-1])
            seen = grabs[:5] + ["..."] + grabs[-10:] if len(grabs) > 15 else grabs
            raise AssertionError(f"{exc}; {len(grabs)} looks:\n" + "\n".join(seen)) from None
        driver.switch_to.default_content()

        # under the video, the person's 3D skeleton as it is now, drawn by the page (WebGL); the
        # page refreshes it, and it stays there ("3D pose now: nobody in view" for a moment lost)
        def pose_views() -> list[str]:
            return driver.execute_script("""
                return [...document.querySelectorAll('.js-plotly-plot')]
                  .filter(p => p.querySelector('.gl-container canvas') !== null)
                  .map(p => (p.querySelector('.gtitle') || {}).textContent || '');""")

        _wait(lambda: "3D pose now" in pose_views(), "the live 3D pose view of the person", 60, app)
        time.sleep(2.0)
        # still there after its refreshes (a loaded machine may catch one mid-draw: look again)
        _wait(lambda: any(t.startswith("3D pose now") for t in pose_views()), "the 3D pose view kept", 10, app)
        driver.save_screenshot(str(artifacts / "live_page.png"))
        cv2.imwrite(str(artifacts / "returned_frame.png"), shown[..., ::-1])
        # the browser's encoder may scale the picture down (CPU / bandwidth), never reshape it
        assert shown.shape[1] * 3 == shown.shape[0] * 4
        baseline = max(_colour_share(f, RIGHT_RGB) + _colour_share(f, LEFT_RGB)
                       for f in clip_frames)
        share = _colour_share(shown, RIGHT_RGB) + _colour_share(shown, LEFT_RGB)
        assert share > 5e-4 and share > 10 * baseline, (share, baseline)
        # both sides of the body are drawn
        assert _colour_share(shown, RIGHT_RGB) > 1e-4 and _colour_share(shown, LEFT_RGB) > 1e-4

        # each rep counted is said by the page, in the browser's voice
        counted = _wait(lambda: (s := _read_stats(stats_file)).get("rep_count", 0) >= 1 and s,
                        "a rep counted", 120, app)

        def said() -> list | None:
            driver.switch_to.default_content()
            return driver.execute_script("return window.__physioSaid || null")

        def numbers(spoken: list) -> list[int]:
            return [int(u["text"].split(".")[0]) for u in spoken if u["text"].split(".")[0].isdigit()]

        spoken = _wait(lambda: (s := said()) and numbers(s) and s, "the rep count said aloud", 30, app)
        assert 1 <= numbers(spoken)[0] <= counted["rep_count"], spoken
        # the count said keeps up with the server's: it reaches the count the server has now (not
        # equality at one instant: on auto the count can also fall when the counter moves to
        # another angle, and a fall is not said)
        server_now = _read_stats(stats_file).get("rep_count", 0)
        spoken = _wait(lambda: (s := said()) and numbers(s)[-1] >= server_now and s,
                       f"the count said to reach the server's {server_now}", 60, app)
        assert all(u.get("spoken") and not u.get("error") for u in spoken), spoken
        assert len({u["key"] for u in spoken}) == len(spoken)
        print("said aloud:", [u["text"] for u in said()])
        driver.save_screenshot(str(artifacts / "live_page_said.png"))

        # STOP: the session is stored with its pose series
        _wait(lambda: clicked(lambda: button("STOP")), "the STOP button", 60, app)
        driver.switch_to.default_content()
        final = _wait(lambda: (s := _read_stats(stats_file)).get("stored_session_id") and s,
                      "the stored session", 180, app)
        sid = final["stored_session_id"]
        assert final["state"] == "stopped" and final["frames_processed"] >= stats["frames_processed"]
        detail = get_session_detail(engine, sid)
        assert detail is not None and detail.session.status == SessionStatus.ENDED
        assert detail.session.athlete_id == athlete.id and detail.session.source == "live"
        assert detail.pose is not None and len(detail.pose) == final["frames_processed"]
        assert detail.session.frames_with_person == int(detail.pose.valid.sum()) >= 15
        assert detail.angles is not None and len(detail.angles.times) == len(detail.pose)
        # the page links to the stored session
        _wait(lambda: f"Session #{sid} saved" in driver.find_element(By.TAG_NAME, "body").text,
              "the saved message", 60, app)
        driver.save_screenshot(str(artifacts / "live_page_stopped.png"))
        assert not (data_dir / "videos").exists()  # no raw video without "Record video"

        # how the set felt, asked under the saved session while the athlete is there
        def attempt(action) -> bool:
            try:
                action()
                return True
            except (StaleElementReferenceException, ElementClickInterceptedException,
                    ElementNotInteractableException, NoSuchElementException):
                return False

        def pick(label: str, option: str) -> None:
            driver.find_element(By.CSS_SELECTOR, f"input[aria-label='{label}']").click()
            time.sleep(0.5)
            driver.find_element(By.XPATH, f"//*[@role='option'][normalize-space()='{option}']").click()

        for label, option in (("Pain during the set", "3 · mild"), ("Effort", "6 · hard")):
            _wait(lambda: attempt(lambda: pick(label, option)), f"{label}: {option}", 30, app)
        _wait(lambda: attempt(lambda: driver.find_element(
            By.XPATH, "//button[normalize-space()='Save how it felt']").click()), "Save how it felt", 30, app)
        _wait(lambda: f"Saved how session #{sid} felt: pain 3/10 (mild), effort 6/10 (hard)."
              in driver.find_element(By.TAG_NAME, "body").text, "the felt message", 60, app)
        felt_row = get_session_detail(engine, sid).session
        assert (felt_row.pain, felt_row.effort) == (3, 6)
    except BaseException:
        if driver is not None:
            try:  # the component logs its peer connection's states: "disconnected" ends a stream
                console = [str(e.get("message")) for e in driver.get_log("browser")]
                (artifacts / "console.txt").write_text("\n".join(console))
                print("WebRTC connection states:",
                      [m.rsplit(" ", 1)[-1] for m in console if "connectionstatechange" in m])
            except Exception:
                pass
            try:
                driver.switch_to.default_content()
                driver.save_screenshot(str(artifacts / "failure.png"))
            except Exception:
                pass
        raise
    finally:
        if driver is not None:
            driver.quit()
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
        app_log.close()
