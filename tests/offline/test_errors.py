"""Malformed scenarios and profiles: one line "FILE:LINE: what", exit 2, nothing built.
Offline: run without root by make check (the parser answers before anything is built)."""
import os
import re
import tempfile

import pytest

from labkit import natlab, netns_list

GOOD_TAIL = """
[host.a]
behind = home
"""

CASES = {
    # name: (scenario text, line of the error, words the message must carry)
    "unknown section": ("[lab]\nname = e\n[router.x]\nfoo = 1\n", 3, "unknown section"),
    "unknown lab key": ("[lab]\ncolour = blue\n", 2, 'unknown key "colour"'),
    "unknown node key": ("[nat.home]\nprofile = full-cone\nspeed = 9\n" + GOOD_TAIL, 3,
                         'unknown key "speed"'),
    "unknown knob value": ("[nat.home]\nprofile = full-cone\nmapping = eiim\n" + GOOD_TAIL, 3,
                           'unknown value "eiim"'),
    "bad number": ("[nat.home]\nprofile = full-cone\nudp_timeout = soon\n" + GOOD_TAIL, 3,
                   "udp_timeout"),
    "missing preset": ("[nat.home]\nprofile = no-such-nat\n" + GOOD_TAIL, 2, "no preset"),
    "missing profile file": ("[nat.home]\nprofile = ./gone.profile\n" + GOOD_TAIL, 2,
                             "gone.profile"),
    "no profile": ("[nat.home]\nuplink = internet\n" + GOOD_TAIL, 1, 'no "profile"'),
    "unknown uplink": ("[nat.home]\nprofile = full-cone\nuplink = mars\n" + GOOD_TAIL, 3,
                       'no NAT named "mars"'),
    "host behind host": ("[host.a]\nbehind = internet\n[host.b]\nbehind = a\n", 4,
                         'no NAT named "a"'),
    "cycle": ("[nat.x]\nprofile = full-cone\nuplink = y\n[nat.y]\nprofile = full-cone\n"
              "uplink = x\n", 3, "cycle"),
    "self uplink": ("[nat.x]\nprofile = full-cone\nuplink = x\n", 3, "own uplink"),
    "duplicate node": ("[nat.home]\nprofile = full-cone\n[host.home]\nbehind = internet\n", 3,
                       'duplicate node "home"'),
    "duplicate key": ("[nat.home]\nprofile = full-cone\nprofile = symmetric\n" + GOOD_TAIL, 3,
                      "duplicate key"),
    "reserved name": ("[host.internet]\nbehind = internet\n", 1, "reserved"),
    "bad node name": ("[host.Peer-1]\nbehind = internet\n", 1, "may use only"),
    "syntax": ("[lab]\nname demo\n", 2, "syntax error"),
    "key outside section": ("name = x\n[lab]\n", 1, "before any"),
    "host without behind": ("[host.a]\naddresses = 1\n", 1, 'no "behind"'),
    "several addresses behind NAT": ("[nat.home]\nprofile = full-cone\n[host.a]\nbehind = home\n"
                                     "addresses = 2\n", 5, "only hosts in the internet"),
    "delay behind a NAT": ("[nat.home]\nprofile = full-cone\n[host.a]\nbehind = home\n"
                           "delay_ms = 10\n", 5, "only links into the internet"),
    "bad loss": ("[host.a]\nbehind = internet\nloss = 2\n", 3, "fraction from 0 to 1"),
    "bridge cannot delay": ("[lab]\ninternet = bridge\n[host.a]\nbehind = internet\n"
                            "delay_ms = 5\n", 2, "internet = bridge cannot"),
    "bridge has no wire to place": ("[lab]\ninternet = bridge\nwire_cpus = 0\n[host.a]\nbehind = internet\n",
                                    3, "wire_cpus: internet = bridge has no wire"),
    "bridge cannot reorder": ("[lab]\ninternet = bridge\nreorder = on\n[host.a]\nbehind = internet\n", 2,
                              "internet = bridge cannot emulate links, faults, reordering"),
    # before: each cell took a wire and the [lab]'s internet = bridge was lost without a word
    "matrix through a bridge with a round trip": ("[lab]\ninternet = bridge\n[matrix]\nprofiles = full-cone\n", 2,
                                                  "internet = bridge emulates no link: a [matrix] through it "
                                                  "needs rtt_ms = 0"),
    "bad wire_cpus": ("[lab]\nwire_cpus = 3-1\n", 2, "wire_cpus: expected a list of CPUs"),
    "fault without at": ("[fault.f]\naction = drop\n", 1, 'no "at"'),
    "fault at NAT-side host": ("[nat.home]\nprofile = full-cone\n" + GOOD_TAIL +
                               "[fault.f]\nat = a\naction = drop\n", 7,
                               "not a node attached to the internet"),
    "fault delay without extra": ("[host.a]\nbehind = internet\n[fault.f]\nat = a\n"
                                  "action = delay\n", 5, "needs extra_ms"),
    "fault bad match": ("[host.a]\nbehind = internet\n[fault.f]\nat = a\nmatch = syn\n", 5,
                        'match: unknown value "syn"'),
    "duplicate fault": ("[fault.f]\n[fault.f]\n", 2, 'duplicate fault "f"'),
    "run unknown strategy": ("[host.a]\nbehind = internet\n[run]\npair = a a\n"
                             "strategies = so, teleport\n", 5, 'unknown strategy "teleport"'),
    "run pair of strangers": ("[host.a]\nbehind = internet\n[run]\npair = a zz\n", 4,
                              'no host "zz"'),
    "run without pair": ("[host.a]\nbehind = internet\n[run]\nrepeat = 2\n", 3, 'no "pair"'),
    "run bad skew": ("[host.a]\nbehind = internet\n[run]\nskew_ms = 5:1:1\n", 4, "FROM <= TO"),
    "run bad key": ("[run]\ncolour = red\n", 2, 'unknown key "colour" in [run]'),
    "matrix unknown preset": ("[matrix]\nrtt_ms = 20\nprofiles = full-cone, nope\n", 3,
                              'no preset "nope"'),
    "matrix beside nodes": ("[matrix]\n[host.a]\nbehind = internet\n", 2,
                            "only [lab] and [strategy.NAME] may stand beside it"),
    "program without command": ("[host.a]\nbehind = internet\n[run]\npair = a a\nstrategies = mine\n"
                                "[strategy.mine]\nlike = so\n", 6, "[strategy.mine] has no command"),
    "program like nothing": ("[strategy.mine]\ncommand = true\nlike = teleport\n", 3,
                             'like: "teleport" is not a built-in strategy'),
    "program like program": ("[strategy.mine]\ncommand = true\nlike = exec:x\n", 3,
                             'like: "exec:x" is not a built-in strategy'),
    "program bad key": ("[strategy.mine]\nargs = x\n", 2, 'unknown key "args" in [strategy.mine]'),
    "program twice": ("[strategy.mine]\ncommand = a\n[strategy.mine]\n", 3,
                      "duplicate section [strategy.mine]"),
    "program named as a built-in": ("[strategy.so]\n", 1, "so is a built-in strategy"),
    "program bad lead": ("[strategy.mine]\nlead_ms = 20000\n", 2, "lead_ms"),
    "server without its port": ("[strategy.mine]\ncommand = a\nserver_command = b\n", 3,
                                "[strategy.mine]: server_command needs server_port"),
    "server port alone": ("[strategy.mine]\ncommand = a\nserver_port = 9000\n", 3,
                          "[strategy.mine]: server_port without a server_command"),
    "server on the rendezvous port": ("[strategy.mine]\ncommand = a\nserver_command = b\nserver_port = 3478\n", 4,
                                      "server_port 3478 is natlab's rendezvous server's"),
    "server on the STUN port": ("[matrix]\nserver_port = 4000\n[strategy.mine]\ncommand = a\n"
                                "server_command = b\nserver_port = 4001\n", 6,
                                "server_port 4001 is natlab's rendezvous server's (server_port 4000 and the next)"),
    "two servers one port": ("[strategy.one]\ncommand = a\nserver_command = b\nserver_port = 9000\n"
                             "[strategy.two]\ncommand = a\nserver_command = b\nserver_port = 9000\n", 8,
                             "server_port 9000 is [strategy.one]'s too (line 4)"),
    "server port past the ports": ("[strategy.mine]\nserver_port = 70000\n", 2,
                                   'server_port: "70000" is not a port from 1 to 65535'),
    "two programs one name": ("[host.a]\nbehind = internet\n[run]\npair = a a\n"
                              "strategies = exec:./x/p2p, exec:./y/p2p\n", 5, "two programs named p2p"),
    # before: each doubled its cells' n, unevenly beside the others, without a word
    "strategy twice": ("[matrix]\nstrategies = so, dcutr, so\n", 2, 'strategies: "so" twice'),
    "skew in two ranges": ("[host.a]\nbehind = internet\n[run]\npair = a a\nskew_ms = -5:5:5, 0\n", 5,
                           "skew_ms: 0 twice"),
    "rtt twice": ("[matrix]\nrtt_ms = 20, 100, 20\n", 2, "rtt_ms: 20 twice"),
    "matrix bad pairs": ("[matrix]\npairs = some\n", 2, "expected all or same"),
    "matrix bad rtt": ("[matrix]\nrtt_ms = 20, fast\n", 2, '"fast" is not a number'),
    "matrix bad key": ("[matrix]\npair = a b\n", 2, 'unknown key "pair" in [matrix]'),
    "matrix twice": ("[matrix]\n[matrix]\n", 2, "duplicate section [matrix]"),
    "edges neither grid nor bisect": ("[matrix]\nedges = binary\n", 2, 'edges: "binary" is not grid or bisect'),
    "edges finer than the lab": ("[matrix]\nedge_resolution_ms = 0.1\n", 2,
                                 "edge_resolution_ms: \"0.1\" is not a number of ms from 0.5"),
    "matrix loss not a fraction": ("[matrix]\nloss = 5\n", 2, 'loss: "5" is not a fraction from 0 to 1'),
    "matrix link and rtt": ("[matrix]\nprofiles = full-cone\nrtt_ms = 20\nlink = 4g\n", 3,
                            "link = 4g sets the links' delay, so the round trip: leave out rtt_ms"),
    "matrix unknown link": ("[matrix]\nlink = dialup\n", 2, 'link: no preset "dialup"'),
    "rate of nothing": ("[host.a]\nbehind = internet\nrate_mbit = 0\n", 3,
                        'rate_mbit: "0" is not a number of Mbit/s from 0.01 to 100000'),
    "duplicate past one": ("[host.a]\nbehind = internet\nduplicate = 2\n", 3,
                           'duplicate: "2" is not a fraction from 0 to 1'),
    "edges without a range": ("[matrix]\nprofiles = linux-default\nedges = bisect\nskew_ms = 0\n", 1,
                              "edges = bisect searches within skew_ms's range"),
    # before: the line ended at the NUL for C, and the rest of it was lost without a word
    "NUL byte": ("[host.a]\nbehind = internet\x00 ; and more\n", 2, "NUL byte"),
}


@pytest.fixture(autouse=True)
def rundir(tmp_path, monkeypatch):
    # private bookkeeping: other tests' labs, running side by side, do not show here
    monkeypatch.setenv("NATLAB_RUN_DIR", str(tmp_path / "run"))


def run_up(path):
    # labs are named after the file: a failed "up" must leave no namespace of that name
    prefix = path.stem.replace("-", "_") + "-"
    r = natlab("up", str(path), check=False)
    if r.returncode == 0:  # built after all: take it down, then fail
        natlab("down", r.stdout.strip())
        pytest.fail(f"natlab up accepted {path.name}")
    assert not [n for n in netns_list() if n.startswith(prefix)], \
        "a failed natlab up left namespaces behind"
    assert natlab("list").stdout == "", "a failed natlab up left bookkeeping behind"
    return r


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario(tmp_path, case):
    text, line, words = CASES[case]
    path = tmp_path / "bad_scenario.ini"
    path.write_text(text)
    r = run_up(path)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"natlab: {path}:{line}: "), lines[0]
    assert words in lines[0]


# flags that would be taken and do nothing (before: silently ignored)
@pytest.mark.parametrize("args,words", [
    (["down", "--timing", "--all"], "down: --timing names labs, not --all"),
    (["down", "--force", "--stale"], "down: --force names labs, not --stale"),
    (["check", "RUN", "--write", "--junit", "j.xml"], "check: --write records the verdicts and compares none"),
    (["check", "RUN", "--against", "OTHER", "--expected", "exp"], "check: --against compares two runs: no --expected"),
])
def test_a_flag_that_would_do_nothing_is_refused(tmp_path, args, words):
    r = natlab(*[str(tmp_path / a) if a.isupper() or a.endswith(".xml") else a for a in args], check=False)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"natlab: {words}"), r.stderr
    assert not (tmp_path / "j.xml").exists()


# a mistyped option, one given without its value, an argument too many: named in
# the first line (before: the usage alone, which left the user to find the typo)
@pytest.mark.parametrize("args,first", [
    (["up", "--timeing", "S.ini"], 'natlab up: unknown option "--timeing"'),
    (["up", "S.ini", "T.ini"], 'natlab up: one argument too many: "T.ini"'),
    (["run", "S.ini", "--out"], "natlab run: --out needs a value"),
    (["run", "-J", "2", "S.ini"], 'natlab run: unknown option "-J"'),
    (["down", "--forse", "lab-0000"], 'natlab down: unknown option "--forse"'),
    (["list", "all"], 'natlab list: one argument too many: "all"'),
    (["show", "lab-0000", "--jsn"], 'natlab show: unknown option "--jsn"'),
    (["report", "RUN", "--mix"], "natlab report: --mix needs a value"),
    (["check", "RUN", "--junit"], "natlab check: --junit needs a value"),
    (["merge", "--out", "OUT", "--shards", "A"], 'natlab merge: unknown option "--shards"'),
    (["plan", "S.ini", "--scirpt"], 'natlab plan: unknown option "--scirpt"'),
    (["rules", "symmetric", "--wan"], "natlab rules: --wan needs a value"),
    (["bundle", "lab-0000", "-o"], "natlab bundle: -o needs a value"),
    # one dash short of an option the usage shows is no option of its
    (["up", "-owner", "5", "S.ini"], 'natlab up: unknown option "-owner"'),
    # an option of the command where it takes none: before any lab goes
    (["down", "lab-0000", "--force"], "natlab down: --force is not taken there (see the usage)"),
])
def test_a_bad_argument_is_named(tmp_path, args, first):
    r = natlab(*[str(tmp_path / a) if (a.isupper() and a[0] != "-") or a.endswith(".ini") else a for a in args],
               check=False)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == first.replace("S.ini", str(tmp_path / "S.ini")).replace("T.ini", str(tmp_path / "T.ini"))
    assert lines[1].startswith("Usage: natlab " + args[0]), r.stderr
    assert not list(tmp_path.iterdir()), "a refused command wrote something"


def test_an_override_that_is_not_a_knob_is_named(tmp_path):
    r = natlab("rules", "symmetric", "mapping", check=False)
    assert r.returncode == 2
    assert r.stderr == 'natlab: rules: "mapping" is not KNOB=VALUE (the profile\'s knobs are set so)\n'


@pytest.mark.parametrize("what", ["empty", "/dev/null", "/dev/zero", "a directory"])
def test_not_a_scenario(tmp_path, what):
    # before: /dev/zero spun at 100 % CPU for good, and an empty file or /dev/null was
    # a lab of one node
    path = {"empty": tmp_path / "empty.ini", "a directory": tmp_path}.get(what, what)
    if what == "empty":
        path.write_text("")
    r = natlab("up", str(path), check=False, timeout=10)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"natlab: {path}: "), r.stderr
    assert ("nothing to build" if what == "empty" else "not a regular file") in lines[0]


PROFILE_CASES = {
    "unknown knob": ("[nat]\nmapping = eim\nwobble = 3\n", 3, 'unknown knob "wobble"'),
    "unknown value": ("[nat]\nfiltering = maybe\n", 2, 'unknown value "maybe"'),
    "unknown section": ("[nat]\n[extra]\nmapping = eim\n", 2, "unknown section [extra]"),
    "bad port range": ("[nat]\nport_range = 900-80\n", 2, "port_range"),
    "bad delta": ("; comment\n[nat]\ndelta = 0\n", 3, "delta"),
    "long line": ("[nat]\n; " + "x" * 300 + "\n", 2, "longer than"),
}


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_bad_profile_file(tmp_path, case):
    text, line, words = PROFILE_CASES[case]
    prof = tmp_path / "mine.profile"
    prof.write_text(text)
    scen = tmp_path / "bad_profile.ini"
    scen.write_text("[nat.home]\nprofile = mine.profile\n[host.a]\nbehind = home\n")
    r = run_up(scen)
    assert r.returncode == 2
    msg = r.stderr.strip()
    assert "\n" not in msg
    assert msg.startswith(f"natlab: {prof}:{line}: "), msg
    assert words in msg
    # natlab rules reads profiles the same way
    r = natlab("rules", str(prof), check=False)
    assert r.returncode == 2 and r.stderr.strip() == msg


def test_missing_file(tmp_path):
    r = natlab("up", str(tmp_path / "nope.ini"), check=False)
    assert r.returncode == 2
    assert re.match(r"natlab: .*nope\.ini: No such file", r.stderr)


def test_a_foreign_file_is_not_echoed(tmp_path):
    # a file that is no scenario or profile (here, secrets) is named, its words are not
    path = tmp_path / "credentials"
    path.write_text("api-token: s3cr3t-value\npassword = hunter2\n")
    for args in (["up", str(path)], ["rules", str(path)]):
        r = natlab(*args, check=False)
        assert r.returncode == 2 and f"{path}:1:" in r.stderr, r.stderr
        assert "s3cr3t" not in r.stderr and "api-token" not in r.stderr and "hunter2" not in r.stderr


def test_list_takes_only_labs_for_labs(tmp_path, monkeypatch):
    # a run directory that is also a run's output directory: its meta.json is no lab
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    (run / "meta.json").write_text("{}")
    (run / "x-00aa.json").write_text('{"lab": "x-00aa", "state": "up"}')
    monkeypatch.setenv("NATLAB_RUN_DIR", str(run))
    assert [line.split()[0] for line in natlab("list").stdout.splitlines()] == ["x-00aa"]
