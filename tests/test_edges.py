"""edges = bisect: a timing window's edges found to the millisecond, through real NATs."""
import csv
import json
import subprocess

from labkit import NATLAB

RTT_MS = 20
MATRIX = f"""[lab]
name = edges
[matrix]
profiles = linux-default
pairs = same
rtt_ms = {RTT_MS}
strategies = so
skew_ms = -60, 60
repeat = 1
deadline_s = 2
edges = bisect
"""


def through(records):
    """Each probed skew's verdict: the majority of its attempts on schedule."""
    votes = {}
    for r in records:
        if r["on_schedule"] is not False:
            votes.setdefault(r["skew_ms"], []).append(r["outcome"] in ("connected", "relayed"))
    return {skew: 2 * sum(v) > len(v) for skew, v in votes.items()}


def test_window_edges_to_the_millisecond(tmp_path):
    path = tmp_path / "edges.ini"
    path.write_text(MATRIX)
    out = tmp_path / "run"
    r = subprocess.run([NATLAB, "run", str(path), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    subprocess.run([NATLAB, "report", str(out)], check=True, capture_output=True)
    recs = [json.loads(line) for line in open(out / "attempts.jsonl")]
    probes = [r for r in recs if r.get("edge_search")]
    verdict = through(probes)
    assert verdict[0], "skew 0 must get through between two linux-default NATs"
    # linux-default answers a stray SYN with RST: the punch survives while b's SYN
    # leaves before a's reaches b's NAT, i.e. |skew| up to the one-way delay
    # between the NATs (RTT/2), give or take the lab's precision (0.5 ms)
    one_way = RTT_MS / 2
    row = next(w for w in csv.DictReader(open(out / "windows.csv")) if w["method"] == "bisect")
    for side, dir_ in (("lo", -1), ("hi", 1)):
        skews = sorted((s for s in verdict if s * dir_ >= 0), key=abs)
        good = 0
        for s in skews:
            if not verdict[s]:
                break
            good = s
        bad = next(s for s in skews if abs(s) > abs(good))
        assert not verdict[bad]
        assert abs(bad - good) <= 1 + 1e-9, (side, good, bad)
        assert abs(good) <= one_way + 0.5 and abs(bad) >= one_way - 0.5, (side, good, bad)
        # the table says the same, to the resolution asked
        assert float(row[f"measured_{side}_ms"]) == good
        assert abs(float(row[f"step_{side}_ms"]) - abs(bad - good)) < 1e-6
        # the model's edge is the one-way delay
        assert abs(float(row[f"predicted_{side}_ms"]) - dir_ * one_way) <= 0.01
    assert row["agrees"] == "yes"
    # the probes are no cells of the tables: those have the grid's two skews only
    rows = list(csv.DictReader(open(out / "matrix-so.csv")))
    assert sorted(float(x["skew_ms"]) for x in rows) == [-60, 60]
    assert "probing window edges" in open(out / "report.md").read()
