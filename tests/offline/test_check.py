"""natlab check without a lab: expected verdicts written and read back, what a run
has not or cannot show failing, in the text and in JUnit."""
import subprocess
import xml.etree.ElementTree as ET

from labkit import NATLAB, off_schedule, records_run, reference_run, so_at_skew0


def test_write_makes_a_new_folder_of_expected_verdicts_and_check_reads_it(tmp_path):
    # before: --write into a folder that did not exist failed with ENOENT
    run = reference_run(tmp_path, 300)
    exp = tmp_path / "expected"
    r = subprocess.run([NATLAB, "check", str(run), "--write", "--expected", str(exp)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    written = sorted(p.name for p in exp.iterdir())
    assert written and all(n.endswith(".csv") for n in written), written
    r = subprocess.run([NATLAB, "check", str(run), "--expected", str(exp)], capture_output=True, text=True)
    assert r.returncode == 0 and "as expected" in r.stderr, r.stderr
    # one level only: a missing parent is an error that names the folder
    deep = tmp_path / "no" / "such"
    r = subprocess.run([NATLAB, "check", str(run), "--write", "--expected", str(deep)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip() == f"natlab: cannot make {deep}: No such file or directory"


def sub(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


def check(*args):
    return subprocess.run([NATLAB, "check", *map(str, args)], capture_output=True, text=True)


def test_expected_cells_the_run_has_not_fail_in_the_text_and_in_junit(tmp_path):
    # before: a run cut short listed them, and its JUnit file left them out: green in CI
    full = reference_run(tmp_path, 300)
    exp = tmp_path / "expected"
    assert check(full, "--write", "--expected", exp).returncode == 0
    cut = reference_run(sub(tmp_path, "cut"), 150)
    junit = tmp_path / "j.xml"
    r = check(cut, "--expected", exp, "--junit", junit)
    assert r.returncode == 1
    missing = [line for line in r.stdout.splitlines() if line.endswith("not in the run")]
    assert missing
    assert f", and {len(missing)} expected cells are not in the run" in r.stderr, r.stderr
    root = ET.parse(junit).getroot()
    failures = [tc for tc in root.iter("testcase") if tc.find("failure") is not None]
    assert int(root.get("failures")) == len(failures) >= len(missing)
    assert sum("not in the run" in tc.find("failure").get("message") for tc in failures) == len(missing)


def test_a_folder_of_expected_verdicts_named_and_not_there_is_an_error(tmp_path):
    # before: a typo fell back to the behaviour model and passed
    run = reference_run(tmp_path, 50)
    r = check(run, "--expected", tmp_path / "expcted")
    assert r.returncode == 2 and r.stderr.startswith(f"natlab: {tmp_path}/expcted: No such file or directory"), \
        r.stderr


def test_runs_with_no_cell_in_common_are_not_a_pass(tmp_path):
    # before: "0 of 0 cells differ", exit 0
    a = reference_run(sub(tmp_path, "a"), keep=lambda line: "suite/sweeps.ini" in line)
    b = reference_run(sub(tmp_path, "b"), keep=lambda line: "suite/matrix.ini" in line)
    r = check(a, "--against", b)
    assert r.returncode == 1 and "no cell in common" in r.stderr, r.stderr


def test_against_the_model_an_unjudged_cell_is_skipped_and_an_unmeasured_one_fails(tmp_path):
    # before: both were passing testcases, so CI went green on no data
    recs = so_at_skew0()[:40]
    for r in recs:
        r["scenario"] = "mine.ini"  # no expected verdicts: held to the model
    pairs = sorted({(r["profiles"]["a"], r["profiles"]["b"]) for r in recs})
    for r in recs:
        if (r["profiles"]["a"], r["profiles"]["b"]) == pairs[0]:
            r["predicted"], r["agrees"] = "unknown", None
    off_schedule(recs, *pairs[1])
    run = records_run(tmp_path, recs)
    junit = tmp_path / "j.xml"
    r = check(run, "--expected", tmp_path, "--junit", junit)
    assert r.returncode == 1, r.stderr
    assert "unmeasured: none of its" in r.stdout, r.stdout
    cases = {tc.get("name"): tc for tc in ET.parse(junit).getroot().iter("testcase")}
    a0, b0 = pairs[0]
    a1, b1 = pairs[1]
    assert cases[f"RTT 20 ms skew 0 ms {a0} × {b0}"].find("skipped") is not None
    assert cases[f"RTT 20 ms skew 0 ms {a1} × {b1}"].find("failure") is not None


def test_write_leaves_out_a_cell_with_no_attempt_on_schedule(tmp_path):
    # before: it wrote "unmeasured" as the verdict to expect, and a later run with no
    # data in that cell passed
    recs = so_at_skew0()[:20]
    a, b = recs[0]["profiles"]["a"], recs[0]["profiles"]["b"]
    off_schedule(recs, a, b)
    run = records_run(tmp_path, recs)
    exp = tmp_path / "exp"
    r = check(run, "--write", "--expected", exp)
    assert r.returncode == 0 and f"{a} × {b}: unmeasured (no attempt on schedule), not written" in r.stderr, r.stderr
    rows = "".join(p.read_text() for p in exp.iterdir())
    assert f",{a},{b}," not in rows and "unmeasured" not in rows
