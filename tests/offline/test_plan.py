"""natlab plan without root: the plan of a scenario as data, and bad input refused."""
import json

from labkit import natlab

SCENARIO = """[lab]
name = pl
[nat.n]
profile = symmetric
delay_ms = 3
[host.a]
behind = n
[host.s]
behind = internet
delay_ms = 7
jitter_ms = 1
"""


def plan(tmp_path, text=SCENARIO, *args):
    path = tmp_path / "s.ini"
    path.write_text(text)
    return json.loads(natlab("plan", str(path), "--json", *args).stdout)


def steps(p, op):
    return [s for s in p["steps"] if s["op"] == op]


def test_plan_names_every_namespace_once(tmp_path):
    p = plan(tmp_path, SCENARIO, "--name", "x1")
    assert sorted(s["netns"] for s in steps(p, "netns")) == ["x1-a", "x1-internet", "x1-n", "x1-s"]


def test_plan_links_each_node_to_its_parent(tmp_path):
    p = plan(tmp_path)
    veths = {s["peer_netns"]: s for s in steps(p, "veth")}
    # the only node behind its NAT: its link is the NAT's LAN itself, no bridge
    assert veths["pl-sh-a"]["netns"] == "pl-sh-n" and veths["pl-sh-a"]["dev"] == "lan"
    assert "master" not in veths["pl-sh-a"] and not steps(p, "bridge")
    assert veths["pl-sh-n"]["netns"] == "pl-sh-internet" and "master" not in veths["pl-sh-n"]  # the wire's
    assert veths["pl-sh-s"]["peer_dev"] == "eth0" and veths["pl-sh-n"]["peer_dev"] == "wan"


def test_a_nat_with_two_nodes_behind_it_has_a_bridge(tmp_path):
    p = plan(tmp_path, SCENARIO + "[host.b]\nbehind = n\n")
    assert [(s["netns"], s["dev"]) for s in steps(p, "bridge")] == [("pl-sh-n", "lan")]
    veths = {s["peer_netns"]: s for s in steps(p, "veth")}
    assert veths["pl-sh-a"]["master"] == veths["pl-sh-b"]["master"] == "lan"
    assert [s["addr"] for s in steps(p, "addr") if s["netns"] == "pl-sh-n" and s["dev"] == "lan"] == ["10.0.1.1/24"]


def test_plan_gives_the_nat_its_ruleset_and_wan_address(tmp_path):
    p = plan(tmp_path)
    wan = [s["addr"] for s in steps(p, "addr") if s["netns"] == "pl-sh-n" and s["dev"] == "wan"]
    nft = steps(p, "nft")
    assert len(wan) == 1 and len(nft) == 1 and nft[0]["netns"] == "pl-sh-n"
    assert wan[0].split("/")[0] in nft[0]["ruleset"]
    assert {"path": "net/ipv4/ip_forward", "value": "1"}.items() <= \
        [s for s in steps(p, "sysctl") if s["netns"] == "pl-sh-n" and s["path"].endswith("ip_forward")][0].items()


def test_plan_puts_link_figures_on_the_wire_ports(tmp_path):
    ports = {s["dev"]: s["link"] for s in steps(plan(tmp_path), "wire-port")}
    none = {"rate_mbit": 0.0, "duplicate": 0.0}
    assert ports == {"n": {"delay_ms": 3.0, "jitter_ms": 0.0, "loss": 0.0, **none},
                     "s": {"delay_ms": 7.0, "jitter_ms": 1.0, "loss": 0.0, **none}}


def test_a_link_preset_sets_the_figures_and_keys_beside_it_win(tmp_path):
    # 4g: 30 ms one way, 8 ms jitter, 0.1 % loss, 20 Mbit/s (natsim/links/4g.link,
    # from its sources); a key beside it wins, before or after it
    text = SCENARIO.replace("delay_ms = 3\n", "loss = 0\nlink = 4g\n").replace(
        "delay_ms = 7\njitter_ms = 1\n", "link = satellite\ndelay_ms = 5\n")
    ports = {s["dev"]: s["link"] for s in steps(plan(tmp_path, text), "wire-port")}
    assert ports == {"n": {"delay_ms": 30.0, "jitter_ms": 8.0, "loss": 0.0, "rate_mbit": 20.0, "duplicate": 0.0},
                     "s": {"delay_ms": 5.0, "jitter_ms": 7.0, "loss": 0.01, "rate_mbit": 100.0, "duplicate": 0.0}}
    path = tmp_path / "bad.ini"
    path.write_text(SCENARIO.replace("delay_ms = 3\n", "link = 5g\n"))
    r = natlab("plan", str(path), check=False)
    assert r.returncode == 2 and f"{path}:5: link: no preset \"5g\"" in r.stderr, r.stderr


def test_plan_gives_the_wire_its_faults_seed_reorder_and_capture(tmp_path):
    # before: none of these was in the plan, though up hands them to the wire
    text = SCENARIO.replace("name = pl", "name = pl\nseed = 9\nreorder = on\ncapture = all") + (
        "[fault.lose2]\nat = n\nmatch = tcp-syn\naction = drop\ncount = 2\n"
        "[fault.slow]\nat = s\ndirection = in\naction = delay\nextra_ms = 50\n")
    w = plan(tmp_path, text)["wire"]
    assert (w["seed"], w["reorder"], w["capture"]) == (9, True, "all")
    assert w["faults"] == [
        {"name": "lose2", "at": "n", "direction": "out", "match": "tcp-syn", "action": "drop", "count": 2,
         "extra_ms": 0.0},
        {"name": "slow", "at": "s", "direction": "in", "match": "any", "action": "delay", "count": 0,
         "extra_ms": 50.0}]
    script = natlab("plan", str(tmp_path / "s.ini"), "--script").stdout
    assert "# wire fault slow: at s, direction in, match any, delay 50 ms" in script
    assert plan(tmp_path)["wire"] == {"seed": 0, "reorder": False, "capture": "off", "faults": []}


def test_plan_of_a_bridge_internet_has_no_wire(tmp_path):
    p = plan(tmp_path, SCENARIO.replace("name = pl", "name = pl\ninternet = bridge").replace("delay_ms = 3\n", "")
             .replace("delay_ms = 7\njitter_ms = 1\n", ""))
    assert p["internet"] == "bridge" and not steps(p, "wire-port") and "wire" not in p
    # every node on the internet hangs on its bridge (a's link is its NAT's LAN)
    assert all(s.get("master") == "inet" for s in steps(p, "veth") if s["netns"] == "pl-sh-internet")
    assert len(steps(p, "bridge")) == 1


def test_plan_refuses_a_matrix_and_bad_names(tmp_path):
    path = tmp_path / "m.ini"
    path.write_text("[matrix]\nprofiles = full-cone\nrtt_ms = 20\nstrategies = so\n")
    r = natlab("plan", str(path), check=False)
    assert r.returncode == 2 and f"{path}:1:" in r.stderr and r.stderr.count("\n") == 1
    r = natlab("plan", str(path), "--name", "Bad Name", check=False)
    assert r.returncode == 2
