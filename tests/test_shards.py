"""natlab run --shard I/N and natlab merge, through the GNU parallel recipe and
the Slurm script: a sharded run's tables equal one unsharded run's."""
import csv
import json
import os
import subprocess

from labkit import NATLAB, ROOT

SHARDS = os.path.join(ROOT, "examples", "shards")
# six labs (a pair each), deterministic NATs: verdicts repeat run after run
MATRIX = """[lab]
name = shards
seed = 3
[matrix]
profiles = full-cone, port-restricted-cone, symmetric
pairs = all
rtt_ms = 20
strategies = so, udp
skew_ms = 0
repeat = 2
deadline_s = 1.5
"""
# what a cell measured, not when (times to connect differ run to run)
KEEP = ("scenario", "rtt_ms", "skew_ms", "profile_a", "profile_b", "n", "successes", "ci_low", "ci_high",
        "success_pct", "verdict", "predicted")


def tables(run):
    subprocess.run([NATLAB, "report", str(run)], check=True, capture_output=True)
    return {name: sorted(tuple(row[k] for k in KEEP) for row in csv.DictReader(open(run / name)))
            for name in ("matrix-so.csv", "matrix-udp.csv")}


def cells(run):
    return sorted({(r["profiles"]["a"], r["profiles"]["b"]) for r in map(json.loads, open(run / "attempts.jsonl"))})


def test_three_shards_merge_into_the_unsharded_run(tmp_path):
    scen = tmp_path / "shards.ini"
    scen.write_text(MATRIX)
    whole = tmp_path / "whole"
    subprocess.run([NATLAB, "run", str(scen), "--out", str(whole)], check=True, capture_output=True)
    env = dict(os.environ, NATLAB=NATLAB)
    out = tmp_path / "sharded"
    r = subprocess.run([os.path.join(SHARDS, "parallel.sh"), "3", str(out), str(scen)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    merged = out / "merged"
    # every pair in exactly one shard, two labs each
    parts = [cells(out / f"shard-{i}") for i in (1, 2, 3)]
    assert [len(p) for p in parts] == [2, 2, 2]
    assert sorted(sum(parts, [])) == cells(whole) == cells(merged)
    assert tables(merged) == tables(whole)
    meta = json.load(open(merged / "meta.json"))
    assert meta["run"]["merged"]["shards"] == 3
    assert meta["run"]["attempts"] == json.load(open(whole / "meta.json"))["run"]["attempts"] == 24
    # the Slurm script's task 2 of an array 0-2 cuts the same slice as parallel's shard 2
    slurm = tmp_path / "slurm"
    env.update(SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_COUNT="3")
    r = subprocess.run(["bash", os.path.join(SHARDS, "slurm.sbatch"), str(slurm), str(scen)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.load(open(slurm / "shard-2" / "meta.json"))["run"]["shard"]["index"] == 2
    assert cells(slurm / "shard-2") == parts[1]
