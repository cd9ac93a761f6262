"""Test-side helpers: bring labs up with the natlab command and open real sockets
inside their namespaces (setns on this thread, so no process per probe)."""
import ctypes
import errno
import json
import os
import select
import socket
import subprocess
import time
from contextlib import contextmanager

import natlab as natlab_api  # python/natlab, on the path by pytest.ini

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NATLAB = os.environ.get("NATLAB", os.path.join(ROOT, "build", "natlab"))
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


# One NAT "n" (port-restricted cone unless the profile is replaced) with knob
# overrides, two hosts behind it, and a server in the internet with two addresses.
ONE_NAT = """
[nat.n]
profile = {profile}
{knobs}
[host.a]
behind = n
[host.b]
behind = n
[host.rv]
behind = internet
addresses = 2
"""


def one_nat(knobs="", profile="port-restricted-cone"):
    return ONE_NAT.format(knobs=knobs, profile=profile)


def two_nats(a, b, run, lab=None, na=None, nb=None, host_a=None, more=""):
    """The usual pair: NAT na (profile a) over host a, nb (profile b) over host b,
    rv in the internet, [run] between a and b with the keys of `run`; `lab`, `na`,
    `nb`, `host_a`: keys of those sections; `more`: sections after it."""
    sections = {"lab": lab} if lab else {}
    sections.update({"nat.na": {"profile": a, **(na or {})}, "nat.nb": {"profile": b, **(nb or {})},
                     "host.a": {"behind": "na", **(host_a or {})}, "host.b": {"behind": "nb"},
                     "host.rv": {"behind": "internet"}, "run": {"pair": "a b", **run}})
    return natlab_api.scenario_text(sections) + more


def reference_run(tmp_path, lines=None, keep=None):
    """A run directory TMP/run holding records of the checked-in reference run: its
    first LINES, or those KEEP(line) is true for."""
    out = tmp_path / "run"
    out.mkdir()
    with open(os.path.join(ROOT, "results", "reference", "attempts.jsonl")) as f:
        chosen = [line for line in f if keep is None or keep(line)]
    (out / "attempts.jsonl").write_text("".join(chosen[:lines]))
    return out


def reference_records():
    """The checked-in reference run's records, as dicts."""
    with open(os.path.join(ROOT, "results", "reference", "attempts.jsonl")) as f:
        return [json.loads(line) for line in f]


def so_at_skew0():
    """The reference run's so attempts at skew 0 and 20 ms (no edge probes)."""
    return [r for r in reference_records()
            if r["strategy"] == "so" and r["skew_ms"] == 0 and r["rtt_ms"] == 20 and "edge_search" not in r]


def off_schedule(recs, a, b):
    """Marks the records of pair a, b as run off schedule (their cell unmeasured)."""
    for r in recs:
        if (r["profiles"]["a"], r["profiles"]["b"]) == (a, b):
            r["on_schedule"] = False


def records_run(tmp_path, recs):
    """TMP/run holding recs as its attempts.jsonl, written anew."""
    out = tmp_path / "run"
    out.mkdir(exist_ok=True)
    (out / "attempts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return out


def natlab(*args, check=True, **kw):
    return subprocess.run([NATLAB, *args], capture_output=True, text=True, check=check, **kw)


@contextmanager
def netns(name):
    """Runs the block with this thread inside network namespace NAME."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"setns {name}")
        yield
    finally:
        if _libc.setns(back, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns back")
        os.close(fd)
        os.close(back)


class Lab(natlab_api.Lab):
    """natlab's Python API (python/natlab) and the tests' own shorthands: nodes
    as natlab show gives them, sockets by node name, mappings as show's dicts."""

    def __init__(self, path):
        super().__init__(path)
        self.info = self.show()
        self.nodes = self.info["nodes"]

    def addr(self, node, i=0):
        return self.nodes[node]["addrs"][i].split("/")[0]

    def wan(self, node):
        return self.nodes[node]["wan"]

    def sock(self, node, kind=socket.SOCK_DGRAM, bind=None, reuse=False, proto=0):
        with netns(self.nodes[node]["netns"]):
            s = socket.socket(socket.AF_INET, kind, proto)
        self._socks.append(s)
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if bind is not None:
            s.bind(bind)
        return s

    def mappings(self, nat):
        return self.show()["nodes"][nat]["mappings"]  # dicts, as the tests compare text

    def exec(self, node, *cmd, **kw):
        return natlab("exec", self.name, node, "--", *cmd, **kw)

    def nft_rule(self, node, hook, rule):
        """A rule of the test's own in node's namespace: its own table (t), a
        filter chain on `hook` (input, forward, ...)."""
        return self.exec(node, "nft", f"add table ip t; add chain ip t on_{hook} "
                         f"{{ type filter hook {hook} priority 0; }}; add rule ip t on_{hook} {rule}")


def udp_observed(lab, node, port, server, sport, sock=None):
    """The source endpoint that a server in the internet sees for node:port.
    With sock (bound to that port already) the caller keeps it open."""
    c = sock or lab.sock(node, socket.SOCK_DGRAM, bind=("0.0.0.0", port), reuse=True)
    s = lab.sock(server[0], socket.SOCK_DGRAM, bind=(server[1], sport))
    s.settimeout(2)
    c.sendto(b"x", (server[1], sport))
    _, src = s.recvfrom(100)
    if sock is None:
        c.close()
    s.close()
    return src


# which probes each filtering passes: same remote endpoint, same address other port,
# other address
FILTER_PROBES = {"same": (0, 7000), "other_port": (0, 7001), "other_addr": (1, 7000)}


def udp_filtering_passes(lab):
    """One datagram from a:5000 opens a mapping towards (rv address 0, 7000); which of
    FILTER_PROBES' endpoints then get a datagram back through it to a."""
    a = lab.sock("a", bind=("0.0.0.0", 5000))
    servers = {k: lab.sock("rv", bind=(lab.addr("rv", i), p)) for k, (i, p) in FILTER_PROBES.items()}
    servers["same"].settimeout(2)
    a.sendto(b"hello", (lab.addr("rv", 0), 7000))
    _, ext = servers["same"].recvfrom(100)
    return {k: udp_reaches(servers[k], ext, a) for k in FILTER_PROBES}


def udp_reaches(sender, dest, receiver, timeout=0.5):
    """Sends from socket sender to dest; True if receiver gets it."""
    receiver.settimeout(timeout)
    tag = os.urandom(8)
    sender.sendto(tag, dest)
    deadline = time.monotonic() + timeout
    while True:
        try:
            data, _ = receiver.recvfrom(100)
        except (socket.timeout, ConnectionRefusedError):
            return False
        if data == tag:
            return True
        if time.monotonic() > deadline:
            return False


def connect_outcome(sock, dest, timeout):
    """'connected', 'timeout', or the errno name of a failed TCP connect.
    dest None: the connect is under way already; wait for its outcome."""
    sock.setblocking(False)
    err = sock.connect_ex(dest) if dest is not None else errno.EINPROGRESS
    if err not in (0, errno.EINPROGRESS):
        return errno.errorcode[err]
    _, w, _ = select.select([], [sock], [], timeout)
    if not w:
        return "timeout"
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return "connected" if err == 0 else errno.errorcode[err]


def tcp_observed(lab, node, port, server, sport, keep=False):
    """The source endpoint a TCP server in the internet sees for node:port."""
    srv = lab.sock(server[0], socket.SOCK_STREAM, bind=(server[1], sport), reuse=True)
    srv.listen(4)
    c = lab.sock(node, socket.SOCK_STREAM, bind=("0.0.0.0", port), reuse=True)
    c.settimeout(2)
    c.connect((server[1], sport))
    srv.settimeout(2)
    conn, src = srv.accept()
    lab._socks.append(conn)
    if not keep:
        c.close()
        srv.close()
    return src


def netns_list():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())
