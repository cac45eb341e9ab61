# SPDX-License-Identifier: MIT
#
# bench/programs.awk: the table of bench/programs-run from its runs CSV
# (round,case,variant,value,p99_us,cpu_per_unit_us,status): medians per
# case and variant, and each variant's ratio to bare with its target.

function median(k, col,    n, i, j, t, v) {
	n = cnt[k]
	for (i = 1; i <= n; i++) v[i] = val[k, col, i]
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# The lowest and highest ratio of variant to bare within one round.
function each_round(c, v, col,    r, lo, hi, x) {
	lo = ""
	for (r = 1; r <= rounds; r++) {
		if (!((c, v, col, r) in by_round) || !((c, "bare", col, r) in by_round) ||
		    by_round[c, "bare", col, r] + 0 == 0)
			continue
		x = by_round[c, v, col, r] / by_round[c, "bare", col, r]
		if (lo == "" || x < lo) lo = x
		if (hi == "" || x > hi) hi = x
	}
	return lo == "" ? "-" : sprintf("%.2f-%.2f", lo, hi)
}

# One row: case c, variant v, column col (4 value, 5 p99), unit, target op goal.
function row(what, c, v, col, unit, op, goal,    kb, kv, b, u, ratio, ok, fmt) {
	kb = c SUBSEP "bare"; kv = c SUBSEP v
	if (!cnt[kb] || !cnt[kv]) {
		printf "| %s | %s | | | | | %s %.2fx | not measured |\n", what, v, op, goal
		missed++
		return
	}
	b = median(kb, col); u = median(kv, col)
	ratio = b ? u / b : 0
	# Judged at the precision shown.
	ratio = sprintf("%.2f", ratio) + 0
	ok = op == ">=" ? ratio >= goal : ratio <= goal
	met += ok; missed += !ok
	fmt = unit == "Gbit/s" || unit == "us" ? "%.2f" : "%.0f"
	printf "| %s | %s | " fmt " | " fmt " | %.2fx | %s | %s %.2fx | %s | %.2f / %.2f |\n",
		what, v, b, u, ratio, each_round(c, v, col), op, goal, ok ? "met" : "**not met**",
		median(kb, 6), median(kv, 6)
}

BEGIN { rounds = 0 }
NR > 1 && $7 == "ok" {
	k = $2 SUBSEP $3
	n = ++cnt[k]
	for (i = 4; i <= 6; i++) {
		val[k, i, n] = $i
		by_round[$2, $3, i, $1] = $i
	}
	if ($1 > rounds) rounds = $1
}
NR > 1 && $7 != "ok" { failed++ }
END {
	print "| case | ends under urnet-run | bare | urnet-run | ratio | each round | target | status | CPU, bare / urnet-run |"
	print "| --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: |"
	row("iperf, 4 streams, Gbit/s (CPU per GiB)", "iperf-P4", "both", 4, "Gbit/s", ">=", 0.97)
	row("iperf, 1 stream, Gbit/s (CPU per GiB)", "iperf-P1", "both", 4, "Gbit/s", ">=", 0.97)
	n = split("14 1024 65000", sizes, " ")
	for (i = 1; i <= n; i++) {
		c = "pp-" sizes[i]
		row("sockperf ping-pong " sizes[i] " B, average us (CPU per round trip)", c, "server", 4, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "server", 5, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, average us", c, "client", 4, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "client", 5, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, average us", c, "both", 4, "us", "<=", 1.10)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "both", 5, "us", "<=", 1.10)
	}
	row("sockperf throughput 14 B, messages/s (CPU per message)", "tp-14", "both", 4, "msg/s", ">=", 0.95)
	printf "\n%d of the %d targets above are met.", met, met + missed
	if (failed)
		printf "  %d runs failed (see the CSV).", failed
	printf "\n"
}
