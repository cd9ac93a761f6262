# Sourced by the benches that give a lab CPUs of its own ([lab] cpus, wire_cpus):
# the CPUs this script may use that a scenario can name (0-63; under taskset or a
# cpuset they need not start at 0). Sets first_cpu and last_cpu (empty where there
# is none) and others, every one but the last as a list (empty where there is one).
read -r first_cpu last_cpu others < <(taskset -pc $$ | sed 's/.*: //' | awk -F, '{
	for (i = 1; i <= NF; i++) { n = split($i, r, "-")
		for (c = r[1]; c <= r[n] && c < 64; c++) {
			if (first == "") first = c
			if (last != "") l = l (l == "" ? "" : ",") last
			last = c } }
	print first, last, l }')
