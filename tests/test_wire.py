"""The wire: delay, jitter, loss, scripted faults and capture, measured with real packets."""
import hashlib
import json
import os
import socket
import statistics
import struct
import subprocess
import threading
import time

import pytest

from labkit import connect_outcome

# One worker runs these one after another: the timing tests measure the wire to
# tenths of a millisecond, and the bulk transfers here (20 MB at several Gbit/s,
# then tshark over the capture) took the cores from them when they ran side by
# side. The wire's precision beside such a load is bench/latency.sh's business.
pytestmark = pytest.mark.xdist_group("wire")

TWO_HOSTS = """
[lab]
capture = {capture}
seed = 7
[host.x]
behind = internet
{xlink}
[host.y]
behind = internet
{ylink}
{extra}
"""


def two_hosts(make_lab, xlink="", ylink="", extra="", capture="off"):
    return make_lab(TWO_HOSTS.format(xlink=xlink, ylink=ylink, extra=extra, capture=capture))


# SO_TIMESTAMPNS and its control message (asm-generic; Python's socket module lacks them)
SO_TIMESTAMPNS = 35


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def rtts(lab, n, spacing=0.005):
    """Round trips x -> y -> x, ms: ICMP echo, answered by y's kernel, from the
    sender's clock right before sendto to the kernel's receive stamp of the reply.
    No process wakes up on the way (the wire is the only one in it): a Python echo
    server's and client's wake-ups, 0.1-0.3 ms under make check's load, are this
    test's, not the wire's."""
    raw = lab.sock("x", socket.SOCK_RAW, proto=socket.IPPROTO_ICMP)
    raw.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    raw.settimeout(3)
    ident = os.getpid() & 0xFFFF
    out = []
    for seq in range(n + 1):  # the first one warms ARP on both sides
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, icmp_checksum(hdr + b"natlab"), ident, seq) + b"natlab"
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        raw.sendto(pkt, (lab.addr("y"), 0))
        while True:
            data, anc, _, _ = raw.recvmsg(256, 64)
            ihl = (data[0] & 0x0F) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq == seq:
                break
        stamps = [d for level, kind, d in anc if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
        sec, nsec = struct.unpack("qq", stamps[0][:16])
        if seq:
            out.append((sec * 10**9 + nsec - t0) / 1e6)
        time.sleep(spacing)
    return out


@pytest.mark.parametrize("sides", [1, 2])
@pytest.mark.parametrize("delay", [1, 10, 50, 200])
def test_rtt_follows_configured_delay(make_lab, delay, sides):
    # delay on x's link, or on both: each ping crosses each link twice
    ylink = f"delay_ms = {delay}" if sides == 2 else ""
    lab = two_hosts(make_lab, xlink=f"delay_ms = {delay}", ylink=ylink)
    got = statistics.median(rtts(lab, 21 if delay < 50 else 11))
    want = 2 * sides * delay
    assert abs(got - want) <= 0.2 + 0.01 * want, f"median RTT {got:.3f} ms, configured {want} ms"


def test_rtt_follows_configured_delay_read_by_system_calls(make_lab, monkeypatch):
    """The wire's other way of reading (recvmmsg, where the kernel makes no receive
    ring, or asked for by NATLAB_WIRE_NO_RING) keeps the same delay; its log says
    it read that way."""
    monkeypatch.setenv("NATLAB_WIRE_NO_RING", "1")
    lab = two_hosts(make_lab, xlink="delay_ms = 10")
    got = statistics.median(rtts(lab, 21))
    assert abs(got - 20) <= 0.2 + 0.01 * 20, f"median RTT {got:.3f} ms, configured 20 ms"
    log = open(lab.show()["wire"]["log"]).read()
    assert "no receive ring (NATLAB_WIRE_NO_RING)" in log, log


def one_way(lab, n, spacing):
    """Sends n datagrams x -> y, spacing seconds apart; returns the one-way delay (ms)
    of each that arrived: from the sender's clock right before sendto to the kernel's
    receive timestamp at y (all namespaces share the real-time clock). The
    receiver's own wake-up is left out: it is this test's, not the wire's."""
    rx = lab.sock("y", bind=(lab.addr("y"), 7001))
    rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    tx = lab.sock("x")
    got = {}
    # the first datagram waits for ARP across the wire: send it before measuring,
    # as often as loss needs
    rx.settimeout(0.5)
    for _ in range(20):
        tx.sendto(b"warm", (lab.addr("y"), 7001))
        try:
            if rx.recv(64) == b"warm":
                break
        except socket.timeout:
            pass

    def receive():
        rx.settimeout(1.0)
        while True:
            try:
                data, anc, _, _ = rx.recvmsg(64, 64)
            except socket.timeout:
                return
            stamps = [d for level, kind, d in anc if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS]
            if data == b"warm" or not stamps:
                continue
            sec, nsec = struct.unpack("qq", stamps[0][:16])
            seq, sent = data.decode().split()
            got[int(seq)] = (sec * 10**9 + nsec - int(sent)) / 1e6

    t = threading.Thread(target=receive)
    t.start()
    start = time.monotonic()
    for i in range(n):
        # paced against the clock, so a late wake-up does not bunch the rest
        while time.monotonic() < start + i * spacing:
            time.sleep(0.0005)
        msg = f"{i} {time.clock_gettime_ns(time.CLOCK_REALTIME)}".encode()
        tx.sendto(msg, (lab.addr("y"), 7001))
    t.join()
    return got


def wire_stalls(lab):
    """Frames the wire released 1 ms or more late: wake-ups the machine did not give
    it (it spins through anything shorter). Nonzero: the machine stalled under it."""
    time.sleep(0.05)  # the wire rewrites its figures 10 ms after its last frame
    with open(lab.info["wire"]["stats"]) as f:
        return sum(count for us, count in json.load(f)["late_us"] if us >= 1000)


def test_jitter_is_normal_with_configured_spread(make_lab):
    # packets 5 ms apart, so keeping them in order (no reorder) almost never holds one
    # back: that needs two draws 3.5 sd apart
    stalls = []
    for attempt in (1, 2):
        lab = two_hosts(make_lab, xlink="delay_ms = 20\njitter_ms = 1")
        got = one_way(lab, 1000, 0.005)
        delays = list(got.values())
        mean, sd = statistics.fmean(delays), statistics.stdev(delays)
        held = len(delays) == 1000 and abs(mean - 20) < 0.25 and 0.9 < sd < 1.1
        # one stall of the host (1-4 ms, a few a second on a virtual machine) moves a
        # frame by its length and the sd of 1000 by a tenth: when the wire's own record
        # says the machine stalled under it, the measurement is made once more. A wire
        # that gets jitter wrong fails both.
        if held:
            break
        stalls.append(wire_stalls(lab))
        if not stalls[-1]:
            break
    if not held and len(stalls) == 2 and all(0 < s <= 50 for s in stalls) \
            and abs(statistics.median(delays) - 20) < 0.25:
        # the host took the CPU away under both measurements (a few frames out of a
        # thousand, each 1 ms or more late by the wire's own record) while the bulk of
        # them kept the configured delay (the median within the mean's bound; the
        # sender's stamp before sendto puts it ~0.1 ms above): the machine, not the
        # wire, cannot hold the bound now. A wire that is late by itself is late in most frames, and shifts
        # the median, which fails here and in test_rtt_follows_configured_delay.
        pytest.skip(f"the machine stalled under the wire in both measurements ({stalls[0]} and "
                    f"{stalls[1]} of 1000 frames 1 ms or more late; sd {sd:.3f}): jitter not judged")
    assert len(delays) == 1000
    # standard errors over 1000 samples: mean 0.03 ms, sd about 2.2 %
    assert abs(mean - 20) < 0.25, (mean, stalls)
    assert 0.9 < sd < 1.1, (sd, stalls, statistics.median(delays))
    # no reordering unless asked: arrival order is send order
    assert list(got) == sorted(got)


def test_reorder_on_lets_jitter_reorder(make_lab):
    lab = two_hosts(make_lab, xlink="delay_ms = 20\njitter_ms = 5", extra="")
    lab2 = make_lab(TWO_HOSTS.format(xlink="delay_ms = 20\njitter_ms = 5", ylink="",
                                     extra="", capture="off").replace("seed = 7", "seed = 7\nreorder = on"),
                    name="reorder.ini")
    kept = one_way(lab, 200, 0.001)
    mixed = one_way(lab2, 200, 0.001)
    assert list(kept) == sorted(kept)
    assert list(mixed) != sorted(mixed)


@pytest.mark.parametrize("where", ["xlink", "ylink"])
def test_loss_rate(make_lab, where):
    lab = two_hosts(make_lab, **{where: "loss = 0.1"})
    got = one_way(lab, 1000, 0.0005)
    # binomial(1000, 0.1): sd 9.5; 4.5 sd either way
    assert 857 <= len(got) <= 943, len(got)


def test_same_seed_same_losses(make_lab):
    a = two_hosts(make_lab, xlink="loss = 0.3")
    first = set(one_way(a, 300, 0.0005))
    b = make_lab(TWO_HOSTS.format(xlink="loss = 0.3", ylink="", extra="", capture="off"),
                 name="again.ini")
    assert set(one_way(b, 300, 0.0005)) == first


def tshark_tcp(path):
    """(source address, flags) of every TCP segment in the capture, in file order."""
    out = subprocess.run(["tshark", "-r", path, "-Y", "tcp", "-T", "fields", "-e", "ip.src",
                          "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin",
                          "-e", "tcp.flags.reset", "-e", "frame.time_epoch"],
                         capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        src, syn, ack, fin, rst, t = line.split("\t")
        flags = "".join(f for f, on in (("S", syn), ("A", ack), ("F", fin), ("R", rst))
                        if on in ("1", "True"))
        segs.append((src, flags, float(t)))
    return segs


def simultaneous_open(lab, xport=5000, yport=6000, sent=None):
    """Both dial at once; `sent`, a list, gets the wall-clock times before x's
    connect, between the two and after y's: x's SYN left in the first span, y's in
    the second (on a loaded machine this test process may lose its core between)."""
    a = lab.sock("x", socket.SOCK_STREAM, bind=(lab.addr("x"), xport), reuse=True)
    b = lab.sock("y", socket.SOCK_STREAM, bind=(lab.addr("y"), yport), reuse=True)
    a.setblocking(False)
    b.setblocking(False)
    t0 = time.time()
    a.connect_ex((lab.addr("y"), yport))
    t1 = time.time()
    b.connect_ex((lab.addr("x"), xport))
    t2 = time.time()
    if sent is not None:
        sent.extend([t0, t1, t2])
    return connect_outcome(a, None, 3), connect_outcome(b, None, 3)


def test_pcap_of_simultaneous_open(make_lab):
    # x's link is 20 ms long, y's 0: y's SYN reaches the core first, x's 20 ms later;
    # each SYN meets a socket in SYN_SENT, each answers SYN-ACK, each then ACKs
    lab = two_hosts(make_lab, xlink="delay_ms = 20", capture="on")
    lab.sock("x").sendto(b"arp", (lab.addr("y"), 9))  # resolve ARP before the race
    time.sleep(0.1)
    sent = []
    assert simultaneous_open(lab, sent=sent) == ("connected", "connected")
    time.sleep(0.1)
    x, y = lab.addr("x"), lab.addr("y")
    segs = tshark_tcp(lab.show()["pcap"])
    assert [(s, f) for s, f, _ in segs[:6]] == [
        (y, "S"), (x, "S"), (y, "SA"), (x, "SA"), (y, "A"), (x, "A")]
    assert sum("S" in f for _, f, _ in segs) == 4
    # timestamps are the core's: x's segments show there 20 ms after it sent them,
    # y's at once; x sent in [t0, t1], y in [t1, t2], so the gap at the core is at
    # most 20 ms and at least 20 ms less the time between the two sends
    t0, t1, t2 = sent
    gap = segs[1][2] - segs[0][2]
    assert 0.018 - (t2 - t0) < gap < 0.022, f"gap {gap * 1e3:.3f} ms, sends {(t2 - t0) * 1e3:.3f} ms apart"


def tcp_connect_time(lab, port=8000):
    srv = lab.sock("y", socket.SOCK_STREAM, bind=(lab.addr("y"), port), reuse=True)
    srv.listen(4)
    c = lab.sock("x", socket.SOCK_STREAM)
    t = time.monotonic()
    outcome = connect_outcome(c, (lab.addr("y"), port), timeout=6)
    return outcome, time.monotonic() - t


def test_fault_drops_first_syns(make_lab):
    lab = two_hosts(make_lab, capture="on", extra="[fault.lose]\nat = x\nmatch = tcp-syn\n"
                                                  "action = drop\ncount = 2\n")
    outcome, took = tcp_connect_time(lab)
    # Linux retransmits a SYN after 1 s, then 1 s later again: the third one passes
    assert outcome == "connected"
    assert 1.8 < took < 2.6, took
    time.sleep(0.1)
    syns = [s for s in tshark_tcp(lab.show()["pcap"]) if s[1] == "S"]
    assert [s[0] for s in syns] == [lab.addr("x")], "the dropped SYNs crossed the wire"
    # the events log still has the lost SYNs, at when they would have reached the
    # core (a run tells a lost first SYN from a late one by them), and marks them
    events = [json.loads(line) for line in open(lab.info["wire"]["events"])]
    assert [(e["kind"], e.get("lost", False)) for e in events] == [
        ("syn", True), ("syn", True), ("syn", False), ("synack", False)]
    gaps = [b["t"] - a["t"] for a, b in zip(events, events[1:3])]
    assert all(0.8 < g < 1.3 for g in gaps), gaps  # Linux's SYN retransmissions, 1 s apart


def test_fault_drops_inbound_after_the_core(make_lab):
    # direction = in: the SYNs are lost on y's link, after the capture point
    lab = two_hosts(make_lab, capture="on", extra="[fault.lose]\nat = y\ndirection = in\n"
                                                  "match = tcp-syn\naction = drop\ncount = 2\n")
    outcome, took = tcp_connect_time(lab)
    assert outcome == "connected" and 1.8 < took < 2.6, (outcome, took)
    time.sleep(0.1)
    syns = [s for s in tshark_tcp(lab.show()["pcap"]) if s[1] == "S"]
    assert [s[0] for s in syns] == [lab.addr("x")] * 3


@pytest.mark.parametrize("extra_ms", [0, 30])
def test_fault_delays_one_class(make_lab, extra_ms):
    lab = two_hosts(make_lab, xlink="delay_ms = 5",
                    extra=f"[fault.slow]\nat = x\nmatch = tcp-syn\naction = delay\n"
                          f"extra_ms = {extra_ms}\n")
    lab.sock("x").sendto(b"arp", (lab.addr("y"), 9))
    time.sleep(0.05)
    outcome, took = tcp_connect_time(lab)
    assert outcome == "connected"
    # SYN out (5 ms + extra), SYN-ACK back (5 ms); slack for a busy test machine
    want = 0.010 + extra_ms / 1000
    assert want < took < want + 0.008, took


def transfer(lab, size, port=9000, to=None):
    """size random bytes x -> y (at y's address in the lab, or at `to`) over TCP;
    returns (sent digest, received digest, bytes received, seconds)."""
    data = os.urandom(size)
    to = to or lab.addr("y")
    srv = lab.sock("y", socket.SOCK_STREAM, bind=(to, port), reuse=True)
    srv.listen(1)
    got = hashlib.sha256()
    n = [0]

    def receive():
        conn, _ = srv.accept()
        conn.settimeout(60)
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            got.update(chunk)
            n[0] += len(chunk)
        conn.close()

    t = threading.Thread(target=receive)
    t.start()
    c = lab.sock("x", socket.SOCK_STREAM)
    c.settimeout(60)
    start = time.monotonic()
    c.connect((to, port))
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    t.join(120)
    took = time.monotonic() - start
    return hashlib.sha256(data).hexdigest(), got.hexdigest(), n[0], took


def test_bulk_tcp_through_lossy_delayed_wire(make_lab):
    lab = two_hosts(make_lab, xlink="delay_ms = 20\nloss = 0.01")
    sent, received, n, took = transfer(lab, 20 * 1000 * 1000)
    assert n == 20 * 1000 * 1000
    assert received == sent


def test_rate_limit_paces_a_bulk_transfer(make_lab):
    # 20 Mbit/s on x's link: 3 MB of payload (and its headers) cannot cross in
    # less than 1.2 s; and the link is not starved either (TCP over a 50 ms
    # queue keeps it mostly busy)
    lab = two_hosts(make_lab, xlink="rate_mbit = 20")
    size = 3 * 1000 * 1000
    sent, received, n, took = transfer(lab, size)
    assert n == size and received == sent
    floor = size * 8 / 20e6
    assert took >= floor, f"{size * 8 / took / 1e6:.1f} Mbit/s through a 20 Mbit/s link"
    assert took < 2 * floor, f"{size * 8 / took / 1e6:.1f} Mbit/s: the link idles"


def test_duplicate_sends_a_share_of_frames_twice(make_lab):
    # duplicate = 0.5 into y: each datagram arrives twice with probability 1/2;
    # 400 datagrams give 600 on average (sd 10), never fewer than 500 by chance
    lab = two_hosts(make_lab, ylink="duplicate = 0.5")
    rx = lab.sock("y", bind=(lab.addr("y"), 7000))
    rx.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)  # SO_RCVBUFFORCE: hold them all until read
    rx.settimeout(0.5)
    tx = lab.sock("x", bind=(lab.addr("x"), 7001))
    for i in range(400):
        tx.sendto(b"%d" % i, (lab.addr("y"), 7000))
        time.sleep(0.0005)
    got = []
    try:
        while True:
            got.append(int(rx.recv(64)))
    except socket.timeout:
        pass
    assert set(got) == set(range(400))  # none lost
    assert 500 < len(got) < 700, len(got)


def ring_handover(lab):
    """Datagrams x -> y from as soon as the test can send until 2,000 past the
    moment the wire's log says its ring took over: (frames the wire read before
    the switch, sent, doubled, the first lost, the log)"""
    log_path = lab.show()["wire"]["log"]
    rx = lab.sock("y", bind=(lab.addr("y"), 7000))
    rx.setsockopt(socket.SOL_SOCKET, 33, 1 << 22)  # SO_RCVBUFFORCE: hold them all until read
    rx.settimeout(0.5)
    tx = lab.sock("x", bind=(lab.addr("x"), 7001))
    got = []

    def receive():  # as they come: y's buffer would not hold them all
        try:
            while True:
                got.append(int(rx.recv(64)))
        except socket.timeout:
            pass

    reader = threading.Thread(target=receive)
    reader.start()
    sent, after, deadline = 0, None, time.monotonic() + 5
    while time.monotonic() < deadline and (after is None or sent < after + 2000):
        tx.sendto(b"%d" % sent, (lab.addr("y"), 7000))
        sent += 1
        time.sleep(0.00005)  # the reader's turn (the GIL): about 10,000 a second
        if sent % 50 == 0 and after is None and "took over" in open(log_path).read():
            after = sent
    reader.join()
    log = open(log_path).read()
    assert after is not None, f"the ring never took over: {log}"
    before = int(log.split("took over after ")[1].split()[0])
    lost = sorted(set(range(sent)) - set(got))
    return before, sent, len(got) - len(set(got)), lost, log


def test_no_frame_lost_or_doubled_while_the_receive_ring_takes_over(make_lab):
    # the wire forwards from its first socket at once and its receive ring, made
    # beside it (an RCU grace period or three), takes over some 20-60 ms later
    # (wire/ringswap.c): datagrams sent through that moment arrive once each. On
    # a loaded machine the switch may come before this test's first datagram
    # (then nothing crossed it): a fresh lab, five at most, until one crossed it
    crossed = []
    for k in range(5):
        lab = make_lab(TWO_HOSTS.format(xlink="", ylink="", extra="", capture="off"), name=f"ring{k}.ini")
        before, sent, doubled, lost, log = ring_handover(lab)
        assert (doubled, lost[:10]) == (0, []), f"{doubled} doubled, {len(lost)} of {sent} lost; {log}"
        crossed.append((before, sent))
        lab.down()
        if 0 < before < sent:
            break
    assert [c for c in crossed if 0 < c[0] < c[1]], f"no lab's datagrams crossed the switch: {crossed}"


def test_events_log_rst_and_icmp(make_lab):
    lab = two_hosts(make_lab)
    x, y = lab.addr("x"), lab.addr("y")
    c = lab.sock("x", socket.SOCK_STREAM, bind=(x, 5555))
    assert connect_outcome(c, (y, 4444), timeout=2) == "ECONNREFUSED"
    u = lab.sock("x", bind=(x, 5556))
    u.sendto(b"x", (y, 4445))
    time.sleep(0.1)
    events = [json.loads(line) for line in open(lab.info["wire"]["events"])]
    assert [(e["kind"], e["from"], e["to"], e["src"], e["dst"]) for e in events] == [
        ("syn", "x", "y", f"{x}:5555", f"{y}:4444"),
        ("rst", "y", "x", f"{y}:4444", f"{x}:5555"),
        ("icmp", "y", "x", f"{y}:0", f"{x}:0"),
    ]
    assert (events[2]["icmp_type"], events[2]["icmp_code"]) == (3, 3)  # port unreachable
    assert events[0]["t"] <= events[1]["t"] <= events[2]["t"]


def test_the_internet_is_one_hop(make_lab):
    # TTL goes down by one at the core; a packet left with TTL 1 dies there
    lab = two_hosts(make_lab)
    rx = lab.sock("y", bind=(lab.addr("y"), 7002))
    rx.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
    rx.settimeout(0.5)
    tx = lab.sock("x")
    got = {}
    for ttl in (1, 2, 64):
        tx.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        tx.sendto(b"%d" % ttl, (lab.addr("y"), 7002))
        try:
            data, anc, _, _ = rx.recvmsg(16, socket.CMSG_SPACE(4))
            got[int(data)] = int.from_bytes(anc[0][2][:4], "little")
        except socket.timeout:
            pass
    assert got == {2: 1, 64: 63}


def tshark_frames(path, *fields, display="tcp", port=9000):
    """The given fields of every frame in the capture that matches display, one tuple each.
    The transfer's port is decoded as plain data: its random bytes, taken for a
    protocol (9000 is S101's, and heuristics try the rest), once gave a payload
    dissector's "trailing stray characters" error to a frame that was sound."""
    out = subprocess.run(["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE", "-d", f"tcp.port=={port},data",
                          "-Y", display,
                          "-T", "fields", *[a for f in fields for a in ("-e", f)]],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def test_bulk_tcp_through_clean_wire(make_lab):
    # a clean wire keeps offloads on: TCP crosses it in GSO super-frames, which the
    # capture shows as one record each with its checksum finished, as on a line
    lab = two_hosts(make_lab, capture="on")
    sent, received, n, _ = transfer(lab, 20 * 1000 * 1000)
    assert n == 20 * 1000 * 1000
    assert received == sent
    # a super-frame is larger than a slot of the receive ring: it came by the
    # socket's queue, in the ring's order (the digest above)
    log = open(lab.show()["wire"]["log"]).read()
    assert "receive ring of 240 slots" in log, log
    time.sleep(0.1)
    pcap = lab.show()["pcap"]
    sizes = [int(length) for length, in tshark_frames(pcap, "frame.len")]
    assert max(sizes) > 1514, "no super-frame on a clean wire"
    assert sum(sizes) > 20 * 1000 * 1000
    # a frame whose finished checksum came to 0 was once written as 0xffff, which
    # Wireshark calls bad (about one frame in 65,536; tests/unit/test_wire_packet.c)
    bad = tshark_frames(pcap, "frame.number", "frame.len", "ip.len", "tcp.len", "tcp.flags.str",
                        display="tcp.checksum.status == 0")
    assert bad == [], f"frames with a bad TCP checksum (number, frame, IP, TCP length, flags): {bad}"
    bad = tshark_frames(pcap, "frame.number", "_ws.expert.message", "frame.len", "ip.len", "tcp.len",
                        "tcp.flags.str", display="_ws.malformed or _ws.expert.severity >= error")
    assert bad == [], f"malformed frames (number, message, frame, IP, TCP length, flags): {bad[:5]}"


def test_tcp_inside_a_vxlan_tunnel_crosses_a_clean_wire(make_lab):
    # a tunnel's GSO super-frame is not one a virtio_net_hdr describes: the hosts'
    # uplinks keep GSO to TCP and UDP, so the tunnel's host segments it, as a line
    # would need (with it on, 0.4 MB of these 20 crossed in 10 s, then nothing)
    lab = two_hosts(make_lab)
    for me, peer, inner in (("x", "y", "10.9.0.1/24"), ("y", "x", "10.9.0.2/24")):
        try:
            lab.exec(me, "ip", "link", "add", "vx0", "type", "vxlan", "id", "42", "remote", lab.addr(peer),
                     "local", lab.addr(me), "dstport", "4789", "dev", "eth0")
        except subprocess.CalledProcessError as e:
            if "Unknown device type" in (e.stderr or ""):
                pytest.skip("this kernel has no VXLAN")
            raise
        lab.exec(me, "ip", "addr", "add", inner, "dev", "vx0")
        lab.exec(me, "ip", "link", "set", "vx0", "up")
    sent, received, n, took = transfer(lab, 20 * 1000 * 1000, to="10.9.0.2")
    assert n == 20 * 1000 * 1000 and received == sent, f"{n} bytes of 20 MB through the tunnel in {took:.1f} s"


def test_lossy_wire_carries_frames_as_on_a_line(make_lab):
    # loss acts per packet: a lossy wire turns offloads off, so every frame it loses
    # or passes is one packet of at most the MTU, checksum complete
    lab = two_hosts(make_lab, ylink="loss = 0.01", capture="on")
    sent, received, n, _ = transfer(lab, 5 * 1000 * 1000)
    assert n == 5 * 1000 * 1000 and received == sent
    time.sleep(0.1)
    pcap = lab.show()["pcap"]
    sizes = [int(length) for length, in tshark_frames(pcap, "frame.len")]
    assert max(sizes) <= 1514
    # about 1 % of the 3400-odd data segments lost on y's link, each retransmitted
    retrans = tshark_frames(pcap, "frame.number", display="tcp.analysis.retransmission")
    assert len(retrans) >= 5, len(retrans)
