# natlab report: the plots of a run. natlab report writes the data files and
# plots.tsv beside a copy of this script in RUN_DIR/plots and runs gnuplot there;
# running `gnuplot plots.gp` in that folder draws them again.
#
# plots.tsv says what to draw, a row each (tab-separated: what, strategy,
# rtt_ms, index, text), in drawing order, after a header row (so the file is
# never empty: stats refuses a file without data):
#   heatmap       ST  0    PANELS  SCENARIO  heatmap-ST.svg, one panel per grid row of ST
#   grid          ST  RTT  BLOCK   -         a panel: heatmap-ST.dat index BLOCK
#   tic           ST  RTT  I       PROFILE   the grid's I-th profile, both axes
#   series        ST  RTT  BLOCK   TITLE     windows.dat index BLOCK: one skew series
#   window        -   RTT  0       ttc rtx   window-rttRTT.svg, from its series rows;
#                                            ttc, rtx: those panels have a point
#   skewmap       ST  NRTT B       TITLE     skew-rtt.svg: a panel, skew-rtt.dat index B
#   skewtic       -   B    I       SKEW      panel B's I-th column (a skew, ms)
#   rtttic        -   B    I       RTT       panel B's I-th row (a round trip, ms)
#   distrtt       -   RTT  B       - | none  distributions.svg, a row per RTT: its
#                                            retransmission counts are block B;
#                                            none: no attempt connected at it
#   distribution  ST  0    S       -         the S-th strategy (from 1): column S + 1 of
#                                            each RTT's block B, and block B + S
# The commands are the ones natlab used to write itself: the same text makes
# the same SVGs.

svg = "set terminal svg size %d,%d dynamic font 'sans,11' background '#ffffff'"

# twelve colours told apart at a glance (Tableau's ten, then two), not the
# default eight that come round again
array LT[12] = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', \
	'#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#17becf', '#000000']
do for [i = 1:12] { eval sprintf("set linetype %d lc rgb '%s' lw 1.5 pt %d", i, LT[i], i) }
set linetype cycle 12

set datafile separator "\t"
stats 'plots.tsv' using (0) nooutput
N = STATS_records
array W[N]
array S[N]
array R[N]
array I[N]
array T[N]
k = 0
stats 'plots.tsv' using (k = k + 1, W[k] = strcol(1), S[k] = strcol(2), R[k] = strcol(3), \
	I[k] = strcol(4), T[k] = strcol(5), 0) nooutput
set datafile separator whitespace

# a panel with no point to plot (gnuplot's error, and the plots after it were
# lost), its ranges set first: why = "..."; eval empty_panel
empty_panel = 'set label 1 why at graph 0.5, 0.5 center; plot NaN notitle; unset label 1'

# the titles of windows.dat's series, by block (a block of too few points has none)
series = 0
do for [k = 1:N] { if (W[k] eq "series" && I[k] + 1 > series) { series = I[k] + 1 } }
array SERIES[series > 0 ? series : 1]
do for [k = 1:N] { if (W[k] eq "series") { SERIES[I[k] + 1] = T[k] } }

# the strategies of distributions.svg, by column; its round trips, by row
dists = 0
do for [k = 1:N] { if (W[k] eq "distribution") { dists = dists + 1 } }
array DIST[dists > 0 ? dists : 1]
do for [k = 1:N] { if (W[k] eq "distribution") { DIST[I[k] + 0] = S[k] } }
drtts = 0
do for [k = 1:N] { if (W[k] eq "distrtt") { drtts = drtts + 1 } }

do for [k = 1:N] {
	if (W[k] eq "heatmap") {
		st = S[k]
		eval sprintf(svg, 560 * (I[k] + 0), 480)
		eval sprintf("set output 'heatmap-%s.svg'", st)
		eval sprintf("set multiplot layout 1,%d title \"strategy %s: success %% by NAT pair (%s, skew 0)\"", \
			I[k] + 0, st, T[k])
		set cbrange [0:100]
		set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
		set xtics rotate by 45 right
		unset key
		set size ratio -1
		do for [g = 1:N] {
			if (W[g] eq "grid" && S[g] eq st) {
				tics = ""
				n = 0
				do for [i = 1:N] {
					if (W[i] eq "tic" && S[i] eq st && R[i] eq R[g]) {
						tics = tics . sprintf("%s'%s' %d", n ? ", " : "", T[i], n)
						n = n + 1
					}
				}
				eval "set xtics (" . tics . ")"
				eval "set ytics (" . tics . ")"
				eval sprintf("set xrange [-0.5:%d.5]", n - 1)
				eval sprintf("set yrange [%d.5:-0.5]", n - 1)
				eval sprintf("set title 'RTT %g ms'", R[g] + 0)
				# a box per cell, where "with image" needs 2 x 2 cells at the least
				eval sprintf("plot 'heatmap-%s.dat' index %d using 1:2:(0.5):(0.5):3 with boxxyerror " . \
					"fill solid 1.0 noborder lc palette, " . \
					"'' index %d using 1:2:(sprintf('%%d', $3)) with labels", st, I[g] + 0, I[g] + 0)
			}
		}
		unset multiplot
		unset xtics
		unset ytics
		set xtics
		set ytics
		set size noratio
		set autoscale
		unset title
	}
	if (W[k] eq "window") {
		rtt = R[k] + 0
		# the series of this round trip: one list of plot clauses per panel
		titles = ""
		ttc = ""
		rtx = ""
		do for [i = 1:N] {
			if (W[i] eq "series" && R[i] eq R[k]) {
				b = I[i] + 0
				titles = titles . sprintf("%s'windows.dat' index %d using 1:2 with linespoints title '%s'", \
					titles ne "" ? ", " : "", b, SERIES[b + 1])
				ttc = ttc . sprintf("%s'windows.dat' index %d using 1:4 with points title '%s'", \
					ttc ne "" ? ", " : "", b, SERIES[b + 1])
				rtx = rtx . sprintf("%s'windows.dat' index %d using 1:3 with linespoints title '%s'", \
					rtx ne "" ? ", " : "", b, SERIES[b + 1])
			}
		}
		eval sprintf(svg, 1100, 980)
		eval sprintf("set output 'window-rtt%g.svg'", rtt)
		# the legend below the four panels, never over the data
		eval sprintf("set multiplot layout 2,2 title 'against skew (b starts later by skew), RTT %g ms' " . \
			"margins 0.07,0.98,0.16,0.93 spacing 0.08,0.1", rtt)
		set key at screen 0.5,0.015 center bottom horizontal maxrows 4 font ',9'
		set yrange [-5:105]
		set ylabel 'success %'
		set xlabel 'skew (ms)'
		set xrange [*:*]
		set title 'success, whole sweep'
		eval "plot " . titles
		# the sweep's skews, for a panel with no point to plot
		xlo = GPVAL_X_MIN
		xhi = GPVAL_X_MAX
		set title 'success around 0'
		# two round trips either side; with no delay, the sweep (an empty range is an error)
		if (rtt > 0) { eval sprintf("set xrange [%g:%g]", -2 * rtt, 2 * rtt) } else { eval sprintf("set xrange [%g:%g]", xlo, xhi) }
		unset key
		eval "plot " . titles
		set xrange [*:*]
		set yrange [0:*]
		set title 'time to connect (median of the successes)'
		set ylabel 'ms'
		if (strstrt(T[k], "ttc")) {
			eval "plot " . ttc
		} else {
			eval sprintf("set xrange [%g:%g]", xlo, xhi)
			set yrange [0:1]
			why = "no attempt connected"
			eval empty_panel
			set xrange [*:*]
			set yrange [0:*]
		}
		set title 'SYN retransmissions (median, both sides; TCP strategies)'
		set ylabel 'retransmissions'
		if (strstrt(T[k], "rtx")) {
			eval "plot " . rtx
		} else {
			eval sprintf("set xrange [%g:%g]", xlo, xhi)
			set yrange [0:1]
			why = "no TCP attempt on schedule"
			eval empty_panel
		}
		unset multiplot
		set key default
		set autoscale
		unset xlabel
		unset ylabel
		unset title
	}
}

maps = 0
do for [k = 1:N] { if (W[k] eq "skewmap") { maps = maps + 1 } }
if (maps > 0) {
	eval sprintf(svg, 1100, 60 + 230 * maps)
	set output 'skew-rtt.svg'
	eval sprintf("set multiplot layout %d,1 title 'success %% against skew (columns: the skews tried, in order) and round trip; values other than 0 and 100 written'", maps)
	set cbrange [0:100]
	set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
	unset key
	do for [k = 1:N] {
		if (W[k] eq "skewmap") {
			b = I[k] + 0
			xt = ""
			yt = ""
			nx = 0
			do for [i = 1:N] {
				if (W[i] eq "skewtic" && R[i] + 0 == b) {
					# every fourth skew named, and 0
					if ((I[i] + 0) % 4 == 0 || T[i] + 0 == 0) {
						xt = xt . sprintf("%s'%s' %d", xt ne "" ? ", " : "", T[i], I[i] + 0)
					}
					nx = nx + 1
				}
				if (W[i] eq "rtttic" && R[i] + 0 == b) {
					yt = yt . sprintf("%s'%s ms' %d", yt ne "" ? ", " : "", T[i], I[i] + 0)
				}
			}
			eval "set xtics rotate by 60 right font ',8' (" . xt . ")"
			eval "set ytics (" . yt . ")"
			eval sprintf("set xrange [-0.5:%d.5]", nx - 1)
			eval sprintf("set yrange [-0.5:%d.5]", R[k] + 0 - 1)
			set xlabel 'skew (ms)'
			eval sprintf("set title '%s'", T[k])
			# too narrow for three digits each: a value is written where it is
			# neither 0 nor 100, which the colours tell
			eval sprintf("plot 'skew-rtt.dat' index %d using 1:2:3 with image, " . \
				"'' index %d using 1:2:(($3 > 0 && $3 < 100) ? sprintf('%%d', $3) : '') with labels font ',7'", b, b)
		}
	}
	unset multiplot
	unset xlabel
	set xtics norotate font ''
	set xtics autofreq
	set ytics autofreq
	set autoscale
	unset title
}

if (dists > 0 && drtts > 0) {
	eval sprintf(svg, 1100, 40 + 380 * drtts)
	set output 'distributions.svg'
	eval sprintf("set multiplot layout %d,2 title 'distributions, per round trip'", drtts)
	set key default
	do for [k = 1:N] {
		if (W[k] eq "distrtt") {
			b = I[k] + 0
			eval sprintf("set title 'SYN retransmissions per attempt (both sides), RTT %g ms'", R[k] + 0)
			set style data histograms
			set style histogram clustered
			set style fill solid 0.8
			set xlabel 'retransmissions (8: 8 or more)'
			set ylabel 'attempts'
			set yrange [0:*]
			set key inside top right
			cmd = "plot "
			do for [s = 1:dists] {
				cmd = cmd . sprintf("%s'distributions.dat' index %d using %d:xtic(1) title '%s'", \
					s > 1 ? ", " : "", b, s + 1, DIST[s])
			}
			eval cmd
			set autoscale y
			set style data lines
			eval sprintf("set title 'time to connect (successes), RTT %g ms'", R[k] + 0)
			set logscale x
			set xlabel 'ms'
			set ylabel 'attempts connected by then (%)'
			set key inside bottom right
			if (T[k] eq "none") {
				set xrange [1:1000]
				set yrange [0:100]
				why = "no attempt connected"
				eval empty_panel
				set autoscale
			} else {
				cmd = "plot "
				do for [s = 1:dists] {
					cmd = cmd . sprintf("%s'distributions.dat' index %d using 1:2 with steps title '%s'", \
						s > 1 ? ", " : "", b + s, DIST[s])
				}
				eval cmd
			}
			unset logscale x
		}
	}
	unset multiplot
}
