"""pytest fixtures for natlab labs. Loaded with `pytest -p natlab.pytest_plugin`,
and by itself once natlab is installed (make install: a pytest11 entry point).

    def test_my_p2p(natlab_lab):
        lab = natlab_lab("two-nats.ini")      # a path (beside the test file or the
                                              # working directory), a dict of sections, or text=
        srv = lab.node("a").popen("./my-p2p", "--listen", "7000")
        ...

Every lab a test made goes down when the test ends, failed or not, with every
process started through it. A failed test keeps each lab's capture (when the
scenario captures) in its tmp_path and names it in the report, with how late
each lab's wire released frames. A lab whose wire did not hold its documented
bounds (a starved machine) is a warning in pytest's summary, passed or failed:
delays through it were longer than the scenario asked. Labs have unique names,
so tests run side by side under pytest-xdist.
"""
import os

import pytest

import natlab

_report_key = pytest.StashKey[dict]()


class NatlabTimingWarning(UserWarning):
    """A lab's wire released frames later than natlab's documented bounds."""


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
    kept, errors, timing, late = [], [], [], []
    failed = _failed(request.node)
    for lab in labs:
        try:
            try:
                if failed and lab.up and lab.show().get("pcap"):
                    kept.append(lab.pcap(copy_to=tmp_path / f"{lab.name}.pcap"))
            except Exception as e:  # the lab goes down all the same
                errors.append(f"{lab.name}: capture not kept: {e}")
            try:
                p = lab.precision() if lab.up else None
            except Exception as e:
                p = None
                errors.append(f"{lab.name}: wire figures not read: {e}")
            if p and p["frames"]:
                timing.append(f"{lab.name}: the wire released {p['frames']} frames late by p50 {p['p50']} us, "
                              f"p99 {p['p99']} us, max {p['max']} us (bounds {p['bounds']['p50']} and "
                              f"{p['bounds']['p99']} us)")
            if p and p["at_once"]:
                a = p["at_once"]
                timing.append(f"{lab.name}: and {a['frames']} frames due as they came (no delay on their "
                              f"links), sent p50 {a['p50']} us, p99 {a['p99']} us, max {a['max']} us after they "
                              "arrived")
            late += [f"lab {lab.name}: {w}" for w in (p or {}).get("warnings", [])]
        finally:  # whatever the figures did (an odd reply, Ctrl-C), the lab goes down
            try:
                lab.down()
            except Exception as e:
                errors.append(f"{lab.name}: {e}")
    if kept:
        request.node.add_report_section("teardown", "natlab", "captures kept: " + ", ".join(map(str, kept)))
    if failed and timing:
        request.node.add_report_section("teardown", "natlab timing", "\n".join(timing))
    if errors:  # the timing warnings said with them: the failure ends the teardown
        pytest.fail("natlab teardown: " + "; ".join(errors + late), pytrace=False)
    # last, every lab down: under -W error a warning raises
    for w in late:  # on the test, as pytest's own are
        request.node.warn(NatlabTimingWarning(w))
