"""`python -m physio_core.evaluate` on a small real folder laid out like UI-PRMD."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
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


# ------------------------------------------------------------ bad input: one line, exit 2, before the long work

BENCH_SET = "A-bench-heavy_MetaWear_2019-01-14T14.22.49.165_C42732BE255C"
REST_SET = "A-rest-sitting_MetaWear_2019-01-18T18.22.25.565_C42732BE255C"


def _imu_subset(dst: Path, *stems: str) -> Path:
    """A folder holding copies of the real MetaMotion file pairs of the sets ``stems``."""
    dst.mkdir(parents=True)
    for stem in stems:
        for sensor in ("Accelerometer_12.500Hz", "Gyroscope_25.000Hz"):
            name = f"{stem}_{sensor}_1.4.4.csv"
            (dst / name).write_bytes((IMU / name).read_bytes())
    return dst


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_json_path_that_cannot_be_written_is_refused_first(tmp_path, capsys):
    # each is said before anything else is checked or run (the UI-PRMD folder here does not even exist)
    nope = str(tmp_path / "nope")
    folder = tmp_path / "a folder"
    folder.mkdir()
    assert main(["--ui-prmd", nope, "--json", str(folder)]) == 2
    assert "is a folder" in _one_line_error(capsys.readouterr().err)
    a_file = tmp_path / "a file"
    a_file.write_text("kept")
    assert main(["--ui-prmd", nope, "--json", str(a_file / "figs.json")]) == 2
    assert f"{a_file} is a file, not a folder" in _one_line_error(capsys.readouterr().err)
    assert main(["--ui-prmd", nope, "--json", str(a_file / "sub" / "figs.json")]) == 2
    assert f"{a_file} is a file, not a folder" in _one_line_error(capsys.readouterr().err)
    # a writable path passes the check untouched: an existing file keeps its content, missing
    # parent folders are made, and no empty file is left behind when a later check fails
    assert main(["--ui-prmd", nope, "--json", str(a_file)]) == 2
    assert "UI-PRMD folder not found" in capsys.readouterr().err and a_file.read_text() == "kept"
    new = tmp_path / "new" / "sub" / "figs.json"
    assert main(["--ui-prmd", nope, "--json", str(new)]) == 2
    assert "UI-PRMD folder not found" in capsys.readouterr().err
    assert new.parent.is_dir() and not new.exists()


def test_json_in_a_read_only_folder_is_refused_first(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    cmd = [sys.executable, "-m", "physio_core.evaluate", "--ui-prmd", str(tmp_path / "nope"),
           "--json", str(ro / "figs.json")]
    if os.geteuid() == 0:  # root writes into read-only folders unless it gives up the capability to
        drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
        if not shutil.which("setpriv") or subprocess.run([*drop, "true"]).returncode != 0:
            pytest.skip("running as root, and setpriv cannot drop the capability to override permissions")
        cmd = drop + cmd
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    finally:
        ro.chmod(0o755)
    assert r.returncode == 2
    assert "cannot write --json" in _one_line_error(r.stderr) and "Permission denied" in r.stderr


def _bad_uiprmd(dst: Path, fault: str) -> tuple[Path, str]:
    """Two real rep pairs of subject 3, the positions file of the first made bad in one way."""
    folder = _uiprmd_subset(dst, "m01_s03_e0[12]_*")
    bad = folder / "kinect" / "correct" / "positions" / "m01_s03_e01_positions.txt.gz"
    data = gzip.decompress(bad.read_bytes())
    bad.unlink()
    if fault == "text line":
        lines = data.splitlines(keepends=True)
        bad.write_bytes(gzip.compress(b"".join(lines[:5] + [b"frame dropped here\n"] + lines[5:])))
    elif fault == "column count":
        lines = data.decode().splitlines()
        bad.write_bytes(gzip.compress("\n".join(ln.rsplit(",", 3)[0] for ln in lines).encode()))
    elif fault == "fewer frames than its angles":
        bad.write_bytes(gzip.compress(b"".join(data.splitlines(keepends=True)[:-5])))
    else:  # a download cut short
        packed = gzip.compress(data)
        bad.write_bytes(packed[: len(packed) // 2])
    return folder, bad.name


@pytest.mark.parametrize("fault", ["text line", "column count", "fewer frames than its angles", "truncated gz"])
def test_a_malformed_rep_file_is_named(tmp_path, capsys, fault):
    folder, name = _bad_uiprmd(tmp_path / "ui", fault)
    assert main(["--ui-prmd", str(folder)]) == 2
    assert name in _one_line_error(capsys.readouterr().err)


@pytest.mark.skipif(not IMU.is_dir(), reason=f"IMU data not found at {IMU}")
@pytest.mark.parametrize("sets, moving_row", [((BENCH_SET,), False), ((REST_SET,), False),
                                               ((BENCH_SET, REST_SET), True)],
                         ids=["no rest recording", "only rest", "both"])
def test_imu_folder_without_rest_or_lifting_sets(tmp_path, capsys, sets, moving_row):
    # the edge figures need a lifting set, "moving" a rest recording too: a figure that cannot be
    # made is left out of the table, as other absent figures are
    folder = _imu_subset(tmp_path / "imu", *sets)
    out = tmp_path / "figs.json"
    assert main(["--imu", str(folder), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    lifting = BENCH_SET in sets
    assert ("IMU: sets counted within +-1" in printed) == lifting
    assert ("6 s held still before and after" in printed) == lifting
    assert ("6 s moving about before and after" in printed) == moving_row
    figs = json.loads(out.read_text())
    assert ("imu_edges_moving_within1" in figs) == moving_row
    assert ("imu_rep_within1" in figs) == lifting


def _bad_imu(dst: Path, fault: str) -> tuple[Path, str]:
    """Copies of two real MetaMotion sets, one file made bad in one way."""
    folder = _imu_subset(dst, BENCH_SET, REST_SET)
    sensor = "Gyroscope_25.000Hz" if fault == "gyroscope text" else "Accelerometer_12.500Hz"
    bad = folder / f"{BENCH_SET}_{sensor}_1.4.4.csv"
    lines = bad.read_text().splitlines(keepends=True)
    if fault == "missing column":
        bad.write_text("".join(ln.rsplit(",", 1)[0] + "\n" for ln in lines))
    else:
        bad.write_text("".join(lines[:5] + ["1547472170151,2019-01-14T14:22:50.151,0.400,-0.1,abc,-0.3\n"] + lines[5:]))
    return folder, bad.name


@pytest.mark.skipif(not IMU.is_dir(), reason=f"IMU data not found at {IMU}")
@pytest.mark.parametrize("fault", ["accelerometer text", "missing column", "gyroscope text"])
def test_a_malformed_imu_file_is_named_before_the_uiprmd_part(tmp_path, capsys, fault):
    folder, name = _bad_imu(tmp_path / "imu", fault)
    # a UI-PRMD folder with no rep files: the IMU files must be read before it is even listed
    ui = tmp_path / "ui"
    ui.mkdir()
    assert main(["--ui-prmd", str(ui), "--imu", str(folder)]) == 2
    assert name in _one_line_error(capsys.readouterr().err)
    # IMU only, the same
    assert main(["--imu", str(folder)]) == 2
    assert name in _one_line_error(capsys.readouterr().err)


def test_cv_subjects_must_be_numbers(tmp_path):
    ui = _uiprmd_subset(tmp_path / "ui", "m01_s03_e01_*")
    r = subprocess.run(
        [sys.executable, "-m", "physio_core.evaluate", "--cv", "--ui-prmd", str(ui), "--subjects", "abc"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("usage: ") and "argument --subjects: " in r.stderr and "'abc'" in r.stderr
    # without --cv they were ignored without a word
    r = subprocess.run([sys.executable, "-m", "physio_core.evaluate", "--ui-prmd", str(ui), "--subjects", "3"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--subjects picks the subjects --cv holds out" in r.stderr


def test_cv_subjects_must_be_in_the_data(tmp_path, capsys):
    ui = _uiprmd_subset(tmp_path / "ui", "m01_s0[34]_e01_*")
    assert main(["--cv", "--ui-prmd", str(ui), "--subjects", "3,12"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "12" in line and "3, 4" in line


def test_a_folder_too_narrow_to_evaluate_or_train_on_is_said_first(tmp_path, capsys):
    """Reps of one movement hung for ever (the 'no exercise' samples blend two movements, and the
    second was looked for among reps of the first); --cv on one subject trained on nobody."""
    one_movement = _uiprmd_subset(tmp_path / "m01", "m01_s0[34]_e01_*")
    assert main(["--ui-prmd", str(one_movement)]) == 2
    assert "one movement only" in _one_line_error(capsys.readouterr().err)
    assert train_main(["--ui-prmd", str(one_movement), "--out", str(tmp_path / "w")]) == 2
    assert "one movement only" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "w").exists()
    one_subject = _uiprmd_subset(tmp_path / "s03", "m0[12]_s03_e01_*")
    assert main(["--cv", "--ui-prmd", str(one_subject)]) == 2
    assert "one subject only" in _one_line_error(capsys.readouterr().err)
    from physio_core.ml.data import load_uiprmd, other_samples

    with pytest.raises(ValueError, match="at least two movements"):
        other_samples(load_uiprmd(one_movement), np.random.default_rng(0), 4)


def test_train_names_a_malformed_rep_file(tmp_path, capsys):
    folder, name = _bad_uiprmd(tmp_path / "ui", "text line")
    assert train_main(["--ui-prmd", str(folder), "--out", str(tmp_path / "w")]) == 2
    assert name in _one_line_error(capsys.readouterr().err)


@pytest.mark.skipif(not IMU.is_dir(), reason=f"IMU data not found at {IMU}")
def test_imu_cv_on_one_participant_is_said_first(tmp_path, capsys):
    folder = _imu_subset(tmp_path / "imu", BENCH_SET, REST_SET)  # both participant A's
    ui = tmp_path / "ui"
    ui.mkdir()
    assert main(["--cv", "--ui-prmd", str(ui), "--imu", str(folder)]) == 2
    assert "one participant" in _one_line_error(capsys.readouterr().err)
