"""natlab rules without a kernel: the addresses it is given, and bad knobs and
addresses refused (the rulesets themselves are checked by nft in tests/test_rules.py)."""
import pytest

from labkit import natlab


def test_rules_uses_given_addresses():
    out = natlab("rules", "rfc5382", "--wan", "198.19.0.7", "--lan", "10.9.9.0/24").stdout
    assert "198.19.0.7" in out and "10.9.9.0/24" in out
    assert "198.19.0.1" not in out


def test_rules_rejects_unknown_knob():
    r = natlab("rules", "full-cone", "colour=red", check=False)
    assert r.returncode == 2 and 'unknown knob "colour"' in r.stderr


@pytest.mark.parametrize("option, value", [
    ("--wan", "notanip"), ("--wan", "10.0.0.1/24"), ("--wan", "1.2.3.4; drop"),
    ("--lan", "10.0.0.0/99"), ("--lan", "10.0.0.0"), ("--lan", "10.0.0.0/"), ("--lan", "300.0.0.0/8"),
])
def test_rules_rejects_a_bad_address(option, value):
    # before: the ruleset came out with the text pasted in, for nft to fail on later
    r = natlab("rules", "full-cone", option, value, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and option in r.stderr and value in r.stderr, r.stderr


def test_rules_lists_every_preset_with_what_it_stands_for():
    import os
    from labkit import ROOT
    # in the files' name order, as the matrix takes them by default
    presets = [f[:-8] for f in sorted(os.listdir(os.path.join(ROOT, "natsim", "profiles"))) if f.endswith(".profile")]
    lines = natlab("rules", "--list").stdout.splitlines()
    assert [line.split()[0] for line in lines] == presets
    for name, line in zip(presets, lines):
        first = open(os.path.join(ROOT, "natsim", "profiles", f"{name}.profile")).readline().lstrip("; ").strip()
        assert line.split(None, 1)[1] == first, name


def test_presets_command_is_the_same_list():
    assert natlab("presets").stdout == natlab("rules", "--list").stdout
    assert natlab("presets", "extra", check=False).returncode == 2
