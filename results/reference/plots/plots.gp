set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-dcutr.svg'
set multiplot layout 1,2 title "strategy dcutr: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-dcutr.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-dcutr.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-relay.svg'
set multiplot layout 1,2 title "strategy relay: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-relay.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-relay.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-retry.svg'
set multiplot layout 1,2 title "strategy retry: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-retry.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-retry.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-so.svg'
set multiplot layout 1,2 title "strategy so: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-so.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-so.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-so-listen.svg'
set multiplot layout 1,2 title "strategy so-listen: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-so-listen.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-so-listen.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1120,480 dynamic font 'sans,11' background '#ffffff'
set output 'heatmap-udp.svg'
set multiplot layout 1,2 title "strategy udp: success % by NAT pair (matrix, skew 0)"
set cbrange [0:100]
set palette defined (0 '#c0392b', 50 '#f1c40f', 100 '#27ae60')
set xtics rotate by 45 right
unset key
set size ratio -1
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 20 ms'
plot 'heatmap-udp.dat' index 0 using 1:2:3 with image, '' index 0 using 1:2:(sprintf('%d', $3)) with labels
set xtics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set ytics ('cgnat' 0, 'full-cone' 1, 'linux-default' 2, 'port-restricted-cone' 3, 'restricted-cone' 4, 'rfc5382' 5, 'rst-on-syn' 6, 'symmetric' 7, 'symmetric-sequential' 8)
set xrange [-0.5:8.5]
set yrange [8.5:-0.5]
set title 'RTT 100 ms'
plot 'heatmap-udp.dat' index 1 using 1:2:3 with image, '' index 1 using 1:2:(sprintf('%d', $3)) with labels
unset multiplot
unset xtics
unset ytics
set xtics
set ytics
set size noratio
set autoscale
unset title
set terminal svg size 1100,900 dynamic font 'sans,11' background '#ffffff'
set output 'window-rtt20.svg'
set multiplot layout 2,2 title 'against skew (b starts later by skew), RTT 20 ms'
set key center right font ',9'
set yrange [-5:105]
set ylabel 'success %'
set xlabel 'skew (ms)'
set xrange [*:*]
set title 'success, whole sweep'
plot 'windows.dat' index 0 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 1 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 2 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set title 'success around 0'
set xrange [-40:40]
unset key
plot 'windows.dat' index 0 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 1 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 2 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set xrange [*:*]
set yrange [0:*]
set title 'time to connect (median of the successes)'
set ylabel 'ms'
plot 'windows.dat' index 0 using 1:4 with points title 'so linux-default ↔ linux-default', 'windows.dat' index 1 using 1:4 with points title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 2 using 1:4 with points title 'so rst-on-syn ↔ rst-on-syn'
set title 'SYN retransmissions (median, both sides)'
set ylabel 'retransmissions'
plot 'windows.dat' index 0 using 1:3 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 1 using 1:3 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 2 using 1:3 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
unset multiplot
set autoscale
unset xlabel
unset ylabel
unset title
set terminal svg size 1100,900 dynamic font 'sans,11' background '#ffffff'
set output 'window-rtt100.svg'
set multiplot layout 2,2 title 'against skew (b starts later by skew), RTT 100 ms'
set key center right font ',9'
set yrange [-5:105]
set ylabel 'success %'
set xlabel 'skew (ms)'
set xrange [*:*]
set title 'success, whole sweep'
plot 'windows.dat' index 3 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 4 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 5 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set title 'success around 0'
set xrange [-200:200]
unset key
plot 'windows.dat' index 3 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 4 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 5 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set xrange [*:*]
set yrange [0:*]
set title 'time to connect (median of the successes)'
set ylabel 'ms'
plot 'windows.dat' index 3 using 1:4 with points title 'so linux-default ↔ linux-default', 'windows.dat' index 4 using 1:4 with points title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 5 using 1:4 with points title 'so rst-on-syn ↔ rst-on-syn'
set title 'SYN retransmissions (median, both sides)'
set ylabel 'retransmissions'
plot 'windows.dat' index 3 using 1:3 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 4 using 1:3 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 5 using 1:3 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
unset multiplot
set autoscale
unset xlabel
unset ylabel
unset title
set terminal svg size 1100,900 dynamic font 'sans,11' background '#ffffff'
set output 'window-rtt200.svg'
set multiplot layout 2,2 title 'against skew (b starts later by skew), RTT 200 ms'
set key center right font ',9'
set yrange [-5:105]
set ylabel 'success %'
set xlabel 'skew (ms)'
set xrange [*:*]
set title 'success, whole sweep'
plot 'windows.dat' index 6 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 7 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 8 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set title 'success around 0'
set xrange [-400:400]
unset key
plot 'windows.dat' index 6 using 1:2 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 7 using 1:2 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 8 using 1:2 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
set xrange [*:*]
set yrange [0:*]
set title 'time to connect (median of the successes)'
set ylabel 'ms'
plot 'windows.dat' index 6 using 1:4 with points title 'so linux-default ↔ linux-default', 'windows.dat' index 7 using 1:4 with points title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 8 using 1:4 with points title 'so rst-on-syn ↔ rst-on-syn'
set title 'SYN retransmissions (median, both sides)'
set ylabel 'retransmissions'
plot 'windows.dat' index 6 using 1:3 with linespoints title 'so linux-default ↔ linux-default', 'windows.dat' index 7 using 1:3 with linespoints title 'so port-restricted-cone ↔ port-restricted-cone', 'windows.dat' index 8 using 1:3 with linespoints title 'so rst-on-syn ↔ rst-on-syn'
unset multiplot
set autoscale
unset xlabel
unset ylabel
unset title
set terminal svg size 1100,450 dynamic font 'sans,11' background '#ffffff'
set output 'distributions.svg'
set multiplot layout 1,2
set title 'SYN retransmissions per attempt (both sides)'
set style data histograms
set style histogram clustered
set style fill solid 0.8
set xlabel 'retransmissions (8: 8 or more)'
set ylabel 'attempts'
set yrange [0:*]
set key top right
plot 'distributions.dat' index 0 using 2:xtic(1) title 'dcutr', 'distributions.dat' index 0 using 3:xtic(1) title 'retry', 'distributions.dat' index 0 using 4:xtic(1) title 'so', 'distributions.dat' index 0 using 5:xtic(1) title 'so-listen'
set autoscale y
set style data lines
set title 'time to connect (successes)'
set logscale x
set xlabel 'ms'
set ylabel 'attempts connected by then (%)'
set key bottom right
plot 'distributions.dat' index 1 using 1:2 with steps title 'dcutr', 'distributions.dat' index 2 using 1:2 with steps title 'retry', 'distributions.dat' index 3 using 1:2 with steps title 'so', 'distributions.dat' index 4 using 1:2 with steps title 'so-listen'
unset multiplot
unset logscale x
