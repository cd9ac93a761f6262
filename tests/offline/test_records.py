"""Reading attempt records as natlab report and check do: a bad record named, a cut
last record read around, no output written through a symlink, every plot it links
drawn and gnuplot's failure told apart from its absence."""
import csv
import os
import re
import subprocess
import xml.etree.ElementTree as ET

from labkit import NATLAB, ROOT, off_schedule, records_run, reference_records, reference_run, so_at_skew0


def test_report_names_a_bad_record(tmp_path):
    (tmp_path / "attempts.jsonl").write_text('{"strategy": "so"}\nnot json\n')
    r = subprocess.run([NATLAB, "report", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip() == f"natlab: {tmp_path}/attempts.jsonl:1: not an attempt record"
    assert not (tmp_path / "report.md").exists()


def test_report_does_not_write_through_a_planted_symlink(tmp_path):
    # before: report opened its outputs with fopen, following a symlink planted in DIR
    out = reference_run(tmp_path, 200)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (out / "windows.csv").symlink_to(victim)
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode != 0 and f"{out}/windows.csv" in r.stderr, r.stderr
    assert victim.read_text() == "precious\n"


def test_report_and_check_read_a_run_whose_last_record_is_cut(tmp_path):
    # before: a half-written last line (a full disk, a kill) made report and check
    # refuse the whole directory
    out = tmp_path / "run"
    out.mkdir()
    with open(os.path.join(ROOT, "results", "reference", "attempts.jsonl")) as f:
        lines = f.readlines()[:120]
    (out / "attempts.jsonl").write_text("".join(lines[:-1]) + lines[-1][:300])
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"{out}/attempts.jsonl:120: the last record is cut short" in r.stderr
    # the cells hold the 119 whole records, not 120
    counted = sum(int(r["n"]) + int(r["off_schedule"]) for p in out.glob("matrix-*.csv")
                  for r in csv.DictReader(open(p)))
    assert counted == 119, counted
    # a cut line in the middle is damage, not a cut run: named, refused
    (out / "attempts.jsonl").write_text(lines[0][:300] + "\n" + "".join(lines[1:]))
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{out}/attempts.jsonl:1:" in r.stderr, r.stderr


def test_report_of_a_run_where_nothing_connected_draws_every_plot_it_links(tmp_path):
    # before: one NAT pair (a 1 x 1 heatmap: gnuplot's "with image" wants 2 x 2) and
    # no time to connect (an x range of no points: gnuplot's error) left the plot it
    # links undrawn and the plots after it too, blamed on a missing gnuplot
    out = reference_run(tmp_path, keep=lambda line: '"outcome":"connected"' not in line and
                        '"a":"symmetric","b":"symmetric"' in line and '"edge_search"' not in line)
    assert (out / "attempts.jsonl").stat().st_size, "the reference run has symmetric x symmetric attempts"
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    links = re.findall(r"\]\((plots/[^)]+\.svg)\)", (out / "report.md").read_text())
    assert "plots/distributions.svg" in links and any("heatmap-" in p for p in links), links
    for svg in links:
        root = ET.parse(out / svg).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg", svg
    assert "no attempt connected" in (out / "plots" / "distributions.svg").read_text()


def test_report_of_a_few_records_where_nothing_connected_at_some_round_trips_draws_every_plot(tmp_path):
    # before: a round trip at which no attempt connected gave its window plot a
    # time-to-connect panel of no point, gnuplot's error, and the plots after it were lost
    out = reference_run(tmp_path, 50)
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    links = re.findall(r"\]\((plots/[^)]+\.svg)\)", (out / "report.md").read_text())
    assert any("window-rtt" in p for p in links), links
    for svg in links:
        assert ET.parse(out / svg).getroot().tag == "{http://www.w3.org/2000/svg}svg", svg
    assert any("no attempt connected" in (out / p).read_text() for p in links if "window-rtt" in p)
    # a run cut short wrote no meta.json: the report does not link it
    assert "[meta.json](meta.json)" not in (out / "report.md").read_text()


def test_report_says_whether_gnuplot_is_missing_or_failed(tmp_path):
    # before: one message for both, "failed or is missing"; gnuplot's own words
    # are shown when it fails (and its warnings are not, when it draws)
    out = reference_run(tmp_path, 50)
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True, env={"PATH": str(empty)})
    assert r.returncode == 0 and r.stderr.strip() == \
        f"natlab: no gnuplot (Debian: gnuplot-nox); the plots in {out}/plots are not drawn", r.stderr
    failing = tmp_path / "failing"
    failing.mkdir()
    (failing / "gnuplot").write_text("#!/bin/sh\necho 'plots.gp line 1: something went wrong' >&2\nexit 1\n")
    (failing / "gnuplot").chmod(0o755)
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True,
                       env={"PATH": f"{failing}:/usr/bin:/bin"})
    assert r.returncode == 0
    assert r.stderr.splitlines() == ["plots.gp line 1: something went wrong",
                                     f"natlab: gnuplot failed on {out}/plots/plots.gp (its messages above); "
                                     "plots after the failing one are not drawn"], r.stderr


def test_report_of_a_sweep_at_no_delay_draws_its_window_plot(tmp_path):
    # before: "success around 0" zoomed to two round trips either side, at RTT 0 an
    # empty x range: gnuplot's error (a [run] without link delays, a matrix through
    # internet = bridge)
    sweep = [r for r in reference_records() if "sweeps" in r["scenario"] and r["rtt_ms"] == 20
             and "edge_search" not in r]
    for r in sweep:
        r["rtt_ms"] = 0.0
    out = records_run(tmp_path, sweep)
    r = subprocess.run([NATLAB, "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert ET.parse(out / "plots" / "window-rtt0.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_tables_say_when_there_is_no_grid_and_which_cell_is_unmeasured(tmp_path):
    # before: a sweep that skips skew 0 gave matrix-so.md its header only, and a cell
    # whose every attempt was off schedule read "nan% [nan–nan] n=0"
    out = records_run(tmp_path, [r for r in reference_records()
                                 if r["strategy"] == "so" and r["skew_ms"] != 0 and "edge_search" not in r])
    assert subprocess.run([NATLAB, "report", str(out)], capture_output=True).returncode == 0
    assert "No grid: no attempt at skew 0 in this run" in (out / "matrix-so.md").read_text()
    at0 = [r for r in so_at_skew0() if "matrix" in r["scenario"]]
    off_schedule(at0, at0[0]["profiles"]["a"], at0[0]["profiles"]["b"])
    records_run(tmp_path, at0)
    assert subprocess.run([NATLAB, "report", str(out)], capture_output=True).returncode == 0
    md = (out / "matrix-so.md").read_text()
    assert "unmeasured (" in md and "nan" not in md
