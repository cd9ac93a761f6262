"""pytest fixtures for natlab labs. Loaded with `pytest -p natlab.pytest_plugin`,
and by itself once natlab is installed (make install: a pytest11 entry point).

    def test_my_p2p(natlab_lab):
        lab = natlab_lab("two-nats.ini")      # a path (beside the test file or the
                                              # working directory), a dict of sections, or text=
        srv = lab.node("a").popen("./my-p2p", "--listen", "7000")
        ...

Every lab a test made goes down when the test ends, failed or not, with every
process started through it. A failed test keeps each lab's capture (when the
scenario captures) in its tmp_path and names it in the report. Labs have unique
names, so tests run side by side under pytest-xdist.
"""
import os

import pytest

import natlab

_report_key = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    item.stash.setdefault(_report_key, {})[rep.when] = rep


def _failed(item):
    reps = item.stash.get(_report_key, {})
    return any(r.failed for r in reps.values())


@pytest.fixture
def natlab_lab(request, tmp_path):
    """natlab_lab(scenario=None, *, text=None, name="lab") -> natlab.Lab, up; down after the test."""
    labs = []

    def make(scenario=None, *, text=None, name="lab"):
        if isinstance(scenario, (str, os.PathLike)) and not os.path.isabs(scenario):
            beside = request.path.parent / scenario
            if beside.exists():
                scenario = beside
        lab = natlab.Lab(scenario, text=text, name=name)
        labs.append(lab)
        return lab

    yield make
    kept, errors = [], []
    for lab in labs:
        try:
            if _failed(request.node) and lab.up and lab.show().get("pcap"):
                kept.append(lab.pcap(copy_to=tmp_path / f"{lab.name}.pcap"))
        except Exception as e:  # the lab goes down all the same
            errors.append(f"{lab.name}: capture not kept: {e}")
        try:
            lab.down()
        except Exception as e:
            errors.append(f"{lab.name}: {e}")
    if kept:
        request.node.add_report_section("teardown", "natlab", "captures kept: " + ", ".join(map(str, kept)))
    if errors:
        pytest.fail("natlab teardown: " + "; ".join(errors), pytrace=False)
