"""natlab check: a run's verdicts against the expected ones; a matrix run."""
import collections
import json
import os
import re
import shutil
import subprocess

from labkit import NATLAB, ROOT, two_nats

MATRIX = """
[lab]
name = chk
[matrix]
profiles = full-cone, port-restricted-cone
rtt_ms = 20
strategies = so, udp
repeat = 2
deadline_s = 1.5
"""


def run(scen, out, env=None):
    r = subprocess.run([NATLAB, "run", "-j", "2", "--out", str(out), str(scen)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    # what measured a cell: an attempt off schedule was run again (tables leave it out)
    return [x for x in map(json.loads, open(out / "attempts.jsonl")) if x["on_schedule"] is not False]


def cells(recs):
    """(strategy, a, b) -> the model's predictions and the outcomes."""
    out = collections.defaultdict(lambda: {"predicted": set(), "outcomes": []})
    for r in recs:
        key = (r["strategy"], r["profiles"]["a"], r["profiles"]["b"])
        out[key]["predicted"].add(r["predicted"])
        # an attempt off schedule was run again: it measured no cell
        if r["on_schedule"] is not False:
            out[key]["outcomes"].append(r["outcome"])
    return out


def test_matrix_runs_each_pair_once_per_strategy_and_repeat(tmp_path):
    scen = tmp_path / "m.ini"
    scen.write_text(MATRIX)
    recs = run(scen, tmp_path / "run")
    got = cells(recs)
    # the upper triangle of two profiles, two strategies
    assert sorted(got) == sorted((s, a, b) for s in ("so", "udp") for a, b in (
        ("full-cone", "full-cone"), ("full-cone", "port-restricted-cone"),
        ("port-restricted-cone", "port-restricted-cone")))
    assert all(len(c["outcomes"]) == 2 for c in got.values())
    # the standard topology: a quarter of the round trip on each uplink
    assert {r["rtt_ms"] for r in recs} == {20}
    assert all(r["agrees"] for r in recs), [(r["strategy"], r["profiles"], r["outcome"])
                                            for r in recs if not r["agrees"]]


def test_a_changed_knob_names_exactly_the_cells_it_changes(tmp_path):
    scen = tmp_path / "m.ini"
    scen.write_text(MATRIX)
    expected = tmp_path / "expected"
    expected.mkdir()
    base = run(scen, tmp_path / "base")
    subprocess.run([NATLAB, "check", str(tmp_path / "base"), "--expected", str(expected),
                    "--write"], check=True, capture_output=True)
    r = subprocess.run([NATLAB, "check", str(tmp_path / "base"), "--expected", str(expected)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    # a copy of the presets where the port-restricted cone maps like a symmetric NAT
    profiles = tmp_path / "profiles"
    shutil.copytree(os.path.join(ROOT, "natsim", "profiles"), profiles)
    prc = profiles / "port-restricted-cone.profile"
    text = re.sub(r"(?m)^mapping = .*$", "mapping = apdm", prc.read_text())
    text = re.sub(r"(?m)^allocation = .*$", "allocation = random", text)
    prc.write_text(text)
    changed = run(scen, tmp_path / "changed", env=dict(os.environ, NATLAB_PROFILE_DIR=str(profiles)))

    r = subprocess.run([NATLAB, "check", str(tmp_path / "changed"), "--expected", str(expected)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    named = set()
    for line in r.stdout.splitlines():
        m = re.match(r"  m (\S+) RTT 20 ms skew 0 ms (\S+) × (\S+): expected (\w+), got (\w+)", line)
        assert m, line
        named.add(m.group(1, 2, 3))
    # the model, from the knobs alone, says which cells the change moves
    before, after = cells(base), cells(changed)
    moved = {k for k in before if before[k]["predicted"] != after[k]["predicted"]}
    assert moved and moved != set(before)
    assert named == moved
    assert f"{len(moved)} of the run's 6 cells differ" in r.stderr




def test_a_new_scenario_without_expected_verdicts_is_held_to_the_model(tmp_path):
    # a user's own scenario: no scenarios/expected file, so the model is the
    # reference; a fault the model knows nothing of (every SYN from a's NAT
    # dropped) makes `so` disagree, and check names that cell and fails
    for name, fault, rc in (("mine", "", 0), ("faulty", "[fault.syn]\nat = na\nmatch = tcp-syn\naction = drop\n", 1)):
        scen = tmp_path / f"{name}.ini"
        # with the fault, the rendezvous's SYNs go too: only so, which the model says connects
        scen.write_text(two_nats("port-restricted-cone", "full-cone",
                                 {"strategies": "so" if fault else "so, relay", "repeat": 2, "deadline_s": 1.5},
                                 lab={"name": name}, more=fault))
        out = tmp_path / name
        run(scen, out)
        (tmp_path / "none").mkdir(exist_ok=True)  # a folder with no file for it
        r = subprocess.run([NATLAB, "check", str(out), "--expected", str(tmp_path / "none")], capture_output=True,
                           text=True)
        assert r.returncode == rc, r.stdout + r.stderr
        assert "no expected verdicts" in r.stderr and "held to the behaviour model" in r.stderr
        named = [line for line in r.stdout.splitlines() if line.startswith("  ")]
        if rc:
            assert len(named) == 1 and "so RTT" in named[0] and "the model predicts connected" in named[0], named
        else:
            assert named == []


def test_a_malformed_expected_file_names_its_line(tmp_path):
    (tmp_path / "attempts.jsonl").write_text(json.dumps({
        "scenario": "x/odd.ini", "strategy": "so", "profiles": {"a": "p", "b": "q"},
        "outcome": "connected", "rtt_ms": 20, "skew_ms": 0, "predicted": "connected",
        "syn_retrans": {"a": 0, "b": 0}, "time_to_connect_ms": 5}) + "\n")
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "odd.csv").write_text("strategy,rtt_ms,skew_ms,profile_a,profile_b,verdict\n"
                                 "so,20,0,p,q,connected\nso;20\n")
    r = subprocess.run([NATLAB, "check", str(tmp_path), "--expected", str(exp)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith(f"natlab: {exp}/odd.csv:3: expected STRATEGY,")
