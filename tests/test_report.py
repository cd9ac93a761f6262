"""natlab report: every matrix cell recomputes from attempts.jsonl."""
import csv
import re
import json
import statistics
import subprocess

from labkit import NATLAB, two_nats


def scen(pa, pb, repeat=2):
    return two_nats(pa, pb, {"strategies": "so, udp", "repeat": repeat, "deadline_s": 1.5}, lab={"name": "rep"},
                    na={"delay_ms": 2}, nb={"delay_ms": 2})


def test_matrix_cells_recompute_from_records(tmp_path):
    out = tmp_path / "run"
    # two runs into one folder: their records add up
    for pa, pb in (("full-cone", "port-restricted-cone"), ("symmetric", "port-restricted-cone")):
        path = tmp_path / f"{pa}.ini"
        path.write_text(scen(pa, pb))
        subprocess.run([NATLAB, "run", str(path), "--out", str(out)], check=True,
                       capture_output=True)
    subprocess.run([NATLAB, "report", str(out)], check=True, capture_output=True)
    recs = [json.loads(line) for line in open(out / "attempts.jsonl")]
    # 8 attempts, and any the lab ran again because it did not hold their timing
    assert sum(r["on_schedule"] is not False for r in recs) == 8
    cells = 0
    for strategy in ("so", "udp"):
        rows = list(csv.DictReader(open(out / f"matrix-{strategy}.csv")))
        assert len(rows) == 2
        for row in rows:
            mine = [r for r in recs if r["strategy"] == strategy
                    and r["scenario"].endswith("/" + row["scenario"] + ".ini")
                    and r["rtt_ms"] == float(row["rtt_ms"])
                    and r["skew_ms"] == float(row["skew_ms"])
                    and r["profiles"] == {"a": row["profile_a"], "b": row["profile_b"]}]
            # attempts whose SYNs left off schedule are counted apart
            assert int(row["off_schedule"]) == sum(r["on_schedule"] is False for r in mine)
            mine = [r for r in mine if r["on_schedule"] is not False]
            ok = [r for r in mine if r["outcome"] in ("connected", "relayed")]
            assert int(row["n"]) == len(mine) and int(row["successes"]) == len(ok)
            assert float(row["success_pct"]) == round(100 * len(ok) / len(mine), 1)
            # its 95 % Wilson interval (values checked in tests/unit/test_stats.c) holds the rate
            assert float(row["ci_low"]) <= float(row["success_pct"]) <= float(row["ci_high"])
            assert (float(row["ci_low"]) == 0) == (not ok) and (float(row["ci_high"]) == 100) == (len(ok) == len(mine))
            ttc = row["median_time_to_connect_ms"]
            if ok:
                assert float(ttc) == round(statistics.median(r["time_to_connect_ms"] for r in ok), 1)
            else:
                assert ttc == "-"
            rtx = statistics.median(r["syn_retrans"]["a"] + r["syn_retrans"]["b"] for r in mine)
            assert float(row["median_syn_retrans"]) == round(rtx, 1)
            assert row["predicted"] == mine[0]["predicted"]
            outcomes = {r["outcome"] for r in mine}
            assert row["verdict"] == (outcomes.pop() if outcomes <= {"connected"} or
                                      outcomes <= {"relayed"} else
                                      "failed" if not ok else "mixed")
            assert int(row["disagreements"]) == sum(r["agrees"] is False for r in mine)
            cells += 1
    assert cells == 4
    report = open(out / "report.md").read()
    assert "## Findings" in report and "- none" in report
    assert "matrix-so.md" in report and "matrix-udp.md" in report
    # gnuplot drew the plots the report shows
    for svg in re.findall(r"\]\((plots/[^)]+\.svg)\)", report):
        assert (out / svg).read_text().lstrip().startswith("<?xml"), svg
    assert (out / "plots" / "heatmap-so.svg").exists()


def test_a_full_disk_keeps_whole_records_and_says_so(tmp_path):
    # before: exit 1 with "attempts.jsonl: Success" and a half-written last record
    disk = tmp_path / "disk"
    disk.mkdir()
    scen_path = tmp_path / "full.ini"
    scen_path.write_text(scen("full-cone", "full-cone", repeat=40))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k,mode=0700", "natlab-test", str(disk)],
                   check=True)
    try:
        r = subprocess.run([NATLAB, "run", "-j", "1", "--out", str(disk / "out"), str(scen_path)],
                           capture_output=True, text=True, timeout=300)
        kept = (disk / "out" / "attempts.jsonl").read_bytes()
    finally:
        subprocess.run(["umount", str(disk)], check=True)
    assert r.returncode == 1, r.stderr
    assert "attempts.jsonl: No space left on device" in r.stderr, r.stderr
    assert "Success" not in r.stderr
    stopped = [l for l in r.stderr.splitlines() if "stopped:" in l]
    assert len(stopped) == 1, r.stderr
    n = int(re.search(r"the (\d+) in attempts.jsonl are whole", stopped[0]).group(1))
    assert kept.endswith(b"\n") and 0 < n < 160
    assert [json.loads(l)["strategy"] for l in kept.decode().splitlines()] and kept.count(b"\n") == n
