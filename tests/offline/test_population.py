"""natlab report's population table: each strategy over a mix of NATs, recomputed
here from the reference run's records and the mix file's shares."""
import configparser
import csv
import json
import math
import os
import shutil
import subprocess

from labkit import NATLAB, ROOT

REF = os.path.join(ROOT, "results", "reference")
MIX = os.path.join(ROOT, "natsim", "mixes", "ford-2005.mix")


def wilson(k, n, z=1.959963984540054):
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_population_recomputes_from_records(tmp_path):
    shutil.copy(os.path.join(REF, "attempts.jsonl"), tmp_path)
    subprocess.run([NATLAB, "report", str(tmp_path), "--mix", MIX], check=True, capture_output=True)
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",), strict=False)
    ini.read(MIX)
    shares = {k: float(v) / 100 for k, v in ini["shares"].items()}
    assert abs(sum(shares.values()) - 1) < 1e-9
    cells = {}
    for r in map(json.loads, open(tmp_path / "attempts.jsonl")):
        if r["skew_ms"] != 0 or r["on_schedule"] is False or r.get("edge_search"):
            continue
        scenario = os.path.basename(r["scenario"])[:-len(".ini")]
        key = (scenario, r["strategy"], r["rtt_ms"], frozenset((r["profiles"]["a"], r["profiles"]["b"])))
        c = cells.setdefault(key, [0, 0, 0])
        c[0] += 1
        c[1] += r["outcome"] == "connected"
        c[2] += r["outcome"] == "relayed"
    rows = list(csv.DictReader(open(tmp_path / "population.csv")))
    assert {r["strategy"] for r in rows} >= {"so", "dcutr", "udp", "relay"}
    for row in rows:
        direct = relayed = lo = hi = 0
        for a, wa in shares.items():
            for b, wb in shares.items():
                n, ok, rel = cells[(row["scenario"], row["strategy"], float(row["rtt_ms"]), frozenset((a, b)))]
                direct += wa * wb * ok / n
                relayed += wa * wb * rel / n
                lo += wa * wb * wilson(ok, n)[0]
                hi += wa * wb * wilson(ok, n)[1]
        assert float(row["direct_pct"]) == round(100 * direct, 1), row
        assert float(row["relayed_pct"]) == round(100 * relayed, 1), row
        assert abs(float(row["ci_low"]) - 100 * lo) <= 0.051 and abs(float(row["ci_high"]) - 100 * hi) <= 0.051
        assert float(row["ci_low"]) <= float(row["direct_pct"]) <= float(row["ci_high"])
    # the relay always gets through, and never directly
    relay = [r for r in rows if r["strategy"] == "relay"]
    assert relay and all(float(r["relayed_pct"]) == 100 and float(r["direct_pct"]) == 0 for r in relay)
    report = open(tmp_path / "report.md").read()
    assert "Source: Ford, Srisuresh, Kegel" in report and "Published: libp2p DCUtR" in report


def test_a_bad_mix_is_named_with_its_line(tmp_path):
    shutil.copy(os.path.join(REF, "attempts.jsonl"), tmp_path)
    mix = tmp_path / "bad.mix"
    mix.write_text("[mix]\nname = x\nsource = y\n[shares]\nsymmetric = 50\nfull-cone = 40\n")
    r = subprocess.run([NATLAB, "report", str(tmp_path), "--mix", str(mix)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{mix}:4: the shares sum to 90 %, not 100" in r.stderr, r.stderr
    # the mix is read before the report writes anything
    assert sorted(os.listdir(tmp_path)) == ["attempts.jsonl", "bad.mix"]
    mix.write_text("[mix]\nname = x\nsource = y\n[shares]\nfull-cone = 50\nfull-kone = 50\n")
    r = subprocess.run([NATLAB, "report", str(tmp_path), "--mix", str(mix)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{mix}:6: no preset \"full-kone\"" in r.stderr, r.stderr
    mix.write_text("[mix]\nname = x\ncolour = red\n")
    r = subprocess.run([NATLAB, "report", str(tmp_path), "--mix", str(mix)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{mix}:3: unknown key \"colour\"" in r.stderr, r.stderr
