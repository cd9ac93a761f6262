"""natlab run states its own precision: meta.json's precision object recomputes
from the run's records (attempts.jsonl) and the wires' figures (wire.jsonl)."""
import json
import math
import subprocess

from labkit import NATLAB, two_nats

SCEN = two_nats("port-restricted-cone", "port-restricted-cone",
                {"strategies": "so, dcutr, udp", "skew_ms": "-4, 0, 4", "repeat": 2, "deadline_s": 1.5},
                lab={"name": "prec"}, na={"delay_ms": 5}, nb={"delay_ms": 5})


def nearest_rank(values, q):
    values = sorted(values)
    return values[max(math.ceil(q * len(values)) - 1, 0)]


def test_precision_recomputes_from_records(tmp_path):
    scen = tmp_path / "prec.ini"
    scen.write_text(SCEN)
    out = tmp_path / "run"
    run = subprocess.run([NATLAB, "run", str(scen), "--out", str(out)], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    meta = json.load(open(out / "meta.json"))
    p = meta["precision"]
    recs = [json.loads(line) for line in open(out / "attempts.jsonl")]
    assert meta["run"]["attempts"] + meta["run"]["run_again"] == len(recs)
    # which natlab made the run, as the binary says of itself
    version = subprocess.run([NATLAB, "--version"], capture_output=True, text=True, check=True).stdout
    assert version == f"natlab {meta['run']['natlab']}\n"

    # every scheduled attempt: the skew the NATs emitted against the one asked,
    # from the wire's own timestamps (so: the schedule; dcutr: both at once)
    for strategy in ("so", "dcutr"):
        errs = []
        for r in (r for r in recs if r["strategy"] == strategy):
            want = r["skew_ms"] if strategy == "so" else 0
            assert r["skew_emit_ms"] is not None, r
            err = abs(r["skew_emit_ms"] - want)
            assert abs(r["timing"]["emit_error_ms"] - err) < 0.0015
            errs.append(r["timing"]["emit_error_ms"])
            # the peers' own sends against their schedules, both sides
            assert all(late is not None and late >= 0 for late in r["timing"]["send_late_us"])
        got = p["emit_error_ms"][strategy]
        assert got["n"] == len(errs)
        assert got["p50"] == round(nearest_rank(errs, 0.5), 3)
        assert got["p95"] == round(nearest_rank(errs, 0.95), 3)
    # udp has no schedule the lab can check: no figure made up for it
    assert "udp" not in p["emit_error_ms"]
    assert all(r["timing"]["emit_error_ms"] is None for r in recs if r["strategy"] == "udp")

    for strategy in ("so", "dcutr", "udp"):
        mine = [r for r in recs if r["strategy"] == strategy]
        off = sum(r["on_schedule"] is False for r in mine)
        assert p["off_schedule"][strategy] == round(off / len(mine), 3)
    assert p["off_schedule"]["all"] == round(sum(r["on_schedule"] is False for r in recs) / len(recs), 3)

    # the wire's figures: one line per lab, the histogram merged
    lines = [json.loads(line) for line in open(out / "wire.jsonl")]
    assert len(lines) == 1 and lines[0]["frames"] > 0
    late = [us for us, n in lines[0]["late_us"] for _ in range(n)]
    at_once = [us for us, n in lines[0]["at_once_us"] for _ in range(n)]
    # frames due as they came (links without delay) are counted apart: the wire's wake-up
    assert len(late) + len(at_once) == lines[0]["frames"]
    assert len(late) == p["wire_delay_error_us"]["frames"]
    assert (p["wire_at_once_us"] or {}).get("frames", 0) == len(at_once)
    assert p["wire_delay_error_us"]["p50"] == nearest_rank(late, 0.5)
    assert p["wire_delay_error_us"]["p99"] == nearest_rank(late, 0.99)
    assert p["wire_delay_error_us"]["max"] == max(late)
    # a frame's delay starts at the kernel's receive stamp
    assert lines[0]["rx_stamped"] > 0 and lines[0]["rx_unstamped"] == 0

    t = p["timer_late_us"]
    assert 0 <= t["p50"] <= t["p99"]
    # every figure past its documented bound is a warning, and only those
    bounds = p["bounds"]
    expect = 0
    for strategy, v in p["emit_error_ms"].items():
        expect += v["p50"] > bounds["emit_error_ms"]["p50"] or v["p95"] > bounds["emit_error_ms"]["p95"]
    expect += sum(v > bounds["off_schedule"] for k, v in p["off_schedule"].items() if k != "all")
    w = p["wire_delay_error_us"]
    expect += w["p50"] > bounds["wire_delay_error_us"]["p50"] or w["p99"] > bounds["wire_delay_error_us"]["p99"]
    expect += not w["realtime"]
    expect += sum(line["rx_dropped"] for line in lines) > 0  # frames the wire had no room for
    expect += (p["wire_at_once_us"] or {}).get("p99", 0) >= bounds["wire_at_once_us"]["p99_under"]  # held up
    expect += any(r["timing"]["realtime"] is False for r in recs)
    expect += t["p99"] > bounds["timer_late_us"]["p99"]
    assert len(p["warnings"]) == expect, p["warnings"]
    for warning in p["warnings"]:
        assert f"natlab: warning: {warning}" in run.stderr

    # report.md: the same figures in a section, a warning on top when any is out of bounds
    subprocess.run([NATLAB, "report", str(out)], check=True, capture_output=True)
    report = open(out / "report.md").read()
    assert "\n## Precision\n" in report
    assert ("**Warning: this run did not keep" in report) == bool(p["warnings"])
    # and which natlab on which kernel made it, for whoever makes it again
    assert f"(natlab {meta['run']['natlab']}, {meta['run']['kernel']})" in report

