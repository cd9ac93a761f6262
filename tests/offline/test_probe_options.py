"""natlab-probe peer's command line: numbers read strictly, the secret required."""
import os
import subprocess

import pytest

from labkit import ROOT

PROBE = os.path.join(ROOT, "build", "natlab-probe")


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


def test_peer_wants_a_secret_and_says_where_to_put_it():
    base = [PROBE, "peer", "--server", "127.0.0.1:1", "--attempt", "a0", "--side", "0", "--strategy", "so"]
    env = {k: v for k, v in os.environ.items() if k != "NATLAB_PROBE_SECRET"}
    r = subprocess.run(base, capture_output=True, text=True, timeout=10, env=env)
    assert r.returncode == 2 and "NATLAB_PROBE_SECRET" in r.stderr
    r = subprocess.run(base + ["--secret", "not-hex"], capture_output=True, text=True, timeout=10, env=env)
    assert r.returncode == 2 and "secret" in r.stderr and "not-hex" not in r.stderr


def test_peer_rejects_an_unknown_option_and_a_stray_argument():
    base = [PROBE, "peer", "--server", "127.0.0.1:1", "--attempt", "a0", "--side", "0", "--strategy", "so"]
    for extra in (["--sied", "1"], ["stray"]):
        r = subprocess.run(base + extra, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and r.stderr.strip(), extra
