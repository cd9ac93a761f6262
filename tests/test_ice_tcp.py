"""examples/ice-tcp: ICE-TCP by libnice as a user's program (exec:), its candidates
swapped over the programs' signalling descriptor. It connects where one side is
public; between two NATs it cannot, where natlab's so connects, because libnice
0.1.21 offers neither a simultaneous-open nor a server-reflexive TCP candidate
(what results/reference/ice-tcp/ says; a libnice that does fails this test, and
then that page is out of date)."""
import json
import os
import subprocess

from labkit import NATLAB, ROOT

ICE = os.path.join(ROOT, "build", "examples", "ice-tcp")


def run(tmp_path, b_behind):
    assert os.access(ICE, os.X_OK), f"{ICE}: make examples builds it (libnice-dev; make check does)"
    # 5 ms on each uplink: so's skew 0 well inside its window (+-10 ms), not a race
    # of microseconds that a peer 0.4 ms late loses (a full cone hands an early SYN
    # to a host whose own SYN is not out yet, and it refuses)
    nat_b = "[nat.nb]\nprofile = full-cone\ndelay_ms = 5\n" if b_behind == "nb" else ""
    (tmp_path / "s.ini").write_text(
        "[lab]\nname = ice\ncapture = on\n"
        f"[nat.na]\nprofile = full-cone\ndelay_ms = 5\n{nat_b}[host.a]\nbehind = na\n[host.b]\nbehind = {b_behind}\n"
        "[host.rv]\nbehind = internet\n"
        "[run]\npair = a b\nstrategies = so, ice-tcp\ndeadline_s = 3\n"
        f"[strategy.ice-tcp]\ncommand = {ICE}\n")
    r = subprocess.run([NATLAB, "run", "--out", str(tmp_path / "out"), str(tmp_path / "s.ini")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    recs = {}
    for line in open(tmp_path / "out" / "attempts.jsonl"):
        rec = json.loads(line)
        recs[rec["strategy"]] = rec
    said = {k: json.loads(s["program"]["last"]) for k, s in recs["exec:ice-tcp"]["sides"].items()}
    for k, s in recs["exec:ice-tcp"]["sides"].items():
        # every SDP line crossed: the candidates the partner reports are the ones sent
        assert s["program"]["signal"]["dropped"] == 0 and s["program"]["signal"]["sent"] > 2
        assert said[k]["remote"] == said["b" if k == "a" else "a"]["local"]
    return recs, said


def test_ice_tcp_connects_to_a_public_host(tmp_path):
    """b in the internet: a's active candidate reaches b's passive one."""
    recs, said = run(tmp_path, "internet")
    assert recs["exec:ice-tcp"]["outcome"] == "connected", said
    mine, theirs = said["a"]["pair"].split(" > ")
    assert mine.endswith(" active") and theirs.endswith(" passive"), said
    # b's passive candidate is its own public address, as the lab gave it
    lab = recs["exec:ice-tcp"]["sides"]["a"]["peer_tcp"].split(":")[0]
    assert theirs.split(":")[0] == lab


def test_ice_tcp_between_two_nats_fails_where_so_connects(tmp_path):
    """Two full cones: so's simultaneous open connects; ICE-TCP has only host
    candidates, the partner's private addresses, and no SYN of it reaches the
    internet (each dies at its own NAT's blackhole route)."""
    recs, said = run(tmp_path, "nb")
    assert recs["so"]["outcome"] == "connected"
    ice = recs["exec:ice-tcp"]
    assert ice["outcome"] in ("failed", "timeout"), said
    for k in ("a", "b"):
        assert said[k]["local"]["so"] == 0 and said[k]["local"]["srflx"] == 0, said
        assert said[k]["local"]["active"] >= 1 and said[k]["local"]["passive"] >= 1, said
    assert ice["wire"]["syns"] == [0, 0], ice["wire"]
    # its capture is kept, named for what it tried, and holds its frames: the two
    # peers' rendezvous (SYNs to the server) and no SYN between the NATs
    pcap = tmp_path / "out" / "pcap" / f"{ice['lab']}-a{ice['attempt']}-exec_ice-tcp-full-cone-full-cone-skew+0ms.pcap"
    tshark = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
                             "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0"],
                            capture_output=True, text=True, check=True)
    syns = [tuple(line.split("\t")) for line in tshark.stdout.splitlines()]
    # (the rendezvous host is in the internet's 198.18/15, the NATs' side 198.19)
    assert len(syns) >= 2 and all(dst.startswith("198.18.") for _, dst in syns), syns
