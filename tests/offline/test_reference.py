"""The committed reference run: its report opens as Markdown with its SVGs, its
tables are what natlab report makes of its records, its verdicts are the expected."""
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


def test_reference_verdicts_are_the_expected_ones():
    r = subprocess.run([NATLAB, "check", REF, "--expected",
                        os.path.join(ROOT, "scenarios", "expected")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
