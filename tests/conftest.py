import os
import sys
import subprocess

import pytest

from labkit import NATLAB, Lab

pytest_plugins = ["natlab.pytest_plugin"]  # the natlab_lab fixture, as users have it

# The lab tests (tests/test_*.py) need root: network namespaces, nftables. Without
# it only the offline tests (tests/offline/) are collected, and this says why.
collect_ignore_glob = []
if os.geteuid() != 0:
    collect_ignore_glob = ["test_*.py"]
    print("conftest: not root: the lab tests are left out, tests/offline runs", file=sys.stderr)
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


