"""Labs side by side, interrupted bring-up, stale labs, processes and cleanup."""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from labkit import NATLAB, natlab, netns_list

SMALL = "[nat.home]\nprofile = full-cone\n[host.a]\nbehind = home\n[host.rv]\nbehind = internet\n"


@pytest.fixture
def rundir(tmp_path, monkeypatch):
    """A private bookkeeping folder: `down --all` here touches only this test's labs."""
    d = tmp_path / "run"
    monkeypatch.setenv("NATLAB_RUN_DIR", str(d))
    return d


def ended(pid):
    """Gone, or a zombie that init has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone before, or while, it was read
        return True


def lab_netns(name):
    return [n for n in netns_list() if n.startswith(name + "-")]


def test_two_labs_side_by_side(make_lab):
    a = make_lab(SMALL, "one.ini")
    b = make_lab(SMALL, "one2.ini")
    assert a.name != b.name
    assert a.addr("rv") == b.addr("rv"), "same plan, separate namespaces"
    assert len(lab_netns(a.name)) == 4 and len(lab_netns(b.name)) == 4
    assert not set(lab_netns(a.name)) & set(lab_netns(b.name))


def test_show_json_shape(make_lab):
    lab = make_lab(SMALL)
    info = lab.show()
    assert info["lab"] == lab.name and info["pcap"] is None
    assert set(info["nodes"]) == {"internet", "home", "a", "rv"}
    for node in info["nodes"].values():
        assert node["kind"] in ("host", "nat", "internet")
        assert node["netns"] in netns_list()
        assert isinstance(node["addrs"], list)
    assert info["nodes"]["home"]["profile"] == "full-cone"
    assert info["nodes"]["home"]["wan"] == lab.addr("home")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_up_leaves_nothing(tmp_path, rundir, sig):
    # a lab big enough that bring-up takes a while; interrupt it at varied moments
    text = "[nat.n%d]\nprofile = rfc5382\n[host.h%d]\nbehind = n%d\n"
    name = f"big{int(sig)}"  # one name per test: the tests run side by side
    path = tmp_path / "big.ini"
    path.write_text(f"[lab]\nname = {name}\n" + "".join(text % (i, i, i) for i in range(25)))
    outcomes = set()
    for delay in [0.0, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2]:
        p = subprocess.Popen([NATLAB, "up", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(sig)
        out, _ = p.communicate(timeout=20)
        lab = out.strip()
        if lab:
            # it finished first: then the lab is whole, and goes down whole
            outcomes.add("built")
            assert len(lab_netns(lab)) == 51
            natlab("down", lab)
        else:
            outcomes.add("interrupted")
        assert not [n for n in netns_list() if n.startswith(name + "-")]
        assert os.listdir(rundir) == [] if rundir.exists() else True
    assert "interrupted" in outcomes


def test_stale_lab_reaped(tmp_path, rundir):
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    owner = subprocess.Popen(["sleep", "60"])
    stale = natlab("up", str(path), "--owner", str(owner.pid)).stdout.strip()
    kept = natlab("up", str(path)).stdout.strip()
    assert " up " in natlab("list").stdout
    owner.kill()
    owner.wait()
    listing = {line.split()[0]: line.split()[1] for line in natlab("list").stdout.splitlines()}
    assert listing == {stale: "stale", kept: "up"}
    natlab("down", "--stale")
    assert lab_netns(stale) == [] and len(lab_netns(kept)) == 4
    natlab("down", "--all")
    assert lab_netns(kept) == [] and natlab("list").stdout == ""


def test_down_ends_the_labs_processes(make_lab):
    lab = make_lab(SMALL)
    p = subprocess.Popen([NATLAB, "exec", lab.name, "a", "--", "sleep", "60"])
    time.sleep(0.2)
    assert p.poll() is None
    with open(f"/proc/{p.pid}/ns/net") as _:
        pass
    assert os.readlink(f"/proc/{p.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    wire = lab.info["wire"]["pid"]
    inet = os.stat(f"/run/netns/{lab.nodes['internet']['netns']}").st_ino
    assert os.readlink(f"/proc/{wire}/ns/net") == f"net:[{inet}]", "the wire runs in the internet"
    natlab("down", lab.name)
    assert p.wait(timeout=5) == -signal.SIGTERM
    # down kills the wire and returns without waiting for its packet socket to
    # close (an RCU grace period): it is gone moments later
    deadline = time.monotonic() + 2
    while not ended(wire) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended(wire), "the wire outlived its lab"
    lab.down = lambda: None  # already down


def test_exec_runs_in_node_namespace(make_lab):
    lab = make_lab(SMALL)
    out = lab.exec("a", "cat", "/proc/net/fib_trie").stdout
    assert lab.addr("a") in out and lab.addr("rv") not in out
    assert sorted(lab.exec("a", "ls", "/sys/class/net").stdout.split()) == ["eth0", "lo"]
    r = natlab("exec", lab.name, "a", "--", "sh", "-c", "exit 7", check=False)
    assert r.returncode == 7


def test_crashed_up_is_stale_and_reaped(tmp_path, rundir):
    # SIGKILL cannot be caught: the bookkeeping must still let down --stale find it
    text = "[nat.n%d]\nprofile = full-cone\n[host.h%d]\nbehind = n%d\n"
    path = tmp_path / "crash.ini"
    path.write_text("[lab]\nname = crash\n" + "".join(text % (i, i, i) for i in range(25)))
    p = subprocess.Popen([NATLAB, "up", str(path)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.02)
    p.kill()
    out, _ = p.communicate()
    if out.strip():
        pytest.skip("bring-up finished before the kill")
    states = [line.split()[1] for line in natlab("list").stdout.splitlines()]
    if states == ["building"]:
        # killed between reserving the name and writing the state: that empty
        # reservation counts as a builder's for LAB_RESERVE_GRACE_S (5 s, by its
        # file's mtime in whole seconds), so that a running up is never reaped
        deadline = time.monotonic() + 8
        while states == ["building"] and time.monotonic() < deadline:
            time.sleep(0.5)
            states = [line.split()[1] for line in natlab("list").stdout.splitlines()]
    assert all(s == "stale" for s in states), states
    natlab("down", "--stale")
    assert not [n for n in netns_list() if n.startswith("crash-")]
    assert natlab("list").stdout == ""


def test_natlab_help_lists_subcommands():
    out = natlab("--help").stdout
    for cmd in ("up", "down", "list", "show", "exec", "rules", "run", "report"):
        assert f"  {cmd} " in out
        r = natlab(cmd, "--help")
        assert r.stdout.startswith(f"Usage: natlab {cmd}")


INTERRUPTED = """
[lab]
name = intr_{how}
[matrix]
profiles = full-cone, port-restricted-cone, symmetric
rtt_ms = 20
strategies = so, udp
repeat = 3
deadline_s = 1.5
"""


def run_until(scen, out, jobs, records, **popen):
    """natlab run of scen into out, returned once `records` attempts are written (60 s
    at most), with the records' path."""
    p = subprocess.Popen([NATLAB, "run", "-j", str(jobs), "--out", str(out), str(scen)],
                         stdout=subprocess.DEVNULL, **popen)
    path = out / "attempts.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            path.exists() and path.read_text().count("\n") >= records):
        time.sleep(0.02)
    return p, path


@pytest.mark.parametrize("how,sig", [("group", signal.SIGINT), ("parent", signal.SIGTERM)])
def test_interrupted_run_keeps_its_records_and_no_lab(tmp_path, rundir, how, sig):
    """Ctrl-C (SIGINT to the whole group) or a SIGTERM to natlab run alone: every lab
    stops between attempts and goes; the records written so far stay whole."""
    scen = tmp_path / "m.ini"
    scen.write_text(INTERRUPTED.format(how=how))
    out = tmp_path / "out"
    p, records = run_until(scen, out, 2, 4, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    if how == "group":
        os.killpg(p.pid, sig)
    else:
        p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err
    lines = records.read_text().splitlines()
    # whole records only, and fewer than the 36 the run would have made
    recs = [json.loads(line) for line in lines]
    assert 4 <= len(recs) < 36
    assert all(r["outcome"] != "no-report" for r in recs)
    assert not [n for n in netns_list() if n.startswith(f"intr_{how}-")]
    assert natlab("list").stdout == ""


def test_down_from_another_run_dir_refuses_without_force(tmp_path, monkeypatch):
    # namespaces are the machine's, bookkeeping a run directory's: a lab of run
    # directory A is not B's to end (before: down from B destroyed it and said 0)
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "A"))
    name = natlab("up", str(path)).stdout.strip()
    try:
        monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "B"))
        r = subprocess.run([NATLAB, "down", name], capture_output=True, text=True)
        assert r.returncode == 1 and "--force" in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert len(lab_netns(name)) == 4, "the other run directory's lab is whole"
        monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "A"))
        assert natlab("list").stdout.split()[:2] == [name, "up"]
        monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "B"))
        natlab("down", "--force", name)
        assert lab_netns(name) == []
    finally:
        monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "A"))
        subprocess.run([NATLAB, "down", "--all"], capture_output=True)


def test_run_dir_must_be_private_and_files_are_not_shared(tmp_path, monkeypatch):
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    # a run directory others may write to, or a symlink, would let them plant a lab's files
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "private")
    (tmp_path / "private").mkdir(mode=0o700)
    for d, why in ((shared, "writable by others"), (link, "not a directory")):
        monkeypatch.setenv("NATLAB_RUN_DIR", str(d))
        r = subprocess.run([NATLAB, "up", str(path)], capture_output=True, text=True)
        assert r.returncode == 1 and why in r.stderr and str(d) in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert os.listdir(shared) == [] and os.listdir(tmp_path / "private") == []
    # a new run directory is made private, and the lab's files are its owner's alone
    run = tmp_path / "run"
    monkeypatch.setenv("NATLAB_RUN_DIR", str(run))
    name = natlab("up", str(path)).stdout.strip()
    try:
        assert os.stat(run).st_mode & 0o777 == 0o700
        files = os.listdir(run)
        assert f"{name}.json" in files and f"{name}.events" in files
        for f in files:
            # but the hosts file, /etc/hosts to a program of any user in the lab
            # (natlab exec); the directory keeps it from others all the same
            want = 0o022 if f == f"{name}.hosts" else 0o077
            assert os.stat(run / f).st_mode & want == 0, f
        assert f"{name}.hosts" in files
    finally:
        natlab("down", name)


@pytest.mark.parametrize("owner, words", [("1", "never ends"), ("abc", "not a PID"), ("-5", "not a PID")])
def test_up_rejects_an_owner_that_cannot_make_it_stale(tmp_path, rundir, owner, words):
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    r = natlab("up", str(path), "--owner", owner, check=False)
    assert r.returncode == 2 and words in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert natlab("list").stdout == ""


def test_up_rejects_an_owner_that_has_ended(tmp_path, rundir):
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    gone = subprocess.Popen(["true"])
    gone.wait()
    r = natlab("up", str(path), "--owner", str(gone.pid), check=False)
    assert r.returncode == 2 and f"no process {gone.pid}" in r.stderr, r.stderr


def test_a_lab_whose_wire_died_is_broken_and_reaped(tmp_path, rundir):
    # before: after kill -9 of its wire a lab was listed "up", and --stale kept it
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    name = natlab("up", str(path)).stdout.strip()
    kept = natlab("up", str(path)).stdout.strip()
    with open(rundir / f"{name}.json") as f:
        wire = json.load(f)["wire"]["pid"]
    os.kill(wire, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while not ended(wire) and time.monotonic() < deadline:
        time.sleep(0.01)
    listing = {line.split()[0]: line.split()[1] for line in natlab("list").stdout.splitlines()}
    assert listing == {name: "broken", kept: "up"}
    assert f"lab {name} (broken)" in natlab("show", name).stdout
    natlab("down", "--stale")
    assert lab_netns(name) == [] and len(lab_netns(kept)) == 4
    natlab("down", kept)


def test_a_lab_comes_up_under_the_usual_descriptor_limit(tmp_path, rundir):
    # before: with a soft limit of 1024 (a login shell's, sudo's), the internet
    # namespace's descriptor could not be moved high and natlab up refused to start
    # the wire; frames must still cross it
    import resource

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    up = subprocess.run([NATLAB, "up", str(path)], capture_output=True, text=True, preexec_fn=low_limit)
    assert up.returncode == 0, up.stderr
    name = up.stdout.strip()
    try:
        listing = {line.split()[0]: line.split()[1] for line in natlab("list").stdout.splitlines()}
        assert listing == {name: "up"}
        rv = json.loads(natlab("show", "--json", name).stdout)["nodes"]["rv"]["addrs"][0].split("/")[0]
        ping = natlab("exec", name, "a", "--", "ping", "-c", "1", "-W", "2", rv, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    finally:
        natlab("down", name)


def test_a_run_whose_wire_dies_says_so_and_stops_that_lab(tmp_path, rundir):
    # before: the run went on through a dead wire, each attempt ~5 s, recorded as
    # "no-rendezvous", and exited 0
    scen = tmp_path / "w.ini"
    # 5 ms links: a window of +-10 ms around skew 0, which a loaded machine keeps
    scen.write_text("[lab]\nname = wd\n[nat.na]\nprofile = full-cone\ndelay_ms = 5\n"
                    "[nat.nb]\nprofile = full-cone\ndelay_ms = 5\n"
                    "[host.a]\nbehind = na\n[host.b]\nbehind = nb\n[host.rv]\nbehind = internet\n"
                    "[run]\npair = a b\nstrategies = so\nrepeat = 40\ndeadline_s = 1.5\n")
    out = tmp_path / "out"
    p, records = run_until(scen, out, 1, 3, stderr=subprocess.PIPE, text=True)
    (state,) = [f for f in rundir.glob("*.json")]
    with open(state) as f:
        wire = json.load(f)["wire"]["pid"]
    os.kill(wire, signal.SIGKILL)
    t0 = time.monotonic()
    _, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert "broke during its attempt" in err and "wire is gone" in err, err
    recs = [json.loads(line) for line in records.read_text().splitlines()]
    assert recs[-1]["outcome"] == "lab-broken" and 3 <= len(recs) < 40
    assert all(r["outcome"] == "connected" for r in recs[:-1]), [r["outcome"] for r in recs]
    assert time.monotonic() - t0 < 15
    assert natlab("list").stdout == ""


def session_members(sid):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid and fields[0] != "Z":
                    pids.append(int(d))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return pids


def test_a_run_killed_outright_leaves_no_worker_and_no_lab(tmp_path, rundir):
    # before: SIGKILL of natlab run -j 4 left its workers blocked on a pipe forever,
    # with their labs "up" where down --stale could not reap them
    scen = tmp_path / "m.ini"
    scen.write_text(INTERRUPTED.format(how="kill"))
    out = tmp_path / "out"
    p, records = run_until(scen, out, 4, 4, stderr=subprocess.DEVNULL, start_new_session=True)
    p.kill()
    p.wait()
    deadline = time.monotonic() + 30
    while session_members(p.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(p.pid) == []
    assert not [n for n in netns_list() if n.startswith("intr_kill-")]
    assert natlab("list").stdout == ""
    recs = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(recs) >= 4


def test_a_reservation_and_a_temp_file_left_by_a_killed_up_are_reaped(tmp_path, rundir):
    # before: an up killed between reserving its name and writing its state stayed
    # "building, 0 nodes" for good, and a killed writer's .json.tmp was never removed
    (tmp_path / "s.ini").write_text(SMALL)
    name = natlab("up", str(tmp_path / "s.ini")).stdout.strip()
    ghost, torn = rundir / "ghost-0001.json", rundir / f"{name}.json.tmp"
    ghost.write_text("")
    torn.write_text("{")
    young = rundir / "young-0002.json"
    young.write_text("")
    old = time.time() - 60
    os.utime(ghost, (old, old))
    os.utime(torn, (old, old))
    listing = {line.split()[0]: line.split()[1] for line in natlab("list").stdout.splitlines()}
    assert listing == {name: "up", "ghost-0001": "stale", "young-0002": "building"}
    natlab("down", "--stale")
    assert not ghost.exists() and not torn.exists() and young.exists()
    assert len(lab_netns(name)) == 4
    young.unlink()
    natlab("down", name)


def holders(folder):
    """Processes with a file open under folder: a lab's wire keeps its log there."""
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{d}/fd"):
                if os.readlink(f"/proc/{d}/fd/{fd}").startswith(str(folder) + "/"):
                    pids.add(int(d))
        except OSError:
            pass
    return pids


def test_down_during_up_waits_for_it_and_leaves_nothing(tmp_path, rundir):
    # before: a down as soon as LAB.json appeared gutted the lab while up went on and
    # exited 0; 8 of 30 tries left a wire holding an unnamed namespace
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    for _ in range(15):
        before = set(rundir.glob("*.json")) if rundir.exists() else set()
        up = subprocess.Popen([NATLAB, "up", str(path)], stdout=subprocess.PIPE, text=True)
        new = set()
        deadline = time.monotonic() + 10
        while not new and time.monotonic() < deadline:
            new = (set(rundir.glob("*.json")) if rundir.exists() else set()) - before
        (state,) = new
        lab = state.name[:-5]
        down = subprocess.run([NATLAB, "down", lab], capture_output=True, text=True)
        out, _ = up.communicate(timeout=30)
        assert up.returncode == 0 and out.strip() == lab
        assert down.returncode == 0, down.stderr
        assert lab_netns(lab) == [] and natlab("list").stdout == ""
    deadline = time.monotonic() + 5
    while holders(rundir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holders(rundir) == set()
    assert sorted(p.name for p in rundir.iterdir()) == []


def test_down_ends_every_process_however_many(make_lab):
    # before: the lab's processes were watched in a table of 256; with 300, down
    # exited 0 and left 45 of them alive in an orphaned namespace
    lab = make_lab(SMALL.replace("[host.a]", "[lab]\nname = many\n[host.a]", 1))
    marker = "1000.4242"
    subprocess.Popen([NATLAB, "exec", lab.name, "a", "--", "sh", "-c",
                      f"for i in $(seq 400); do sleep {marker} & done; "
                      f"trap '' TERM; while :; do sleep {marker}; done"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sleepers():
        n = 0
        for d in os.listdir("/proc"):
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    n += f.read().split(b"\0")[1:2] == [marker.encode()]
            except (OSError, ValueError):
                pass
        return n

    deadline = time.monotonic() + 20
    while sleepers() < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers() >= 400
    natlab("down", lab.name)
    lab.down = lambda: None  # already down
    assert sleepers() == 0 and lab_netns(lab.name) == []


def test_a_lab_that_lost_a_namespace_is_broken_and_reaped(tmp_path, rundir):
    # before: with a NAT's namespace removed by hand the lab was still listed "up"
    path = tmp_path / "s.ini"
    path.write_text(SMALL)
    name = natlab("up", str(path)).stdout.strip()
    subprocess.run(["ip", "netns", "delete", f"{name}-home"], check=True)
    assert natlab("list").stdout.split()[:2] == [name, "broken"]
    natlab("down", "--stale")
    assert lab_netns(name) == [] and natlab("list").stdout == ""


def test_unknown_lab_and_node(rundir, make_lab):
    r = natlab("down", "no-such-lab", check=False)
    assert r.returncode != 0 and "no lab" in r.stderr
    lab = make_lab("[host.a]\nbehind = internet\n")
    r = natlab("exec", lab.name, "zz", "--", "true", check=False)
    assert r.returncode == 2 and 'no node "zz"' in r.stderr


def test_not_root(rundir):
    # pytest's tmp_path is private to root; nobody must read this one
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        path = os.path.join(d, "ok.ini")
        with open(path, "w") as f:
            f.write("[host.a]\nbehind = internet\n")
        os.chmod(path, 0o644)
        r = natlab("up", path, check=False, preexec_fn=lambda: os.setuid(65534))
    assert r.returncode == 1 and "needs root" in r.stderr
    assert natlab("list").stdout == ""


def test_a_turn_service_runs_in_its_host_and_goes_with_the_lab(tmp_path, rundir):
    scen = tmp_path / "turn.ini"
    scen.write_text(SMALL + "[host.relay]\nbehind = internet\nservice = turn\n")
    name = natlab("up", str(scen)).stdout.strip()
    try:
        info = json.loads(natlab("show", "--json", name).stdout)
        (turn,) = info["services"]
        assert turn["service"] == "turn" and turn["node"] == "relay" and turn["port"] == 3478
        assert turn["addr"] == info["nodes"]["relay"]["addrs"][0].split("/")[0]
        assert len(turn["password"]) == 24, "drawn per lab"
        relay_ns = os.stat(f"/run/netns/{info['nodes']['relay']['netns']}").st_ino
        assert os.readlink(f"/proc/{turn['pid']}/ns/net") == f"net:[{relay_ns}]", "coturn runs in its host"
        # it relays there: coturn's own client, two allocations over TCP sending to each other
        r = natlab("exec", name, "a", "--", "turnutils_uclient", "-t", "-y", "-u", "natlab", "-w", turn["password"],
                   "-e", turn["addr"], "-n", "2", "-m", "1", turn["addr"], check=False, timeout=20)
        assert "Total lost packets 0" in r.stdout + r.stderr, r.stdout[-500:] + r.stderr[-500:]
        assert any(f.startswith(name + ".turn.") for f in os.listdir(rundir))
    finally:
        natlab("down", name)
    deadline = time.monotonic() + 2
    while not ended(turn["pid"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended(turn["pid"]), "coturn outlived its lab"
    assert [f for f in os.listdir(rundir) if f.startswith(name)] == [], "its files go with it"


def test_a_turn_lab_taken_straight_down_leaves_no_file(tmp_path, rundir):
    # before: coturn, ended while it made its database, wrote LAB.turn.db-journal
    # after down had removed the lab's files (2 downs of 4)
    scen = tmp_path / "turn.ini"
    scen.write_text(SMALL + "[host.relay]\nbehind = internet\nservice = turn\n")
    for _ in range(4):
        name = natlab("up", str(scen)).stdout.strip()
        natlab("down", name)
        assert [f for f in os.listdir(rundir) if f.startswith(name)] == [], "its files go with it"


def test_service_takes_turn_only_and_in_the_internet(tmp_path):
    bad = tmp_path / "bad.ini"
    bad.write_text(SMALL + "[host.relay]\nbehind = internet\nservice = ftp\n")
    r = natlab("up", str(bad), check=False)
    assert r.returncode == 2 and "unknown service \"ftp\"" in r.stderr and r.stderr.count("\n") == 1
    bad.write_text(SMALL.replace("[host.a]\nbehind = home\n", "[host.a]\nbehind = home\nservice = turn\n"))
    r = natlab("up", str(bad), check=False)
    assert r.returncode == 2 and "a TURN server is a host in the internet" in r.stderr


@pytest.mark.parametrize("cmd", [["down"], ["show"], ["exec", "{lab}", "a", "--", "true"]])
def test_no_such_lab_is_bad_input_for_every_command(cmd):
    """The same situation, the same exit: naming a lab that is not here is bad input
    (2), with one line naming it."""
    lab = f"nosuch-{os.getpid() % 10000:04x}"
    argv = [a.format(lab=lab) for a in cmd] if "{lab}" in cmd else [*cmd, lab]
    r = subprocess.run([NATLAB, *argv], capture_output=True, text=True)
    assert r.returncode == 2, (argv, r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and f'no lab "{lab}"' in r.stderr


def allowed_cpus(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith("Cpus_allowed_list:"))


def lab_processes(rundir, comm):
    """pids of processes named comm whose network namespace is one of rundir's labs'"""
    inodes = set()
    for state in rundir.glob("*.json"):
        try:
            for ns in json.loads(state.read_text())["netns"]:
                inodes.add(os.stat(f"/run/netns/{ns}").st_ino)
        except (ValueError, KeyError, FileNotFoundError):
            pass  # half written, or going
    pids = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and open(f"/proc/{d}/comm").read().strip() == comm and \
                    os.stat(f"/proc/{d}/ns/net").st_ino in inodes:
                pids.append(int(d))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return pids


def last_cpu():
    """the highest CPU this process may use that a scenario can name (0-63); a lab
    pinned there differs from one that runs anywhere only with two or more"""
    usable = [c for c in os.sched_getaffinity(0) if c < 64]
    if len(os.sched_getaffinity(0)) < 2 or not usable:
        pytest.skip("one CPU (or none below 64) to run on: nothing for [lab] cpus to narrow")
    return max(usable)


def assert_placed(lab, st, wire_cpu, cpu):
    """every thread of the lab's wire on wire_cpu, what `natlab exec` starts on cpu,
    and packets through the wire"""
    for task in os.listdir(f"/proc/{st['wire']['pid']}/task"):
        try:
            assert allowed_cpus(task) == str(wire_cpu)
        except (FileNotFoundError, ProcessLookupError):
            pass  # the receive ring's thread, done meanwhile
    assert lab.exec("a", "sh", "-c", "grep Cpus_allowed_list /proc/self/status").stdout.split()[1] == str(cpu)
    r = lab.exec("a", "ping", "-n", "-c", "3", "-i", "0.05", "-W", "1", lab.addr("rv"), check=False)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout


def test_a_lab_with_cpus_keeps_its_wire_and_programs_on_them(make_lab):
    """[lab] cpus: the wire (every thread) and what `natlab exec` starts run there,
    and the lab still carries packets; a lab without it runs anywhere"""
    cpu = last_cpu()
    lab = make_lab(f"[lab]\ncpus = {cpu}\n" + SMALL.replace("internet\n", "internet\ndelay_ms = 1\n"))
    st = json.loads(natlab("show", "--json", lab.name).stdout)
    assert st["cpus"] == str(cpu) and "wire_cpus" not in st
    assert_placed(lab, st, cpu, cpu)
    other = make_lab(SMALL, name="other.ini")
    st = json.loads(natlab("show", "--json", other.name).stdout)
    assert "cpus" not in st and allowed_cpus(st["wire"]["pid"]) == allowed_cpus(os.getpid())


def test_a_lab_with_wire_cpus_keeps_its_wire_apart_from_its_programs(make_lab):
    """[lab] wire_cpus: the wire (every thread) there, and what `natlab exec` starts
    on cpus, not with it; packets still cross"""
    wire_cpu = last_cpu()
    cpu = min(c for c in os.sched_getaffinity(0) if c != wire_cpu and c < 64)
    lab = make_lab(f"[lab]\ncpus = {cpu}\nwire_cpus = {wire_cpu}\n" +
                   SMALL.replace("internet\n", "internet\ndelay_ms = 1\n"))
    st = json.loads(natlab("show", "--json", lab.name).stdout)
    assert (st["cpus"], st["wire_cpus"]) == (str(cpu), str(wire_cpu))
    assert_placed(lab, st, wire_cpu, cpu)


def test_a_run_of_a_lab_with_cpus_starts_its_peers_there(tmp_path, rundir):
    cpu = last_cpu()
    scen = tmp_path / "c.ini"
    scen.write_text(f"[lab]\nname = cp\ncpus = {cpu}\n[nat.na]\nprofile = full-cone\ndelay_ms = 5\n"
                    "[nat.nb]\nprofile = full-cone\ndelay_ms = 5\n"
                    "[host.a]\nbehind = na\n[host.b]\nbehind = nb\n[host.rv]\nbehind = internet\n"
                    "[run]\npair = a b\nstrategies = so\nrepeat = 30\n")
    out = tmp_path / "out"
    p, _ = run_until(scen, out, 1, 1)
    seen = {}
    while p.poll() is None:
        for pid in lab_processes(rundir, "natlab-probe"):
            try:
                seen[pid] = allowed_cpus(pid)
            except (FileNotFoundError, ProcessLookupError):
                pass  # it ended between the listing and the read
        time.sleep(0.01)
    assert p.returncode == 0
    assert len(seen) >= 3, seen  # the server and the two staying peers at least
    assert set(seen.values()) == {str(cpu)}, seen
    recs = [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]
    assert len(recs) == 30 and all(r["outcome"] == "connected" for r in recs)


@pytest.mark.parametrize("key", ["cpus", "wire_cpus"])
@pytest.mark.parametrize("value,words", [("NEXT", "CPU NEXT is not one natlab may run on here"),
                                         ("1-0", 'expected a list of CPUs from 0 to 63'),
                                         ("a", 'expected a list of CPUs from 0 to 63')])
def test_cpus_that_are_not_the_machines_are_refused(tmp_path, rundir, key, value, words):
    scen = tmp_path / "bad.ini"
    beyond = str(max(os.sched_getaffinity(0)) + 1)  # past the cores this process may use
    if value == "NEXT" and int(beyond) > 63:
        pytest.skip("this process may use CPU 63: no CPU a scenario can name is past its own")
    value, words = value.replace("NEXT", beyond), words.replace("NEXT", beyond)
    scen.write_text(f"[lab]\n\n{key} = {value}\n[host.a]\nbehind = internet\n")
    r = natlab("up", str(scen), check=False)
    assert r.returncode != 0 and f"{scen}:3: {key}: {words}" in r.stderr, r.stderr
    assert natlab("list").stdout == "" and not list(rundir.glob("*.json"))


@pytest.mark.parametrize("how", ["taskset", "cpus"])
def test_a_run_keeps_as_many_labs_at_once_as_its_cpus(tmp_path, rundir, how):
    """natlab run on one CPU (taskset, as a CI job's cpuset does; or every lab's
    [lab] cpus) counts that one, not the machine's: its labs at once, its meta"""
    cpu = last_cpu()
    scen = tmp_path / "j.ini"
    scen.write_text("[lab]\nname = j\n" + (f"cpus = {cpu}\n" if how == "cpus" else "") +
                    "[nat.na]\nprofile = full-cone\n[nat.nb]\nprofile = full-cone\n"
                    "[host.a]\nbehind = na\n[host.b]\nbehind = nb\n[host.rv]\nbehind = internet\n"
                    "[run]\npair = a b\nstrategies = so\nrepeat = 2\n")
    out = tmp_path / "out"
    pre = ["taskset", "-c", str(cpu)] if how == "taskset" else []
    r = subprocess.run(pre + [NATLAB, "run", "--out", str(out), str(scen)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    run = json.loads((out / "meta.json").read_text())["run"]
    assert run["cpus"] == 1 and run["jobs"] == 1  # cpus: what it counted, before any halving
    recs = [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]
    assert [x["outcome"] for x in recs] == ["connected", "connected"]
