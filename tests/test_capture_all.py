"""capture = all: each NAT's lan and wan side in one pcapng (Debian's dumpcap in
the NAT's namespace), kept by natlab run as DIR/pcap/LAB-NAT.pcapng: a frame
before and after its translation, which the core's capture cannot show."""
import json
import os
import subprocess

from labkit import NATLAB


def syns(path):
    r = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src",
                        "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
                        "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0"], capture_output=True, text=True, check=True)
    return [tuple(line.split("\t")) for line in r.stdout.splitlines()]


def run_pair(tmp_path, name, capture, pa, pb, run):
    """natlab run on a pair behind NATs na (pa) and nb (pb), a rendezvous host in
    the internet, `run` the rest of its [run]; its out dir and records."""
    (tmp_path / "s.ini").write_text(
        f"[lab]\nname = {name}\ncapture = {capture}\n[nat.na]\nprofile = {pa}\n"
        f"[nat.nb]\nprofile = {pb}\n[host.a]\nbehind = na\n[host.b]\nbehind = nb\n"
        f"[host.rv]\nbehind = internet\n[run]\npair = a b\nstrategies = so\n{run}")
    out = tmp_path / "out"
    r = subprocess.run([NATLAB, "run", "--out", str(out), str(tmp_path / "s.ini")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out, [json.loads(line) for line in open(out / "attempts.jsonl")]


def test_each_nat_is_captured_on_both_sides(tmp_path):
    out, recs = run_pair(tmp_path, "capall", "all", "port-restricted-cone", "symmetric", "deadline_s = 2\n")
    rec = recs[0]
    seen_b = rec["sides"]["b"]["seen"]  # b's endpoint as the rendezvous server saw it
    b = syns(out / "pcap" / f"{rec['lab']}-nb.pcapng")
    # b's punch SYN to a's public endpoint, on the lan from b's own port and on the
    # wan from the port its symmetric NAT chose for that destination: not the one
    # the server saw, which is why so fails against it
    a_pub = rec["sides"]["a"]["seen"].split(":")
    lan = [s for s in b if s[0] == "lan" and [s[3], s[4]] == a_pub]
    wan = [s for s in b if s[0] == "wan" and [s[3], s[4]] == a_pub]
    assert lan and wan, b
    assert lan[0][1].startswith("10.") and lan[0][2] == str(rec["sides"]["b"]["local_port"])
    assert f"{wan[0][1]}:{wan[0][2]}" != seen_b and wan[0][1] == seen_b.split(":")[0], (wan, seen_b)
    # a's NAT too, its rendezvous SYN before and after
    a = syns(out / "pcap" / f"{rec['lab']}-na.pcapng")
    assert {s[0] for s in a} == {"lan", "wan"}, a
    # down ended each dumpcap and removed its live file
    assert subprocess.run([NATLAB, "show", rec["lab"]], capture_output=True).returncode != 0
    run_dir = os.environ.get("NATLAB_RUN_DIR", "/run/natlab")
    assert not [f for f in os.listdir(run_dir) if f.startswith(rec["lab"])]


def test_each_failed_attempt_has_its_own_frames_and_one_lab_the_whole(tmp_path):
    """capture = on: the core's capture cut per failed attempt (all cut in one
    reading of it) and, with one lab, kept whole as DIR/wire.pcap. Each cut holds
    its own attempt's punch SYNs and none of another's: behind symmetric NATs
    every attempt's SYNs leave from ports of their own."""
    out, recs = run_pair(tmp_path, "cuts", "on", "symmetric", "symmetric", "repeat = 3\ndeadline_s = 1\n")
    # an attempt off schedule (a loaded machine) is recorded and run again: its cut too
    kept = [rec for rec in recs if rec["on_schedule"] is not False]
    assert len(kept) == 3 and all(rec["outcome"] != "connected" for rec in recs), recs
    # the punch SYNs between the NATs (198.19/16), by where they left from
    punch = {}
    for rec in recs:
        name = f"{rec['lab']}-a{rec['attempt']}-so-symmetric-symmetric-skew+0ms.pcap"
        punch[rec["attempt"]] = {f"{s[1]}:{s[2]}" for s in syns(out / "pcap" / name)
                                 if s[1].startswith("198.19.") and s[3].startswith("198.19.")}
        assert punch[rec["attempt"]], (name, syns(out / "pcap" / name))
    for k, mine in punch.items():
        others = set().union(*(v for j, v in punch.items() if j != k))
        assert not mine & others, punch
    # the whole capture has every cut's frames
    whole = {f"{s[1]}:{s[2]}" for s in syns(out / "wire.pcap")}
    assert set().union(*punch.values()) <= whole
