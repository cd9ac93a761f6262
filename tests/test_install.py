"""make install as a user and a packager meet it: the installed natlab runs from
any directory with its own presets and its own natlab-probe, the Python package
imports and its pytest plugin loads by itself; DESTDIR stages without touching
PREFIX."""
import json
import os
import subprocess
import sys

from labkit import two_nats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYVER = "%d.%d" % sys.version_info[:2]



def pair(b):
    # RTT 20 ms, a window of +-10 ms: at RTT 0 the window is the path's tens of us,
    # and a peer 0.9-1.7 ms late on a loaded runner met the other side of it (a
    # timeout where the cell connects, the model agreeing at the skew it met)
    return two_nats("full-cone", b, {"strategies": "so", "deadline_s": 3}, na={"delay_ms": 5}, nb={"delay_ms": 5})


def clean_env(**more):
    env = {k: v for k, v in os.environ.items() if k not in ("NATLAB", "NATLAB_PROFILE_DIR", "PYTHONPATH")}
    env.update(more)
    return env


def install(*args):
    subprocess.run(["make", "-s", "-C", ROOT, "install", *args], check=True, capture_output=True,
                   env=clean_env())


def test_installed_natlab_runs_from_anywhere(tmp_path):
    prefix = tmp_path / "prefix"
    install(f"PREFIX={prefix}")
    nl = str(prefix / "bin" / "natlab")
    run = dict(cwd="/", capture_output=True, text=True, env=clean_env())

    # its presets are the installed ones: a missing one says where it looked
    (tmp_path / "bad.ini").write_text(pair("no-such-preset"))
    r = subprocess.run([nl, "up", str(tmp_path / "bad.ini")], **run)
    assert r.returncode != 0
    assert f"looked in {prefix}/bin/../share/natlab/profiles" in r.stderr
    assert "full-cone" in subprocess.run([nl, "rules", "--list"], **run).stdout

    # an attempt through two NATs with the installed natlab-probe and natlab-wire
    (tmp_path / "pair.ini").write_text(pair("port-restricted-cone"))
    r = subprocess.run([nl, "run", "--out", str(tmp_path / "out"), str(tmp_path / "pair.ini")], **run)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in (tmp_path / "out" / "attempts.jsonl").read_text().splitlines()]
    # one attempt; one the lab did not hold the timing of (seen: its SYNs 2.16 ms
    # apart for 0 on a busy machine) is kept, flagged, and runs again
    assert [(x["strategy"], x["outcome"]) for x in recs if x["on_schedule"] is not False] == [("so", "connected")]

    # the Python package finds the installed natlab, and pytest loads the plugin
    # without being told (its pytest11 entry point)
    site = str(prefix / "lib" / f"python{PYVER}" / "dist-packages")
    env = clean_env(PYTHONPATH=site)
    r = subprocess.run([sys.executable, "-c", "import natlab; print(natlab.binary())"], cwd="/",
                       capture_output=True, text=True, env=env)
    assert r.stdout.strip() == nl, r.stderr
    user = tmp_path / "user"
    user.mkdir()
    (user / "test_mine.py").write_text(
        "def test_mine(natlab_lab):\n"
        "    lab = natlab_lab({'nat.n': {'profile': 'symmetric'}, 'host.a': {'behind': 'n'}})\n"
        "    assert lab.node('n').wan and lab.node('a').addr.startswith('10.')\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_mine.py"], cwd=user,
                       capture_output=True, text=True, env=env, timeout=60)
    assert "1 passed" in r.stdout, r.stdout + r.stderr
    # named too, as docs/python.md shows for a checkout: loaded once, not twice
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "natlab.pytest_plugin",
                        "test_mine.py"], cwd=user, capture_output=True, text=True, env=env, timeout=60)
    assert "1 passed" in r.stdout, r.stdout + r.stderr


def test_destdir_stages_for_packagers(tmp_path):
    stage = tmp_path / "stage"
    install(f"DESTDIR={stage}", "PREFIX=/usr")
    assert (stage / "usr/bin/natlab").exists() and (stage / "usr/bin/natlab-probe").exists()
    assert (stage / "usr/share/natlab/profiles/full-cone.profile").exists()
    site = stage / "usr/lib/python3/dist-packages"
    assert (site / "natlab/_install.py").read_text() == "BINDIR = '/usr/bin'\n"
    assert "natlab.pytest_plugin = natlab.pytest_plugin" in (site / "natlab-0.1.dist-info/entry_points.txt").read_text()
    everything = {str(p.relative_to(stage)).split("/")[0] for p in stage.iterdir()}
    assert everything == {"usr"}
