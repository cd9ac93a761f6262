"""`natlab plan --script`: the lab it builds with ip and nft alone behaves as natlab's
(the same mapping and filtering probes through both), and its down removes it all."""
import json
import os
import socket
import subprocess

import pytest

from labkit import Lab, netns, netns_list, natlab, one_nat, udp_filtering_passes, udp_observed
from test_filtering import PASSES
from test_mapping import FOUR


class ScriptLab:
    """The lab of `natlab plan --script`, with Lab's addr/wan/sock for the probes."""

    def __init__(self, path, name):
        self.name, self.script = name, f"{path}.sh"
        with open(self.script, "w") as f:
            f.write(natlab("plan", str(path), "--script", "--name", name).stdout)
        plan = json.loads(natlab("plan", str(path), "--json", "--name", name).stdout)
        self.nodes = {}
        for step in plan["steps"]:
            node = self.nodes.setdefault(step["netns"][len(name) + 1:], {"netns": step["netns"], "addrs": []})
            if step["op"] == "addr" and step["dev"] in ("eth0", "wan"):
                node["addrs"].append(step["addr"])
        self._socks = []
        subprocess.run(["sh", self.script, "up"], check=True, capture_output=True)

    def down(self):
        for s in self._socks:
            s.close()
        subprocess.run(["sh", self.script, "down"], check=True, capture_output=True)

    def addr(self, node, i=0):
        return self.nodes[node]["addrs"][i].split("/")[0]

    def wan(self, node):
        return self.addr(node)

    sock = Lab.sock


@pytest.fixture
def both(tmp_path):
    """both(text) -> (natlab's lab, the script's lab) of one scenario; both go down after."""
    labs = []

    def make(text):
        path = tmp_path / "scenario.ini"
        path.write_text(text)
        labs.append(Lab(path))
        labs.append(ScriptLab(path, f"plan{os.getpid() % 100000}"))
        return labs[-2], labs[-1]

    yield make
    for lab in labs:
        lab.down()


def mapping_shape(lab):
    # which of the four destinations share a's external endpoint: EIM one, ADM two, APDM four
    seen = [udp_observed(lab, "a", 5000, ("rv", lab.addr("rv", i)), p) for i, p in FOUR]
    return [seen.index(x) for x in seen], seen[0][0] == lab.wan("n")


@pytest.mark.parametrize("mapping", ["eim", "adm", "apdm"])
def test_script_lab_maps_as_natlab(both, mapping):
    # sequential, not random: a random draw may give two destinations one port by
    # chance (test_mapping), and then the shapes differ without either lab being wrong
    lab, script = both(one_nat(f"mapping = {mapping}\nallocation = sequential\ndelta = 3"))
    want = {"eim": [0, 0, 0, 0], "adm": [0, 0, 2, 2], "apdm": [0, 1, 2, 3]}[mapping]
    assert mapping_shape(lab) == (want, True)
    assert mapping_shape(script) == (want, True)


@pytest.mark.parametrize("filtering", sorted(PASSES))
def test_script_lab_filters_as_natlab(both, filtering):
    lab, script = both(one_nat(f"filtering = {filtering}"))
    assert udp_filtering_passes(lab) == PASSES[filtering]
    assert udp_filtering_passes(script) == PASSES[filtering]


def test_script_down_removes_every_namespace(tmp_path):
    path = tmp_path / "demo.ini"
    path.write_text(open(os.path.join(os.path.dirname(__file__), "..", "scenarios", "demo.ini")).read())
    name = f"plandown{os.getpid() % 100000}"
    lab = ScriptLab(path, name)
    made = [n for n in netns_list() if n.startswith(name + "-")]
    assert sorted(made) == sorted(n["netns"] for n in lab.nodes.values())
    with netns(lab.nodes["a"]["netns"]):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.close()
    lab.down()
    assert not [n for n in netns_list() if n.startswith(name + "-")]
