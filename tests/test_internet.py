"""The lab's internet behaves like one: `up` returns with every link running, and a
packet to an address no one routes vanishes instead of being answered at once."""
import errno
import json
import socket
import subprocess
import time

import pytest

from labkit import natlab

LAB = """
[lab]
name = net{n}
{extra}
[nat.na]
profile = port-restricted-cone
[nat.nb]
profile = symmetric
[host.a]
behind = na
[host.b]
behind = nb
[host.rv]
behind = internet
"""


def links(ns):
    out = subprocess.run(["ip", "-d", "-j", "-n", ns, "link", "show"], capture_output=True,
                         text=True, check=True).stdout
    return [l for l in json.loads(out) if l["ifname"] != "lo"]


def test_up_returns_with_every_link_running(tmp_path):
    # before: the link whose two ends had the same index (the first node's, 2 and 2)
    # stayed "down" or "unknown" for up to a second after up returned, and an ICE
    # stack (libnice) skipped it as not running
    path = tmp_path / "l.ini"
    path.write_text(LAB.format(n=1, extra=""))
    not_running = []
    for _ in range(20):
        name = natlab("up", str(path)).stdout.strip()
        try:
            show = json.loads(natlab("show", name, "--json").stdout)
            for node in show["nodes"].values():
                for l in links(node["netns"]):
                    kind = l.get("linkinfo", {}).get("info_kind")
                    if "LOWER_UP" not in l["flags"] or (kind == "veth" and l["operstate"] != "UP"):
                        not_running.append((node["netns"], l["ifname"], l["operstate"], l["flags"]))
        finally:
            natlab("down", name)
    assert not_running == []


def connect_error(lab, node, dest):
    """What a TCP connect from node to dest meets within a second: None for silence."""
    s = lab.sock(node, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(dest)
    except socket.timeout:
        return None
    except OSError as e:
        return e.errno
    finally:
        s.close()
    return 0


@pytest.mark.parametrize("unroutable", ["drop", "unreachable"])
def test_an_address_outside_the_internet_is_silence_unless_asked(make_lab, unroutable):
    # before: a host's SYN to 8.8.8.8 or to the other site's private address got an
    # immediate ICMP "net unreachable" from its NAT, which had no default route
    extra = "" if unroutable == "drop" else "unroutable = unreachable"
    lab = make_lab(LAB.format(n=2, extra=extra))
    peer_private = lab.addr("b")
    t0 = time.monotonic()
    got = [connect_error(lab, "a", (dest, 80)) for dest in ("8.8.8.8", peer_private)]
    if unroutable == "drop":
        assert got == [None, None] and time.monotonic() - t0 >= 2
    else:
        assert all(e in (errno.ENETUNREACH, errno.EHOSTUNREACH) for e in got), got
    # the lab's own internet is reached as before
    srv = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv"), 8080))
    srv.listen(1)
    assert connect_error(lab, "a", (lab.addr("rv"), 8080)) == 0


def cgnat_lab(subscribers, name):
    """A carrier NAT with `subscribers` home NATs behind it, a host behind each, and
    a server in the internet: 2 * subscribers + 2 nodes."""
    text = f"[lab]\nname = {name}\n[nat.cgn]\nprofile = symmetric\n[host.rv]\nbehind = internet\n"
    for k in range(subscribers):
        text += f"[nat.h{k}]\nprofile = port-restricted-cone\nuplink = cgn\n[host.a{k}]\nbehind = h{k}\n"
    return text


def test_a_lab_of_200_nodes_comes_up_works_and_goes(make_lab):
    # before: a lab held at most 63 nodes, and a NAT's inside at most 250
    lab = make_lab(cgnat_lab(99, "cgn"))
    assert len(lab.nodes) == 201  # and the internet
    assert lab.nodes["cgn"]["lan"] == "100.64.1.1/24"
    srv = lab.sock("rv", bind=(lab.addr("rv"), 5000))
    srv.settimeout(3)
    seen = set()
    for k in (0, 50, 98):
        c = lab.sock(f"a{k}", bind=("0.0.0.0", 4000))
        c.sendto(b"hello", (lab.addr("rv"), 5000))
        _, src = srv.recvfrom(100)
        seen.add(src)
        # the carrier NAT's one public address for everyone behind it
        assert src[0] == lab.addr("cgn")
    assert len(seen) == 3
    # and every link of the last subscriber is running
    for l in links(lab.nodes["a98"]["netns"]):
        assert l["operstate"] == "UP", l
