"""natlab merge refuses shards that do not make one plan's run, before writing anything."""
import json
import os
import subprocess

from labkit import NATLAB


def test_merge_refuses_an_incomplete_or_mixed_set(tmp_path):
    def shard(i, n, text="shards.ini", plan="00000000deadbeef", exit=0):
        d = tmp_path / f"s{i}of{n}-{text}-{plan}-{exit}"
        d.mkdir(exist_ok=True)
        (d / "attempts.jsonl").write_text("")
        (d / "meta.json").write_text(json.dumps({"run": {"attempts": 0, "run_again": 0, "jobs": 2, "shard": {
            "index": i, "count": n, "plan_jobs": 6, "plan": plan, "scenarios": [text], "exit": exit}}}))
        return str(d)

    def merge(*dirs):
        return subprocess.run([NATLAB, "merge", *dirs, "--out", str(tmp_path / "m")], capture_output=True, text=True)

    r = merge(shard(1, 3), shard(3, 3))
    assert r.returncode == 2 and "shard 2/3 is missing" in r.stderr
    r = merge(shard(1, 2), shard(2, 2, "other.ini"))
    assert r.returncode == 2 and "a shard of another plan" in r.stderr
    # the same files, cut otherwise (other presets or another natlab): another plan
    r = merge(shard(1, 2), shard(2, 2, plan="00000000deadbee0"))
    assert r.returncode == 2 and "a shard of another plan" in r.stderr
    # a shard whose run failed lacks labs
    r = merge(shard(1, 2), shard(2, 2, exit=1))
    assert r.returncode == 2 and "did not finish all of its labs (exit 1)" in r.stderr
    # two shards' captures of one name: said before anything is written
    a, b = shard(1, 2, plan="00000000deadbee1"), shard(2, 2, plan="00000000deadbee1")
    for d in (a, b):
        os.makedirs(os.path.join(d, "pcap"))
        open(os.path.join(d, "pcap", "lab-1234-a0.pcap"), "w").close()
    r = merge(a, b)
    assert r.returncode == 2 and "two shards wrote a file of one name" in r.stderr
    d = tmp_path / "plain"
    d.mkdir()
    (d / "meta.json").write_text('{"run": {"attempts": 1}}')
    r = merge(str(d))
    assert r.returncode == 2 and f"{d}/meta.json: not a shard" in r.stderr
    assert not (tmp_path / "m").exists()


def test_merged_meta_takes_the_worst_shards_timer_figures_and_the_most_jobs(tmp_path):
    # before: p50 from one shard and p99 from another, and shard 1's jobs whatever the others'
    dirs = []
    for i, (p50, p99, jobs, cpus) in enumerate([(20.0, 900.0, 1, 2), (60.0, 300.0, 2, 4)], 1):
        d = tmp_path / f"s{i}"
        d.mkdir()
        (d / "attempts.jsonl").write_text("")
        (d / "meta.json").write_text(json.dumps({
            "run": {"attempts": 0, "run_again": 0, "jobs": jobs, "cpus": cpus, "shard": {
                "index": i, "count": 2, "plan_jobs": 6, "plan": "00000000deadbeef", "scenarios": ["x.ini"],
                "exit": 0}},
            "precision": {"timer_late_us": {"p50": p50, "p99": p99}}}))
        dirs.append(str(d))
    r = subprocess.run([NATLAB, "merge", *dirs, "--out", str(tmp_path / "m")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    meta = json.load(open(tmp_path / "m" / "meta.json"))
    assert meta["precision"]["timer_late_us"] == {"p50": 20.0, "p99": 900.0}
    assert (meta["run"]["jobs"], meta["run"]["cpus"]) == (2, 4)
