"""TCP hole punching through the lab with natlab run: what the model predicts."""
import itertools
import json
import subprocess

import pytest

from labkit import NATLAB

PAIR = """
[lab]
name = punch
seed = 1
[nat.na]
profile = {pa}
[nat.nb]
profile = {pb}
[host.a]
behind = na
[host.b]
behind = nb
[host.rv]
behind = internet
[run]
pair = a b
strategies = {strategies}
skew_ms = {skew}
deadline_s = {deadline}
"""


def run(tmp_path, pa, pb, strategies, skew=0, deadline=3):
    scen = tmp_path / "punch.ini"
    scen.write_text(PAIR.format(pa=pa, pb=pb, strategies=strategies, skew=skew, deadline=deadline))
    out = tmp_path / "out"
    r = subprocess.run([NATLAB, "run", str(scen), "--out", str(out)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in open(out / "attempts.jsonl")]


CONES = ["full-cone", "restricted-cone", "port-restricted-cone"]


@pytest.mark.parametrize("pa,pb", list(itertools.combinations_with_replacement(CONES, 2)))
def test_cones_punch_at_skew_zero(tmp_path, pa, pb):
    recs = run(tmp_path, pa, pb, "so, udp")
    assert [(r["strategy"], r["outcome"]) for r in recs] == [("so", "connected"),
                                                             ("udp", "connected")]
    for r in recs:
        assert r["profiles"] == {"a": pa, "b": pb}
        assert all(r["sides"][s]["nonce_ok"] for s in "ab")
    so = recs[0]
    # the punch left from the port the rendezvous server saw (EIM, preserved)
    for s in "ab":
        assert so["wire"]["endpoints"]["ab".index(s)] == so["sides"][s]["seen"]
        assert so["wire"]["syns"]["ab".index(s)] >= 1


@pytest.mark.parametrize("pb", ["symmetric", "port-restricted-cone"])
def test_symmetric_needs_the_relay(tmp_path, pb):
    recs = run(tmp_path, "symmetric", pb, "so, udp, relay", deadline=2)
    got = {r["strategy"]: r["outcome"] for r in recs}
    assert got["so"] != "connected" and got["udp"] != "connected"
    assert got["relay"] == "relayed"
    # a symmetric NAT punched from another port than the one the server saw
    so = recs[0]
    assert so["wire"]["endpoints"][0] != so["sides"]["a"]["seen"]


def test_rst_on_syn_refuses(tmp_path):
    recs = run(tmp_path, "rst-on-syn", "rst-on-syn", "so")
    r = recs[0]
    assert r["outcome"] in ("refused", "reset")
    assert sum(r["wire"]["rsts"]) >= 1, "the refusal must show as RSTs on the wire"
