"""Filtering, unsolicited packets, SYN-in-SYN_SENT, hairpin, timeouts, NAT behind NAT:
each proven by real packets through the NAT."""
import socket
import time

import pytest

from labkit import (FILTER_PROBES, connect_outcome, one_nat, tcp_observed, udp_filtering_passes,
                    udp_observed, udp_reaches)

# which probes (labkit.FILTER_PROBES) each filtering passes
PASSES = {
    "eif": {"same": True, "other_port": True, "other_addr": True},
    "adf": {"same": True, "other_port": True, "other_addr": False},
    "apdf": {"same": True, "other_port": False, "other_addr": False},
}


# translation = off: a firewall that routes its inside's own addresses, and filters alike
@pytest.mark.parametrize("translation", ["on", "off"])
@pytest.mark.parametrize("filtering", sorted(PASSES))
def test_udp_filtering(make_lab, filtering, translation):
    lab = make_lab(one_nat(f"filtering = {filtering}\ntranslation = {translation}"))
    assert udp_filtering_passes(lab) == PASSES[filtering]


@pytest.mark.parametrize("translation", ["on", "off"])
@pytest.mark.parametrize("filtering", sorted(PASSES))
def test_tcp_filtering(make_lab, filtering, translation):
    lab = make_lab(one_nat(f"filtering = {filtering}\ntranslation = {translation}"))
    # a listens on the port it connects out from (as so-listen does)
    lst = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 5000), reuse=True)
    lst.listen(8)
    ext = tcp_observed(lab, "a", 5000, ("rv", lab.addr("rv", 0)), 7000, keep=True)
    assert (ext[0] == lab.addr("a")) == (translation == "off"), ext
    got = {}
    for k, (i, port) in FILTER_PROBES.items():
        if k == "same":
            continue  # that 4-tuple is the open connection itself
        s = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv", i), port), reuse=True)
        got[k] = connect_outcome(s, ext, timeout=1.0) == "connected"
    want = {k: v for k, v in PASSES[filtering].items() if k != "same"}
    assert got == want


UNSOLICITED_SYN = {"drop": "timeout", "rst": "ECONNREFUSED", "icmp": "EHOSTUNREACH",
                   "stack": "ECONNREFUSED"}


@pytest.mark.parametrize("answer", sorted(UNSOLICITED_SYN))
def test_unsolicited_syn(make_lab, answer):
    lab = make_lab(one_nat(f"unsolicited_syn = {answer}"))
    s = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv"), 0))
    assert connect_outcome(s, (lab.wan("n"), 5555), timeout=1.0) == UNSOLICITED_SYN[answer]


@pytest.mark.parametrize("answer", sorted(UNSOLICITED_SYN))
def test_unsolicited_syn_to_a_host_behind_a_firewall_without_translation(make_lab, answer):
    # the host's own address is routed to it; `stack`: the firewall lets the SYN
    # through and the host's stack refuses it
    lab = make_lab(one_nat(f"translation = off\nunsolicited_syn = {answer}"))
    s = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv"), 0))
    assert connect_outcome(s, (lab.addr("a"), 5555), timeout=1.0) == UNSOLICITED_SYN[answer]


@pytest.mark.parametrize("proto", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_outbound_policy_lets_out_only_its_ports(make_lab, proto):
    lab = make_lab(one_nat("outbound_tcp = 443\noutbound_udp = 53,5000-5001"))
    passes = {}
    for port in (53, 443, 5001, 8080):
        if proto == socket.SOCK_STREAM:
            srv = lab.sock("rv", proto, bind=(lab.addr("rv"), port), reuse=True)
            srv.listen(1)
            passes[port] = connect_outcome(lab.sock("a", proto), (lab.addr("rv"), port), timeout=0.5) == "connected"
        else:
            passes[port] = udp_reaches(lab.sock("a", bind=("0.0.0.0", 0)), (lab.addr("rv"), port),
                                       lab.sock("rv", bind=(lab.addr("rv"), port)))
    want = {53: False, 443: True, 5001: False, 8080: False} if proto == socket.SOCK_STREAM else \
        {53: True, 443: False, 5001: True, 8080: False}
    assert passes == want


@pytest.mark.parametrize("answer,refused", [("drop", False), ("icmp", True)])
def test_udp_unsolicited(make_lab, answer, refused):
    lab = make_lab(one_nat(f"udp_unsolicited = {answer}"))
    s = lab.sock("rv", bind=(lab.addr("rv"), 0))
    s.connect((lab.wan("n"), 5555))
    s.settimeout(0.7)
    s.send(b"x")
    with pytest.raises(ConnectionRefusedError if refused else socket.timeout):
        s.recv(10)


SYN_IN_SYN_SENT = {"accept": ("connected", "connected"), "drop": ("timeout", "timeout"),
                   "rst": ("ECONNREFUSED", None)}


@pytest.mark.parametrize("answer", sorted(SYN_IN_SYN_SENT))
def test_syn_in_syn_sent(make_lab, answer):
    """Simultaneous open: a's SYN leaves its NAT first (and is lost further on), then
    the server's SYN arrives at the NAT for an entry still in SYN_SENT."""
    lab = make_lab(one_nat(f"syn_in_syn_sent = {answer}"))
    # the server's host loses a's SYNs, so the server cannot answer them as a listener
    lab.nft_rule("rv", "input", "tcp dport 6000 tcp flags & (syn | ack) == syn drop")
    a = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 5000), reuse=True)
    a.setblocking(False)
    a.connect_ex((lab.addr("rv"), 6000))
    time.sleep(0.1)
    maps = [m for m in lab.mappings("n") if m["internal"].endswith(":5000")]
    assert maps and maps[0]["state"] == "SYN_SENT"
    ext = maps[0]["external"].split(":")
    s = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv"), 6000), reuse=True)
    server = connect_outcome(s, (ext[0], int(ext[1])), timeout=2.5)
    want_server, want_a = SYN_IN_SYN_SENT[answer]
    assert server == want_server
    if want_a:
        assert connect_outcome(a, None, timeout=0.5) == want_a


@pytest.mark.parametrize("proto", ["tcp", "udp"])
@pytest.mark.parametrize("hairpin", ["on", "off"])
def test_hairpin(make_lab, proto, hairpin):
    lab = make_lab(one_nat(f"hairpin = {hairpin}"))
    rv = ("rv", lab.addr("rv"))
    if proto == "tcp":
        lst = lab.sock("b", socket.SOCK_STREAM, bind=("0.0.0.0", 6000), reuse=True)
        lst.listen(4)
        ext = tcp_observed(lab, "b", 6000, rv, 7000, keep=True)
        s = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 0))
        outcome = connect_outcome(s, ext, timeout=1.0)
        assert (outcome == "connected") == (hairpin == "on"), outcome
        if hairpin == "on":
            lst.settimeout(1)
            _, peer = lst.accept()
            assert peer[0] == lab.wan("n"), "hairpinned traffic comes from the NAT's outside"
    else:
        b = lab.sock("b", bind=("0.0.0.0", 6000), reuse=True)
        ext = udp_observed(lab, "b", 6000, rv, 7000, sock=b)
        a = lab.sock("a", bind=("0.0.0.0", 0))
        assert udp_reaches(a, ext, b) == (hairpin == "on")


@pytest.mark.parametrize("knobs,kept", [("udp_timeout = 2\nudp_stream_timeout = 2", False),
                                         ("", True)])  # the control: kernel default, 30 s
def test_udp_timeout(make_lab, knobs, kept):
    lab = make_lab(one_nat(knobs, profile="full-cone"))
    a = lab.sock("a", bind=("0.0.0.0", 5000))
    s1 = lab.sock("rv", bind=(lab.addr("rv", 0), 7000))
    s2 = lab.sock("rv", bind=(lab.addr("rv", 1), 7000))
    s1.settimeout(2)
    a.sendto(b"x", (lab.addr("rv", 0), 7000))
    _, ext = s1.recvfrom(10)
    assert udp_reaches(s2, ext, a), "full cone: anyone reaches a fresh mapping"
    time.sleep(3.5)
    assert any(m["proto"] == "udp" and not m["inbound"] for m in lab.mappings("n")) == kept
    assert udp_reaches(s2, ext, a) == kept


NESTED = """
[nat.carrier]
profile = cgnat
[nat.home]
profile = port-restricted-cone
uplink = carrier
[host.a]
behind = home
[host.rv]
behind = internet
addresses = 2
"""


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_home_nat_behind_cgnat(make_lab, proto):
    lab = make_lab(NESTED)
    assert lab.addr("home").startswith("100.64."), "a CGN's inside is shared address space"
    fn = udp_observed if proto == "udp" else tcp_observed
    src = fn(lab, "a", 5000, ("rv", lab.addr("rv")), 7000)
    assert src[0] == lab.addr("carrier"), "the internet sees the carrier's address"
    assert lab.wan("a") == lab.addr("carrier")
    # both NATs hold a mapping for the flow
    home = [m for m in lab.mappings("home") if m["proto"] == proto]
    carrier = [m for m in lab.mappings("carrier") if m["proto"] == proto]
    assert home and carrier
    assert home[0]["internal"] == f"{lab.addr('a')}:5000"
    assert carrier[0]["internal"] == home[0]["external"]
    assert carrier[0]["external"] == f"{src[0]}:{src[1]}"


def test_tcp_syn_sent_timeout(make_lab):
    """A SYN that gets no answer holds its mapping for tcp_syn_sent_timeout only."""
    lab = make_lab(one_nat("tcp_syn_sent_timeout = 2"))
    lab.nft_rule("rv", "input", "tcp dport 6000 drop")
    a = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 5000))
    a.setblocking(False)
    a.connect_ex((lab.addr("rv"), 6000))
    time.sleep(0.2)
    held = [m for m in lab.mappings("n") if m["state"] == "SYN_SENT"]
    assert held and held[0]["timeout"] <= 2
    a.close()  # no retransmission refreshes the entry from here on
    time.sleep(2.5)
    assert not [m for m in lab.mappings("n") if m["proto"] == "tcp"]


@pytest.mark.parametrize("timeout,idle,kept", [(3, 4.5, False), (3, 1.0, True)])
def test_tcp_established_timeout(make_lab, timeout, idle, kept):
    lab = make_lab(one_nat(f"tcp_established_timeout = {timeout}", profile="full-cone"))
    ext = tcp_observed(lab, "a", 5000, ("rv", lab.addr("rv", 0)), 7000, keep=True)
    est = [m for m in lab.mappings("n") if m["state"] == "ESTABLISHED"]
    assert est and est[0]["timeout"] <= timeout
    time.sleep(idle)
    assert bool([m for m in lab.mappings("n") if m["proto"] == "tcp"]) == kept
    # full cone: while the mapping lives, a stranger reaches the listener behind it
    lst = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 5000), reuse=True)
    lst.listen(1)
    s = lab.sock("rv", socket.SOCK_STREAM, bind=(lab.addr("rv", 1), 0))
    assert (connect_outcome(s, ext, timeout=1.0) == "connected") == kept


@pytest.mark.parametrize("proto", ["tcp", "udp"])
def test_hairpin_source_is_senders_external_endpoint(make_lab, proto):
    """RFC 5382 REQ-8: b sees a hairpinned connection come from a's external endpoint.
    nf_nat gives it: a new connection from a source with a live mapping reuses it."""
    # random allocation, so a's external port differs from its inside port
    lab = make_lab(one_nat("hairpin = on\nallocation = random\nport_range = 40000-60000"))
    rv = ("rv", lab.addr("rv"))
    fn = udp_observed if proto == "udp" else tcp_observed
    a_ext = fn(lab, "a", 5001, rv, 7001)
    if proto == "tcp":
        lst = lab.sock("b", socket.SOCK_STREAM, bind=("0.0.0.0", 6000), reuse=True)
        lst.listen(4)
        b_ext = tcp_observed(lab, "b", 6000, rv, 7000, keep=True)
        s = lab.sock("a", socket.SOCK_STREAM, bind=("0.0.0.0", 5001), reuse=True)
        assert connect_outcome(s, b_ext, timeout=1.0) == "connected"
        lst.settimeout(1)
        _, seen = lst.accept()
    else:
        b = lab.sock("b", bind=("0.0.0.0", 6000), reuse=True)
        b_ext = udp_observed(lab, "b", 6000, rv, 7000, sock=b)
        a = lab.sock("a", bind=("0.0.0.0", 5001), reuse=True)
        a.sendto(b"hairpin", b_ext)
        b.settimeout(1)
        _, seen = b.recvfrom(10)
    assert seen == a_ext
