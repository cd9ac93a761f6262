"""natlab check without a lab: expected verdicts written and read back."""
import subprocess

from labkit import NATLAB, reference_run


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
