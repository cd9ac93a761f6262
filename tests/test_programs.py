"""A user's program as a strategy (exec:, [strategy.NAME]): run on both peers at
the instant with the lab's facts in its environment, judged by its exit status,
recorded, tabled and held to the model like the built-ins."""
import csv
import json
import os
import subprocess
import sys

import pytest

from labkit import NATLAB, ROOT, two_nats


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
    # like = so: held to so's schedule, an attempt whose SYNs left off it ran again
    prog = [r for r in recs if r["strategy"] == "exec:so-py" and r["on_schedule"] is not False]
    assert prog and len(prog) == len([r for r in recs if r["strategy"] == "so" and r["on_schedule"] is not False])
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



def test_example_with_its_own_rendezvous_server_matches_builtin_so(tmp_path):
    """examples/punch.py learns its partner's endpoint from a rendezvous server of
    its own (examples/rendezvous.py, the strategy's server_command, started on the
    rendezvous host before the lab's attempts): the same verdict as so in every
    cell; the server's output is natlab run's stderr."""
    err = []
    recs = run(tmp_path, os.path.join(ROOT, "examples", "own-server.ini"), stderr=err)
    prog = [r for r in recs if r["strategy"] == "exec:punch" and r["on_schedule"] is not False]
    assert prog and all(r["agrees"] is not False for r in prog), [r for r in prog if r["agrees"] is False]
    subprocess.run([NATLAB, "report", str(tmp_path)], check=True, capture_output=True)
    mine, builtin = verdicts(tmp_path / "matrix-exec:punch.csv"), verdicts(tmp_path / "matrix-so.csv")
    assert len(builtin) == 6 and mine == builtin
    assert {"connected", "failed"} <= set(builtin.values())
    # one server a lab, each at its own lab's rendezvous host (labs side by side:
    # their lines may interleave)
    assert err[0].count("rendezvous: listening on 198.18.0.1:9000") == 6, err[0]


SERVER = """import os, signal, socket, sys, time
proto, wait = sys.argv[1], float(sys.argv[2])


def term(*_):
    # natlab's rendezvous server still up: ended before the lab came down (a bytes
    # address: a str one is encoded by the idna codec, whose import may fail here)
    socket.socket().connect((os.environ["NATLAB_SERVER_ADDR"].encode(), 3478))
    fd = os.open("ended", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, os.environ["NATLAB_LAB"].encode())
    os._exit(0)


signal.signal(signal.SIGTERM, term)
time.sleep(wait)
name = os.environ["NATLAB_NODE"].encode()
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(os.environ["NATLAB_SERVER_PORT"])))
    while True:
        _, ep = s.recvfrom(64)
        s.sendto(name, ep)
s = socket.socket(socket.AF_INET6 if proto == "tcp6" else socket.AF_INET)
if proto == "tcp6":  # dual-stack, as Go's and Node's servers listen: in tcp6's table
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::" if proto == "tcp6" else "0.0.0.0", int(os.environ["NATLAB_SERVER_PORT"])))
s.listen()
served = 0
while served < int(sys.argv[3]):
    c, ep = s.accept()
    c.sendall(name)
    c.close()
    served += 1
"""
PEER = """import os, socket, sys, time
server = (os.environ["NATLAB_SERVER_ADDR"], 9000)
if sys.argv[1] == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.sendto(b"?", server)
    print(s.recv(10).decode(), flush=True)
else:
    print(socket.create_connection(server, timeout=1).recv(10).decode(), flush=True)
time.sleep(0.3)  # a server that ends after its answers has ended before the next attempt
"""


def server_pair(tmp_path, proto="tcp", wait=0, serve=1000, repeat=1):
    """The usual pair, strategy mine: a peer that asks the server of its own on the
    rendezvous host (over proto) for its node's name; that server starts to listen
    after `wait` s and ends after `serve` TCP connections."""
    (tmp_path / "server.py").write_text(SERVER)
    (tmp_path / "peer.py").write_text(PEER)
    proto_peer = "udp" if proto == "udp" else "tcp"
    (tmp_path / "pair.ini").write_text(pair("mine", run={"repeat": repeat}, more=(
        f"[strategy.mine]\ncommand = /usr/bin/python3 peer.py {proto_peer}\n"
        f"server_command = /usr/bin/python3 server.py {proto} {wait} {serve}\nserver_port = 9000\n")))
    return subprocess.run([NATLAB, "run", "--out", str(tmp_path / "out"), str(tmp_path / "pair.ini")],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("proto", ["tcp", "udp", "tcp6"])
def test_a_programs_server_is_waited_for_and_ended_with_its_grace(tmp_path, proto):
    """The server listens (TCP, UDP, or TCP dual-stack on ::) only after 3 s, past
    the attempt's deadline: the attempt still finds it, as natlab waits for its
    port. It runs in the scenario's folder and gets SIGTERM, with time to write a
    file, after the lab's last attempt and before the lab comes down."""
    r = server_pair(tmp_path, proto, wait=3)
    assert r.returncode == 0, r.stderr
    rec, = [json.loads(x) for x in (tmp_path / "out" / "attempts.jsonl").read_text().splitlines()]
    assert rec["outcome"] == "connected", rec
    assert rec["program_server"] == "running"
    # each peer reached the server on the rendezvous host, which said its node
    assert [s["program"]["last"] for s in rec["sides"].values()] == ["rv", "rv"]
    assert (tmp_path / "ended").read_text() == rec["lab"]


def test_a_programs_server_that_ends_with_attempts_left_is_named(tmp_path):
    r = server_pair(tmp_path, serve=2, repeat=2)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in (tmp_path / "out" / "attempts.jsonl").read_text().splitlines()]
    assert [x["outcome"] for x in recs] == ["connected", "failed"], recs
    assert "[strategy.mine]'s server_command ended (exit 0) with attempts of the lab left" in r.stderr, r.stderr
    # and the record of the attempt that ran without it says so
    assert [x["program_server"] for x in recs] == ["running", "exit 0"], recs


def test_a_programs_server_that_never_listens_fails_the_lab_by_name(tmp_path):
    r = server_pair(tmp_path, wait=30)
    assert r.returncode == 1
    assert "[strategy.mine]: its server_command did not listen on port 9000 within 10 s" in r.stderr, r.stderr
    assert not (tmp_path / "out" / "attempts.jsonl").exists() or not (tmp_path / "out" / "attempts.jsonl").read_text()


def test_a_programs_server_that_ends_at_once_fails_the_lab_with_its_status(tmp_path):
    (tmp_path / "pair.ini").write_text(pair("mine", more="[strategy.mine]\ncommand = true\n"
                                             "server_command = exit 3\nserver_port = 9000\n"))
    r = subprocess.run([NATLAB, "run", "--out", str(tmp_path / "out"), str(tmp_path / "pair.ini")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "[strategy.mine]: its server_command ended (exit 3) before it listened on port 9000" in r.stderr, r.stderr


def pair(strategies, offset=0, run=None, more=""):
    return two_nats("full-cone", "port-restricted-cone", {"strategies": strategies, "deadline_s": 2, **(run or {})},
                    host_a={"clock_offset_ms": offset}, more=more)


def run_script(tmp_path, name, text, **keys):
    """The shell script `text` as exec:./NAME on both peers of the usual pair, [run]
    keys beside; its records."""
    (tmp_path / name).write_text("#!/bin/sh\n" + text)
    (tmp_path / name).chmod(0o755)
    (tmp_path / "pair.ini").write_text(pair(f"exec:./{name}", run=keys))
    return run(tmp_path / "out", tmp_path / "pair.ini")


def test_program_is_told_the_lab_and_judged_by_its_exit(tmp_path):
    """What the contract promises reaches the program, on both sides; a failing
    exit is a failure; a program past the deadline is ended, with its children."""
    (tmp_path / "tell.sh").write_text(
        "#!/bin/sh\n"
        "echo \"{\\\"path\\\": \\\"relayed\\\", \\\"node\\\": \\\"$NATLAB_NODE\\\", \\\"peer\\\": \\\"$NATLAB_PEER\\\", "
        "\\\"side\\\": $NATLAB_SIDE, \\\"addr\\\": \\\"$NATLAB_PEER_ADDR\\\", \\\"port\\\": $NATLAB_PEER_PORT, "
        "\\\"local\\\": $NATLAB_LOCAL_PORT, \\\"lab\\\": \\\"$NATLAB_LAB\\\", \\\"start\\\": $NATLAB_START, "
        "\\\"secret\\\": \\\"${NATLAB_PROBE_SECRET}\\\", \\\"cwd\\\": \\\"$(pwd)\\\", "
        "\\\"offset\\\": $NATLAB_CLOCK_OFFSET_MS}\"\n")
    (tmp_path / "tell.sh").chmod(0o755)
    (tmp_path / "hang.sh").write_text("#!/bin/sh\nsleep 300 &\necho $! > \"$NATLAB_NODE.child\"\nsleep 300\n")
    (tmp_path / "hang.sh").chmod(0o755)
    # a program started a second early, done 1.5 s after its instant: inside its
    # 2 s, which count from the instant. The tests' python3 by its path: a "python3"
    # on PATH may be a version manager's shim, 0.5 s to start idle, 1.1-1.4 s beside
    # two busy loops (a CI run beside them saw both programs ended at the deadline)
    (tmp_path / "late.py").write_text(
        "import os, time\ntime.sleep(max(0, float(os.environ['NATLAB_START']) + 1.5 - time.time()))\n")
    # a line of control bytes (a terminal's colours, a progress bar's returns)
    (tmp_path / "noisy.sh").write_text("#!/bin/sh\nprintf 'x%.0s\\033[1m\\r' $(seq 1 700)\necho done\n"
                                       "printf '\\033[31m%.0s' $(seq 1 700)\n")
    (tmp_path / "noisy.sh").chmod(0o755)
    (tmp_path / "pair.ini").write_text(pair(
        "exec:./tell.sh, nope, hang, late, exec:./noisy.sh", offset=300,
        more="[strategy.nope]\ncommand = exit 3\n[strategy.hang]\ncommand = ./hang.sh\n"
        f"[strategy.late]\ncommand = {sys.executable} late.py\nlead_ms = 1000\n"))
    said_by_run = []
    recs = {r["strategy"]: r for r in run(tmp_path / "out", tmp_path / "pair.ini", said_by_run)}
    assert set(recs) == {"exec:tell.sh", "exec:nope", "exec:hang", "exec:late", "exec:noisy.sh"}
    # natlab run's summary, printed and in meta.json, per strategy
    outcomes = json.load(open(tmp_path / "out" / "meta.json"))["outcomes"]
    assert outcomes == {
        "exec:tell.sh": {"attempts": 1, "connected": 0, "relayed": 1, "failed": 0, "disagree": 0,
                         "unjudged": 1, "off_schedule": 0},
        "exec:nope": {"attempts": 1, "connected": 0, "relayed": 0, "failed": 1, "disagree": 0,
                      "unjudged": 1, "off_schedule": 0},
        "exec:hang": {"attempts": 1, "connected": 0, "relayed": 0, "failed": 1, "disagree": 0,
                      "unjudged": 1, "off_schedule": 0},
        "exec:late": {"attempts": 1, "connected": 1, "relayed": 0, "failed": 0, "disagree": 0,
                      "unjudged": 1, "off_schedule": 0},
        "exec:noisy.sh": {"attempts": 1, "connected": 1, "relayed": 0, "failed": 0, "disagree": 0,
                          "unjudged": 1, "off_schedule": 0}}
    # its last line, whatever bytes were in it, in a report natlab run could read
    last = recs["exec:noisy.sh"]["sides"]["a"]["program"]["last"]
    assert last.startswith(" [31m [31m") and len(last) == 1023 and all(c >= " " for c in last)
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
    assert (said["a"]["offset"], said["b"]["offset"]) == (300, 0)
    # a's clock runs 300 ms ahead: it starts 300 ms early in real time, which
    # NATLAB_START, read against the real clock, says
    assert said["a"]["lab"] == tell["lab"] and abs(said["b"]["start"] - said["a"]["start"] - 0.3) < 1e-6

    nope = recs["exec:nope"]
    assert nope["outcome"] == "failed" and [s["program"]["exit"] for s in nope["sides"].values()] == [3, 3]

    hang = recs["exec:hang"]
    assert hang["outcome"] == "timeout"
    for node in ("a", "b"):
        pid = (tmp_path / f"{node}.child").read_text().strip()
        assert not os.path.exists(f"/proc/{pid}/cmdline") or b"sleep" not in open(f"/proc/{pid}/cmdline", "rb").read()


def test_what_a_program_leaves_running_is_ended(tmp_path):
    """A program that exits 0 with a child still running in its group: the child is
    killed when the program ends, not left to the next attempt (which looks)."""
    recs = run_script(
        tmp_path, "leave.sh",
        "f=\"$NATLAB_NODE.child\"\n"
        "alive=false\n"
        "if [ -f \"$f\" ] && tr -d '\\000' < /proc/$(cat \"$f\")/cmdline 2>/dev/null | grep -q sleep; then alive=true; fi\n"
        "sleep 300 &\n"
        "echo $! > \"$f\"\n"
        "echo \"{\\\"left_alive\\\": $alive}\"\n", repeat=2)
    assert [r["outcome"] for r in recs] == ["connected", "connected"]
    second = [json.loads(s["program"]["last"]) for s in recs[1]["sides"].values()]
    assert second == [{"left_alive": False}, {"left_alive": False}]


def test_programs_signal_to_each_other_through_the_rendezvous(tmp_path):
    """Descriptor 3 carries lines between the two programs, in order, through the
    rendezvous server; the longest a RELAY line holds (251 bytes) passes, one byte
    more is dropped whole and counted."""
    rec, = run_script(
        tmp_path, "talk.sh",
        "printf 'from %s\\n' \"$NATLAB_NODE\" >&$NATLAB_SIGNAL_FD\n"
        "printf '%0251d\\n' 0 >&3\n"
        "printf '%0252d\\n' 0 >&3\n"
        "printf 'end\\n' >&3\n"
        "read -r x <&3; read -r long <&3; read -r end <&3\n"
        "echo \"{\\\"got\\\": \\\"$x\\\", \\\"long\\\": ${#long}, \\\"end\\\": \\\"$end\\\"}\"\n", deadline_s=4)
    assert rec["outcome"] == "connected", rec
    for me, other in (("a", "b"), ("b", "a")):
        prog = rec["sides"][me]["program"]
        assert json.loads(prog["last"]) == {"got": f"from {other}", "long": 251, "end": "end"}
        assert prog["signal"] == {"sent": 3, "received": 3, "dropped": 1}


def test_a_program_that_ends_while_lines_come_does_not_take_its_peer_down(tmp_path):
    """a's program ends at once; b's goes on writing lines to it for 0.4 s: a's peer
    still reports (a program's end closes the channel, a line after it is lost)."""
    rec, = run_script(
        tmp_path, "deaf.sh",
        "[ \"$NATLAB_SIDE\" = 0 ] && exit 0\n"
        "i=0; while [ $i -lt 40 ]; do echo \"line $i\" >&3; i=$((i + 1)); sleep 0.01; done\n", deadline_s=4)
    assert rec["outcome"] == "connected", rec
    a, b = rec["sides"]["a"]["program"], rec["sides"]["b"]["program"]
    assert a["exit"] == 0 and b["exit"] == 0
    assert b["signal"] == {"sent": 40, "received": 0, "dropped": 0}
    assert a["signal"]["sent"] == 0 and a["signal"]["received"] + a["signal"]["dropped"] < 40


def test_a_program_past_its_deadline_gets_sigterm_and_its_grace(tmp_path):
    """The deadline's SIGTERM reaches the program itself, which has half a second to
    end as it likes: its last line and exit status are the record's. Before, the
    shell that ran it got the signal, ended at once, and the group was killed."""
    recs = run_script(
        tmp_path, "graceful.sh",
        "trap 'sleep 0.2; echo \"{\\\"said\\\": \\\"bye\\\"}\"; exit 3' TERM\n"
        "echo waiting\n"
        "while :; do sleep 0.05; done\n", deadline_s=1)
    (r,) = recs
    assert r["outcome"] == "timeout"
    for side in r["sides"].values():
        assert side["program"]["exit"] == 3, side["program"]
        assert json.loads(side["program"]["last"]) == {"said": "bye"}


def test_a_compound_command_past_its_deadline_keeps_its_grace(tmp_path):
    """A command the shell runs itself (an && list): the shell ends at the
    deadline's SIGTERM, the program it started had the SIGTERM too and keeps its
    half second; its last line is the record's, the exit status the shell's.
    Before, the group was killed as soon as the shell had ended."""
    (tmp_path / "pair.ini").write_text(pair("mine", more=(
        "[strategy.mine]\n"
        "command = true && sh -c 'trap \"sleep 0.2; echo bye; exit 3\" TERM; echo waiting; "
        "while :; do sleep 0.05; done'\n")))
    (r,) = run(tmp_path / "out", tmp_path / "pair.ini")
    assert r["outcome"] == "timeout"
    for side in r["sides"].values():
        assert side["program"]["last"] == "bye", side["program"]
        assert side["program"]["exit"] == 128 + 15, side["program"]


def test_a_strategy_none_of_whose_runs_kept_its_schedule_still_has_its_line(tmp_path):
    """like = so holds a program to so's schedule; one whose side a dials 0.3 s after
    b is off it in every run. Before, it had no line in the summary or in meta.json."""
    slow = open(os.path.join(ROOT, "examples", "so.py")).read().replace(
        "s.settimeout(", "time.sleep(0.3 if env['NATLAB_NODE'] == 'a' else 0)  # a late on purpose\ns.settimeout(")
    (tmp_path / "slow.py").write_text(slow)
    (tmp_path / "slow.py").chmod(0o755)
    (tmp_path / "pair.ini").write_text(pair("slow", more="[strategy.slow]\ncommand = ./slow.py\nlike = so\n"
                                                         "lead_ms = 1000\n"))
    said = []
    recs = run(tmp_path / "out", tmp_path / "pair.ini", said)
    assert recs and all(r["on_schedule"] is False for r in recs)
    outcomes = json.load(open(tmp_path / "out" / "meta.json"))["outcomes"]
    assert outcomes["exec:slow"]["attempts"] == 0 and outcomes["exec:slow"]["off_schedule"] == len(recs)
    assert any(line.startswith("natlab: exec:slow") and f"{len(recs)} runs off schedule" in line
               for line in said[0].splitlines()), said[0]
