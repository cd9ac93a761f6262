import os
import subprocess

import pytest

from labkit import NATLAB, Lab

if os.geteuid() != 0:
    pytest.exit("the lab tests need root (network namespaces, nftables)", returncode=2)
if not os.path.exists(NATLAB):
    pytest.exit(f"{NATLAB} is missing: run make first", returncode=2)


@pytest.fixture
def make_lab(tmp_path):
    """make_lab(text) writes a scenario and brings it up; every lab goes down after the test."""
    labs = []

    def make(text, name="scenario.ini"):
        path = tmp_path / name
        path.write_text(text)
        lab = Lab(path)
        labs.append(lab)
        return lab

    yield make
    for lab in labs:
        lab.down()


def netns_list():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())
