"""A user's program as a strategy (exec:, [strategy.NAME]): run on both peers at
the instant with the lab's facts in its environment, judged by its exit status,
recorded, tabled and held to the model like the built-ins."""
import csv
import json
import os
import subprocess

from labkit import NATLAB, ROOT


def run(out, scenario, stderr=None):
    r = subprocess.run([NATLAB, "run", "--out", str(out), str(scenario)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    if stderr is not None:
        stderr.append(r.stderr)
    return [json.loads(x) for x in (out / "attempts.jsonl").read_text().splitlines()]


def verdicts(path):
    with open(path) as f:
        return {(r["rtt_ms"], r["skew_ms"], r["profile_a"], r["profile_b"]): r["verdict"] for r in csv.DictReader(f)}


def test_example_simultaneous_open_matches_builtin_so(tmp_path):
    """examples/so.py, 20 lines of Python, against the built-in so over a matrix of
    cones, a symmetric NAT and an RST-answering one: the same verdict in every cell."""
    recs = run(tmp_path, os.path.join(ROOT, "examples", "so.ini"))
    prog = [r for r in recs if r["strategy"] == "exec:so-py"]
    assert prog and len(prog) == len([r for r in recs if r["strategy"] == "so"])
    # like = so: the model's prediction, judged at the skew its SYNs really had
    assert all(r["agrees"] is not False for r in prog), [r for r in prog if r["agrees"] is False]
    for r in prog:
        for side in r["sides"].values():
            assert side["program"]["exit"] == (0 if r["outcome"] == "connected" else side["program"]["exit"])
    subprocess.run([NATLAB, "report", str(tmp_path)], check=True, capture_output=True)
    mine, builtin = verdicts(tmp_path / "matrix-exec:so-py.csv"), verdicts(tmp_path / "matrix-so.csv")
    assert len(builtin) == 10 and mine == builtin
    # and both kinds of verdict are there: the comparison could have failed
    assert {"connected", "failed"} <= set(builtin.values())


PAIR = """
[nat.na]
profile = full-cone
[nat.nb]
profile = port-restricted-cone
[host.a]
behind = na
[host.b]
behind = nb
[host.rv]
behind = internet
[run]
pair = a b
strategies = {strategies}
deadline_s = 2
{more}
"""


def test_program_is_told_the_lab_and_judged_by_its_exit(tmp_path):
    """What the contract promises reaches the program, on both sides; a failing
    exit is a failure; a program past the deadline is ended, with its children."""
    (tmp_path / "tell.sh").write_text(
        "#!/bin/sh\n"
        "echo \"{\\\"path\\\": \\\"relayed\\\", \\\"node\\\": \\\"$NATLAB_NODE\\\", \\\"peer\\\": \\\"$NATLAB_PEER\\\", "
        "\\\"side\\\": $NATLAB_SIDE, \\\"addr\\\": \\\"$NATLAB_PEER_ADDR\\\", \\\"port\\\": $NATLAB_PEER_PORT, "
        "\\\"local\\\": $NATLAB_LOCAL_PORT, \\\"lab\\\": \\\"$NATLAB_LAB\\\", \\\"start\\\": $NATLAB_START, "
        "\\\"secret\\\": \\\"${NATLAB_PROBE_SECRET}\\\", \\\"cwd\\\": \\\"$(pwd)\\\"}\"\n")
    (tmp_path / "tell.sh").chmod(0o755)
    (tmp_path / "hang.sh").write_text("#!/bin/sh\nsleep 300 &\necho $! > \"$NATLAB_NODE.child\"\nsleep 300\n")
    (tmp_path / "hang.sh").chmod(0o755)
    (tmp_path / "pair.ini").write_text(PAIR.format(
        strategies="exec:./tell.sh, nope, hang", more="[strategy.nope]\ncommand = exit 3\n"
        "[strategy.hang]\ncommand = ./hang.sh\n"))
    said_by_run = []
    recs = {r["strategy"]: r for r in run(tmp_path / "out", tmp_path / "pair.ini", said_by_run)}
    assert set(recs) == {"exec:tell.sh", "exec:nope", "exec:hang"}
    # natlab run's summary, printed and in meta.json, per strategy
    outcomes = json.load(open(tmp_path / "out" / "meta.json"))["outcomes"]
    assert outcomes == {
        "exec:tell.sh": {"attempts": 1, "connected": 0, "relayed": 1, "failed": 0, "disagree": 0},
        "exec:nope": {"attempts": 1, "connected": 0, "relayed": 0, "failed": 1, "disagree": 0},
        "exec:hang": {"attempts": 1, "connected": 0, "relayed": 0, "failed": 1, "disagree": 0}}
    assert any(line.split()[1:9] == ["exec:nope", "1", "attempts:", "0", "connected,", "0", "relayed,", "1"]
               for line in said_by_run[0].splitlines()), said_by_run[0]

    tell = recs["exec:tell.sh"]
    assert tell["outcome"] == "relayed" and tell["relay"] == "program"  # its own word: path relayed
    assert tell["predicted"] == "unknown" and tell["agrees"] is None  # no like =: nothing to judge by
    said = {k: json.loads(s["program"]["last"]) for k, s in tell["sides"].items()}
    assert [said["a"]["side"], said["b"]["side"]] == [0, 1]
    assert (said["a"]["node"], said["a"]["peer"], said["b"]["node"], said["b"]["peer"]) == ("a", "b", "b", "a")
    # each is told the other's public endpoint, as the rendezvous server saw it
    for me, other in (("a", "b"), ("b", "a")):
        assert f'{said[me]["addr"]}:{said[me]["port"]}' == tell["sides"][other]["seen"]
        assert said[me]["local"] == tell["sides"][me]["local_port"]
        assert said[me]["cwd"] == str(tmp_path) and said[me]["secret"] == ""
    assert said["a"]["lab"] == tell["lab"] and said["a"]["start"] == said["b"]["start"]

    nope = recs["exec:nope"]
    assert nope["outcome"] == "failed" and [s["program"]["exit"] for s in nope["sides"].values()] == [3, 3]

    hang = recs["exec:hang"]
    assert hang["outcome"] == "timeout"
    for node in ("a", "b"):
        pid = (tmp_path / f"{node}.child").read_text().strip()
        assert not os.path.exists(f"/proc/{pid}/cmdline") or b"sleep" not in open(f"/proc/{pid}/cmdline", "rb").read()
