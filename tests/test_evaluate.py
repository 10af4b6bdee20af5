"""`python -m physio_core.evaluate` on a small real folder laid out like UI-PRMD."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from physio_core.evaluate import CONTRACT_KEYS, main
from physio_core.ml.weights import weights_fingerprint
from physio_core.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
UIPRMD = DATASETS / "ui-prmd"
IMU = DATASETS / "metamotion-imu"

pytestmark = pytest.mark.skipif(not UIPRMD.is_dir(), reason=f"UI-PRMD not found at {UIPRMD}")


def _uiprmd_subset(dst: Path, pattern: str) -> Path:
    """A folder laid out like UI-PRMD holding links to the real files that match ``pattern``
    (correct and incorrect, positions and angles)."""
    for kind in ("correct", "incorrect"):
        for part in ("positions", "angles"):
            out = dst / "kinect" / kind / part
            out.mkdir(parents=True)
            for f in sorted((UIPRMD / "kinect" / kind / part).glob(pattern)):
                (out / f.name).symlink_to(f)
    return dst


def _small_uiprmd(dst: Path) -> Path:
    """Subject 3, movements 1-3, episodes 1-4, correct and incorrect: 24 real file pairs."""
    return _uiprmd_subset(dst, "m0[1-3]_s03_e0[1-4]_*")


def test_evaluate_writes_contract_keys(tmp_path, capsys):
    folder = _small_uiprmd(tmp_path / "ui")
    out = tmp_path / "figs.json"
    args = ["--ui-prmd", str(folder), "--json", str(out)]
    if IMU.is_dir():
        args += ["--imu", str(IMU)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "movement accuracy" in printed and "shipped weights" in printed
    figs = json.loads(out.read_text())
    # the figures say which weights they score, as each assessed session does
    assert figs["models"] == weights_fingerprint(ROOT / "models") and f"weights {figs['models']}" in printed
    keys = CONTRACT_KEYS if IMU.is_dir() else tuple(k for k in CONTRACT_KEYS if not k.startswith("imu"))
    for k in keys:
        assert k in figs, k
        assert 0.0 <= figs[k] <= 1.0, (k, figs[k])
    # held-in subject, three movements: the classifier must get these right
    assert figs["movement_accuracy"] >= 0.9
    assert figs["rep_count_obo"] >= 0.8
    # the judge accepts its own training subject's correct reps: the reference figure (each
    # incorrect rep replaced by that subject's nearest correct rep) is near 1 held-in
    assert figs["corrected_reference"] >= 0.9
    assert "own nearest correct rep" in printed


def test_evaluate_refuses_a_missing_folder(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "physio_core.evaluate", "--ui-prmd", str(tmp_path / "nope")],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert r.returncode == 2
    assert "not found" in r.stderr


@pytest.mark.skipif(not IMU.is_dir(), reason=f"IMU data not found at {IMU}")
def test_evaluate_says_when_a_folder_holds_no_data(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    # a folder with no UI-PRMD files: one line naming the layout, no traceback
    assert main(["--ui-prmd", str(empty)]) == 2
    assert "no UI-PRMD files" in capsys.readouterr().err
    # a wrong IMU folder is refused before the UI-PRMD scoring starts, not minutes after it
    assert main(["--ui-prmd", str(UIPRMD), "--imu", str(empty)]) == 2
    err = capsys.readouterr()
    assert "no MetaMotion sets" in err.err and "movement accuracy" not in err.out
    # training says the same, before it loads anything for a misspelt model name
    assert train_main(["--ui-prmd", str(empty), "--out", str(tmp_path / "w")]) == 2
    assert "no UI-PRMD files" in capsys.readouterr().err
    assert train_main(["--ui-prmd", str(empty), "--only", "gnc", "--out", str(tmp_path / "w")]) == 2
    assert "unknown model(s) ['gnc']" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def _two_subjects(dst: Path) -> Path:
    """Subjects 3 and 4, movements 1-2, episodes 1-3, correct and incorrect: 24 real file pairs."""
    return _uiprmd_subset(dst, "m0[1-2]_s0[34]_e0[1-3]_*")


def test_cv_folds_in_parallel_give_the_same_figures(tmp_path):
    """--jobs 2 trains the two folds in two processes; pooled, they must match one at a time."""
    folder = _two_subjects(tmp_path / "ui")
    figs = {}
    for jobs in (1, 2):
        out = tmp_path / f"cv{jobs}.json"
        r = subprocess.run(
            [sys.executable, "-m", "physio_core.evaluate", "--cv", "--ui-prmd", str(folder),
             "--jobs", str(jobs), "--json", str(out)],
            cwd=ROOT, capture_output=True, text=True,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        assert "held out: s03, s04" in r.stdout
        figs[jobs] = json.loads(out.read_text())
        figs[jobs].pop("seconds")
    assert figs[1] == figs[2]
    assert 0.0 <= figs[2]["mistake_macro_accuracy"] <= 1.0


def test_the_readme_names_the_shipped_weights():
    """The README says which weights its figures and the shipped sessions' verdicts come from:
    retrained weights fail this until the README names them."""
    shipped = weights_fingerprint(ROOT / "models")
    assert shipped is not None and f"the shipped ones are `{shipped}`" in (ROOT / "README.md").read_text()
    # and what a session scored now stores: the rules' version too (a bumped SCORING_RULES fails
    # this until the README says what changed)
    from physio_core.ml.weights import SCORING_RULES, judged_by

    assert f"`{judged_by(shipped)}`: rules {SCORING_RULES}, since" in (ROOT / "README.md").read_text()
    # and the IMU card the lift classifier's, whose figures it quotes
    from physio_core.ml.weights import IMU_LIFT_FILE

    lift = weights_fingerprint(ROOT / "models", (IMU_LIFT_FILE,))
    assert lift is not None and f"fingerprint `{lift}`" in (ROOT / "models" / "imu.md").read_text()
