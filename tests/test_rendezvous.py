"""The rendezvous server under abuse: garbage, a 1 MB line, half-open and 200 idle
connections, while two peers still punch through it."""
import json
import os
import socket
import subprocess
import time

import pytest

from labkit import NATLAB, ROOT

PROBE = os.path.join(ROOT, "build", "natlab-probe")
LAB = """
[nat.na]
profile = port-restricted-cone
delay_ms = 5
[nat.nb]
profile = port-restricted-cone
delay_ms = 5
[host.a]
behind = na
[host.b]
behind = nb
[host.rv]
behind = internet
[host.x]
behind = internet
"""


def peer(lab, node, side, strategy="so"):
    return subprocess.Popen([NATLAB, "exec", lab.name, node, "--", PROBE, "peer", "--server",
                             f"{lab.addr('rv')}:3478", "--attempt", "p1", "--side", str(side),
                             "--strategy", strategy, "--deadline-s", "5"],
                            stdout=subprocess.PIPE, text=True)


def recv_all(s, timeout=3):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True


def test_server_survives_abuse_while_peers_punch(make_lab):
    lab = make_lab(LAB)
    server = subprocess.Popen([NATLAB, "exec", lab.name, "rv", "--", PROBE, "server",
                               f"{lab.addr('rv')}:3478"], stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    rv = (lab.addr("rv"), 3478)

    def conn():
        s = lab.sock("x", socket.SOCK_STREAM)
        s.connect(rv)
        return s

    idle = [conn() for _ in range(200)]
    half = conn()
    half.sendall(b"HELLO p9 0 so")  # no newline, ever
    closed_half = conn()
    closed_half.sendall(b"HELLO p8 0")
    closed_half.shutdown(socket.SHUT_WR)
    garbage = conn()
    garbage.sendall(os.urandom(300).replace(b"\n", b"x") + b"\n")
    big = conn()
    big.setblocking(False)
    sent = 0
    blob = b"A" * (1 << 20)
    udp = lab.sock("x")
    for _ in range(100):
        udp.sendto(os.urandom(200), rv)

    a, b = peer(lab, "a", 0), peer(lab, "b", 1)
    # keep pushing the 1 MB line while the peers work
    deadline = time.monotonic() + 2
    while sent < len(blob) and time.monotonic() < deadline:
        try:
            sent += big.send(blob[sent:])
        except BlockingIOError:
            time.sleep(0.01)
        except (ConnectionResetError, BrokenPipeError):
            break
    out_a, _ = a.communicate(timeout=20)
    out_b, _ = b.communicate(timeout=20)
    ra, rb = json.loads(out_a), json.loads(out_b)
    assert (ra["outcome"], rb["outcome"]) == ("connected", "connected")
    assert ra["nonce_ok"] and rb["nonce_ok"]

    data, closed = recv_all(garbage)
    assert data.startswith(b"ERR ") and closed, data
    big.setblocking(True)
    data, closed = recv_all(big)
    assert data == b"ERR line too long\n" and closed, data
    assert sent < len(blob), "the server read a 1 MB line to its end"
    # the idle ones were neither answered nor dropped: nothing to read, no EOF
    for s in (idle[0], idle[-1], half):
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(10)
    server.terminate()
    server.wait(5)


@pytest.mark.parametrize("option, value", [
    ("--side", "2"), ("--side", "0x"), ("--offset-ms", "abc"), ("--offset-ms", "-5"),
    ("--deadline-s", "0"), ("--deadline-s", "nan"), ("--low-ttl", "1.5"), ("--low-ttl", "300"),
    ("--clock-offset-ms", "1e99"),
])
def test_peer_rejects_a_bad_number_naming_the_option(option, value):
    # before: atoi/atof took "0x" as 0 and "abc" as 0 and went on with the attempt
    args = {"--server": "127.0.0.1:1", "--attempt": "a0", "--side": "0", "--strategy": "so"}
    args[option] = value
    r = subprocess.run([PROBE, "peer"] + [x for kv in args.items() for x in kv],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and value in lines[0], r.stderr


def test_peer_rejects_an_unknown_option_and_a_stray_argument():
    base = [PROBE, "peer", "--server", "127.0.0.1:1", "--attempt", "a0", "--side", "0", "--strategy", "so"]
    for extra in (["--sied", "1"], ["stray"]):
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and r.stderr.strip(), extra
