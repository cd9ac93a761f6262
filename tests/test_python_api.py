"""natlab's Python API and pytest plugin as a user meets them: only `import natlab`
and the natlab_lab fixture, real packets through real NATs."""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest

import natlab

PYTHON_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")

# A server behind a full cone, a client behind a port-restricted cone, a rendezvous
# host in the internet; every frame at the core captured.
TWO_NATS = {
    "lab": {"capture": True},
    "nat.home_s": {"profile": "full-cone"},
    "nat.home_c": {"profile": "port-restricted-cone"},
    "host.srv": {"behind": "home_s"},
    "host.cli": {"behind": "home_c"},
    "host.rv": {"behind": "internet"},
}

# The user's own programs. The server opens its NAT's mapping by dialling out from
# its port first (a full cone then lets anyone in), and answers one client.
SERVER = textwrap.dedent("""
    import socket, sys
    port, rv = int(sys.argv[1]), sys.argv[2]
    def sock():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("0.0.0.0", port))
        return s
    ls = sock(); ls.listen(1)
    d = sock(); d.settimeout(1)
    try: d.connect((rv, 9))
    except OSError: pass
    print("listening", flush=True)
    c, peer = ls.accept()
    c.sendall(b"hello %s:%d" % (peer[0].encode(), peer[1]))
    c.close()
""")
CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print(s.recv(100).decode())
""")


def tcp_syns(pcap_path):
    """(src, dst, dport) of each TCP SYN without ACK in a pcap of Ethernet frames."""
    out = []
    with open(pcap_path, "rb") as f:
        magic = f.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            caplen = struct.unpack(endian + "IIII", h)[2]
            frame = f.read(caplen)
            if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            ihl = (frame[14] & 0x0F) * 4
            tcp = frame[14 + ihl:]
            if len(tcp) >= 14 and tcp[13] & 0x12 == 0x02:
                out.append((".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34])),
                            struct.unpack("!H", tcp[2:4])[0]))
    return out


def test_tcp_server_behind_one_nat_client_behind_the_other(natlab_lab, tmp_path):
    lab = natlab_lab(TWO_NATS)
    srv, cli, nat_s, nat_c = lab.node("srv"), lab.node("cli"), lab.node("home_s"), lab.node("home_c")
    server = srv.popen(sys.executable, "-c", SERVER, "7000", lab.node("rv").addr)
    for _ in range(250):  # until it listens and has dialled out
        if "listening" in server.output()[0]:
            break
        assert server.returncode is None, server.output()
        time.sleep(0.02)
    out = cli.exec(sys.executable, "-c", CLIENT, nat_s.wan, "7000", timeout=10)
    # the server saw the client's NAT, not the client: a NAT made a mapping for it
    peer = out.stdout.strip().split()[1]
    assert peer.split(":")[0] == nat_c.wan
    assert server.wait(5) == 0
    # a program learns where it runs, and finds the lab's nodes by name
    assert srv.exec("sh", "-c", "echo $NATLAB_LAB $NATLAB_NODE").stdout.split() == [lab.name, "srv"]
    assert cli.exec("getent", "hosts", "srv").stdout.split() == [srv.addr, "srv", f"srv.{lab.name}"]
    assert cli.exec("getent", "hosts", f"home_s.{lab.name}").stdout.split()[0] == nat_s.wan

    # the server's NAT let the client in through the mapping the dial-out made
    # (a full cone keeps the port); the client's NAT mapped the client
    inbound = [m for m in lab.mappings("home_s") if m.proto == "tcp" and m.inbound]
    assert [(m.internal, m.external, m.remote) for m in inbound] == [
        ((srv.addr, 7000), (nat_s.wan, 7000), (nat_c.wan, int(peer.split(":")[1])))]
    assert [m.external for m in lab.mappings("home_c") if m.internal[0] == cli.addr] == [
        (nat_c.wan, int(peer.split(":")[1]))]

    # the capture at the core has the client's SYN, from its NAT's address, to the
    # server's public port; a copy outlives the lab
    kept = lab.pcap(copy_to=tmp_path / "run.pcap")
    assert (nat_c.wan, nat_s.wan, 7000) in tcp_syns(kept)
    # the ruleset in force translates to the NAT's own address
    assert f"snat to {nat_c.wan}" in lab.rules("home_c")


def test_failing_test_leaves_nothing_and_keeps_its_capture(tmp_path):
    """A user's test that fails: its lab and the process it started are gone after
    it, and its capture is kept and named in the report, with how late the lab's
    wire released frames. A test whose lab's wire was held up is a warning in the
    summary, though it passed."""
    record = tmp_path / "record"
    user = tmp_path / "user"
    user.mkdir()
    (user / "test_user.py").write_text(textwrap.dedent(f"""
        import os, signal, sys, time
        TWO = {{"lab": {{"capture": True}}, "nat.n": {{"profile": "symmetric"}},
                "host.a": {{"behind": "n"}}, "host.rv": {{"behind": "internet"}}}}

        def test_fails(natlab_lab):
            lab = natlab_lab(TWO)
            p = lab.node("a").popen("sleep", "600")
            lab.node("a").exec("ping", "-c", "1", "-W", "1", lab.node("rv").addr)
            with open({str(record)!r}, "w") as f:
                f.write(lab.name + " " + str(p.pid))
            time.sleep(0.05)  # the wire writes its figures 10 ms after its last frame
            assert False, "on purpose"

        def test_passes_with_its_wire_held_up(natlab_lab):
            # a delay to keep: frames due as they came have no bound of the delay's
            lab = natlab_lab(dict(TWO, **{{"nat.n": {{"profile": "symmetric", "delay_ms": 1}}}}), name="held")
            wire = lab.show()["wire"]["pid"]
            p = lab.node("a").popen("ping", "-c", "10", "-i", "0.01", lab.node("rv").addr)
            until = time.monotonic() + 5
            while p.output()[0].count("bytes from") < 2 and time.monotonic() < until:
                time.sleep(0.002)  # echoes under way: the stop holds the next ones
            os.kill(wire, signal.SIGSTOP)
            time.sleep(0.08)
            os.kill(wire, signal.SIGCONT)
            assert p.wait(10) == 0
            time.sleep(0.05)
            with open({str(record)!r} + ".held", "w") as f:
                f.write(lab.name)
    """))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "natlab.pytest_plugin", "-p", "no:cacheprovider", "-rA",
         "--basetemp", str(tmp_path / "inner"), "test_user.py"],
        capture_output=True, text=True, cwd=user, timeout=90,
        env={**os.environ, "PYTHONPATH": PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert "1 failed, 1 passed" in r.stdout, r.stdout + r.stderr
    lab, pid = record.read_text().split()
    listed = natlab.command("list").stdout
    assert lab not in listed
    assert not os.path.exists(f"/proc/{pid}"), "the program the test started still runs"
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert lab not in ns
    kept = tmp_path / "inner" / "test_fails0" / f"{lab}.pcap"
    assert f"captures kept: {kept}" in r.stdout, r.stdout
    assert kept.exists() and tcp_syns(kept) == []  # a ping: frames, but no SYN
    assert kept.stat().st_size > 24
    # the failed test's report: the echo and its answer crossed the wire, due as
    # they came (no delay on their links)
    assert f"{lab}: and 2 frames due as they came (no delay on their links), sent p50 " in r.stdout, r.stdout
    # the held-up lab: passed, and flagged in the warnings summary
    held = (tmp_path / "record.held").read_text()
    assert f"NatlabTimingWarning: lab {held}: the wire released frames" in r.stdout, r.stdout
    assert not re.search(rf"{held}: the wire released \d+ frames", r.stdout)  # no section for a pass

    # with the warning an error (-W error), the test errors at teardown, and its lab
    # has gone down all the same
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "natlab.pytest_plugin", "-p", "no:cacheprovider", "-rA",
         "-W", "error::natlab.pytest_plugin.NatlabTimingWarning", "-k", "held",
         "--basetemp", str(tmp_path / "inner2"), "test_user.py"],
        capture_output=True, text=True, cwd=user, timeout=90,
        env={**os.environ, "PYTHONPATH": PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")})
    held = (tmp_path / "record.held").read_text()
    assert "1 passed, 1 deselected, 1 error" in r.stdout and "NatlabTimingWarning" in r.stdout, r.stdout
    assert held not in natlab.command("list").stdout


def test_bad_scenario_is_a_clear_error(natlab_lab):
    with pytest.raises(natlab.NatlabError, match=r"lab.ini:3: unknown key \"colour\""):
        natlab_lab({"nat.n": {"profile": "full-cone", "colour": "blue"}, "host.a": {"behind": "n"}})


def test_programs_in_a_node(natlab_lab):
    """exec and popen as a user leans on them: env is added (natlab exec still finds
    the lab), output read while the program writes loses nothing, stop() ends what
    the program started too."""
    lab = natlab_lab({"nat.n": {"profile": "full-cone"}, "host.a": {"behind": "n"}})
    a = lab.node("a")
    assert a.exec("sh", "-c", "echo $MINE $NATLAB_NODE", env={"MINE": "x"}).stdout == "x a\n"

    p = a.popen("sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo line$i; done; sleep 60")
    seen, until = "", time.monotonic() + 20
    while seen.count("\n") < 20000 and time.monotonic() < until:
        seen = p.output()[0]  # read while it writes
    assert seen.splitlines() == [f"line{i}" for i in range(1, 20001)]
    assert p.returncode is None  # still sleeping

    q = a.popen("sh", "-c", "sleep 600 & echo $!; wait")
    until = time.monotonic() + 5
    while not q.output()[0].strip() and time.monotonic() < until:
        time.sleep(0.01)
    child = int(q.output()[0])
    q.stop()

    def sleeping(pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().startswith(b"sleep")
        except FileNotFoundError:
            return False
    # signalled by the time stop() returns; gone once the kernel has run it
    until = time.monotonic() + 5
    while sleeping(child) and time.monotonic() < until:
        time.sleep(0.01)
    assert q.returncode is not None and not sleeping(child)


def echoes_under_way(pinger):
    """until ping has had two answers: a stop of the wire then holds later echoes"""
    until = time.monotonic() + 5
    while pinger.output()[0].count("bytes from") < 2 and time.monotonic() < until:
        time.sleep(0.002)


def wire_figures_with(lab, frames):
    """lab.precision() once it counts `frames` frames: the wire writes its figures
    10 ms after its last frame"""
    until = time.monotonic() + 2
    while True:
        p = lab.precision()
        if (p and p["frames"] >= frames) or time.monotonic() > until:
            return p
        time.sleep(0.02)


@pytest.mark.filterwarnings("ignore::natlab.pytest_plugin.NatlabTimingWarning")  # held up on purpose
def test_a_lab_states_how_late_its_wire_released_frames(natlab_lab):
    """natlab show --wire (lab.precision()): how many frames the wire carried and how
    late against their due time; a wire held up (stopped, as a starved core would)
    is past its bounds, and natlab show says so."""
    lab = natlab_lab({"nat.n": {"profile": "full-cone", "delay_ms": 1}, "host.a": {"behind": "n"},
                      "host.rv": {"behind": "internet"}})
    a, rv = lab.node("a"), lab.node("rv")
    assert lab.precision() is None  # no frame yet: no figures, not zeros
    a.exec("ping", "-n", "-c", "10", "-i", "0.01", "-q", rv.addr)
    p = wire_figures_with(lab, 20)
    assert p["frames"] == 20  # each echo and its answer; nothing else crossed the internet
    assert 0 <= p["p50"] <= p["p99"] <= p["max"]
    assert p["bounds"] == {"p50": 20, "p99": 100}

    # 20 more echoes 10 ms apart; the wire stopped for 80 ms in the middle of them:
    # the echoes that waited in it left at least 30 ms after their due time
    wire = lab.show()["wire"]["pid"]
    pinger = a.popen("ping", "-n", "-c", "20", "-i", "0.01", rv.addr)
    echoes_under_way(pinger)
    os.kill(wire, signal.SIGSTOP)
    time.sleep(0.08)
    os.kill(wire, signal.SIGCONT)
    assert pinger.wait(10) == 0, pinger.output()
    p = wire_figures_with(lab, 60)
    assert p["frames"] == 60
    assert p["max"] == 9999  # 30 ms and more: the last bucket, that or later
    assert p["p99"] == p["max"]  # the 60th of 60 frames is the 99th percentile
    more = " or more" if p["p99"] == 9999 else ""
    assert any(w.startswith("the wire released frames") and f"{p['p99']} us{more} at p99" in w for w in p["warnings"])
    shown = natlab.command("show", lab.name).stdout
    assert f"wire: 60 frames, released late by p50 {p['p50']} us, p99 {p['p99']}" in shown
    assert "  warning: the wire released frames" in shown
    # the wire's figures alone read no NAT's conntrack table; the same figures
    assert json.loads(natlab.command("show", lab.name, "--json").stdout)["wire"]["precision"] == p
    assert p["at_once"] is None  # every frame had the NAT's millisecond to keep

    # no delay on any link: every frame is due as it comes, and what the wire adds
    # is its wake-up, counted apart, with no bound of the delay's; held up 80 ms,
    # those frames say so too (a millisecond or more at p99)
    bare = natlab_lab({"nat.n": {"profile": "full-cone"}, "host.a": {"behind": "n"},
                       "host.rv": {"behind": "internet"}}, name="bare")
    bare.node("a").exec("ping", "-n", "-c", "10", "-i", "0.01", "-q", bare.node("rv").addr)
    until = time.monotonic() + 2
    while not ((q := bare.precision()) and q["at_once"] and q["at_once"]["frames"] >= 20) and time.monotonic() < until:
        time.sleep(0.02)
    assert q["frames"] == 0 and q["p50"] is None and q["at_once"]["frames"] == 20, q
    assert 0 <= q["at_once"]["p50"] <= q["at_once"]["p99"] <= q["at_once"]["max"], q
    wire = bare.show()["wire"]["pid"]
    pinger = bare.node("a").popen("ping", "-n", "-c", "20", "-i", "0.01", bare.node("rv").addr)
    echoes_under_way(pinger)
    os.kill(wire, signal.SIGSTOP)
    time.sleep(0.08)
    os.kill(wire, signal.SIGCONT)
    assert pinger.wait(10) == 0, pinger.output()
    until = time.monotonic() + 2
    while (q := bare.precision())["at_once"]["frames"] < 60 and time.monotonic() < until:
        time.sleep(0.02)
    assert q["at_once"]["max"] == 1000 and q["at_once"]["p99"] == 1000, q  # the last bucket: 1 ms or later
    assert any(w.startswith("the wire sent frames due as they came 1000 us or more") for w in q["warnings"]), q
