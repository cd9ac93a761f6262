"""The committed reference run: its report opens as Markdown with its SVGs, its
tables are what natlab report makes of its records, its verdicts are the expected."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

from labkit import NATLAB, ROOT

REF = os.path.join(ROOT, "results", "reference")


def links(markdown):
    return re.findall(r"\]\(([^)#]+)\)", markdown)


def test_reference_report_links_resolve_and_svgs_parse():
    for doc, base in ((os.path.join(REF, "report.md"), REF), (os.path.join(ROOT, "README.md"), ROOT)):
        text = open(doc).read()
        images = re.findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", text)
        if doc.endswith("report.md"):
            assert len(images) >= 6  # heatmaps, windows, distributions
        for target in links(text):
            if "://" in target or not (target.startswith("results/") or base == REF):
                continue
            assert os.path.exists(os.path.join(base, target)), (doc, target)
        for svg in images:
            root = ET.parse(os.path.join(base, svg)).getroot()
            assert root.tag == "{http://www.w3.org/2000/svg}svg", svg
            assert root.get("viewBox"), svg


def test_reference_tables_recompute_from_its_records(tmp_path):
    shutil.copy(os.path.join(REF, "attempts.jsonl"), tmp_path)
    # the run's precision (the windows' resolution) is in its meta.json
    shutil.copy(os.path.join(REF, "meta.json"), tmp_path)
    subprocess.run([NATLAB, "report", str(tmp_path)], check=True, capture_output=True)
    for name in sorted(os.listdir(REF)):
        if name.startswith("matrix-") or name == "windows.csv":
            assert open(tmp_path / name).read() == open(os.path.join(REF, name)).read(), name


def test_every_windows_csv_column_is_documented():
    # a column added to windows.csv without a word in docs/windows.md fails here
    with open(os.path.join(REF, "windows.csv")) as f:
        header = f.readline().strip().split(",")
    with open(os.path.join(ROOT, "docs", "windows.md")) as f:
        doc = f.read()
    # the names in the first cell of each row of the column table
    named = set()
    for line in doc[doc.index("## Columns"):].splitlines():
        if line.startswith("| `"):
            named.update(re.findall(r"`([a-z_0-9]+)`", line.split("|")[1]))
    missing = [c for c in header if c not in named]
    assert not missing, f"docs/windows.md does not describe {missing}"


def test_reference_verdicts_are_the_expected_ones():
    r = subprocess.run([NATLAB, "check", REF, "--expected",
                        os.path.join(ROOT, "scenarios", "expected")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reference_verdicts_as_junit_xml(tmp_path):
    # what CI systems read: testsuites > testsuite (name, tests, failures,
    # skipped) > testcase (classname, name) > failure / skipped (message)
    out = tmp_path / "check.xml"
    r = subprocess.run([NATLAB, "check", REF, "--expected", os.path.join(ROOT, "scenarios", "expected"),
                        "--junit", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites" and root.get("failures") == "0"
    cases = [c for s in root for c in s]
    assert all(s.tag == "testsuite" and int(s.get("tests")) == len(s) for s in root)
    assert int(root.get("tests")) == len(cases) > 1000
    assert all(c.tag == "testcase" and c.get("classname") and c.get("name") for c in cases)
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert skipped and sum(int(s.get("skipped")) for s in root) == len(skipped), "window edges are skipped"


def test_a_differing_cell_is_a_junit_failure(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "attempts.jsonl").write_text(json.dumps({
        "scenario": "x/odd.ini", "strategy": "so", "profiles": {"a": "p", "b": "q<&>"},
        "outcome": "connected", "rtt_ms": 20, "skew_ms": 0, "predicted": "connected",
        "syn_retrans": {"a": 0, "b": 0}, "time_to_connect_ms": 5}) + "\n")
    (tmp_path / "odd.csv").write_text("strategy,rtt_ms,skew_ms,profile_a,profile_b,verdict\nso,20,0,p,q<&>,failed\n")
    out = tmp_path / "check.xml"
    r = subprocess.run([NATLAB, "check", str(run), "--expected", str(tmp_path), "--junit", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "expected failed, got connected" in r.stdout
    (case,) = ET.parse(out).getroot().iter("testcase")
    assert case.get("classname") == "odd.so" and case.get("name").endswith("p × q<&>")
    assert "expected failed, got connected" in case.find("failure").get("message")


def test_check_against_another_run_is_a_statistical_statement(tmp_path):
    """natlab check --against: a cell whose success count moved beyond chance
    (Fisher's exact test) is named with both rates; one attempt's change is not."""
    recs = [json.loads(x) for x in open(os.path.join(REF, "attempts.jsonl"))]

    def cell(r, a, b):
        return (r["strategy"] == "so" and r["rtt_ms"] == 20 and r["skew_ms"] == 0
                and r["profiles"] == {"a": a, "b": b} and r["on_schedule"] is not False)
    broken = [r for r in recs if cell(r, "cgnat", "cgnat")]
    once = [r for r in recs if cell(r, "full-cone", "full-cone")]
    assert len(broken) == 5 and len(once) == 5 and all(r["outcome"] == "connected" for r in broken + once)
    for r in broken:
        r["outcome"] = "timeout"  # all five: 0 of 5 against 5 of 5
    once[0]["outcome"] = "timeout"  # one: 4 of 5 against 5 of 5, chance
    (tmp_path / "attempts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))

    r = subprocess.run([NATLAB, "check", str(tmp_path), "--against", REF], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == [
        "  matrix so RTT 20 ms skew 0 ms cgnat × cgnat: 0% [0-43] n=5 here, 100% [57-100] n=5 there (p = 0.00794)"]
    assert "1 of 1319 cells differ" in r.stderr
    same = subprocess.run([NATLAB, "check", REF, "--against", REF], capture_output=True, text=True)
    assert same.returncode == 0 and same.stdout == "" and "0 of 1319 cells differ" in same.stderr
