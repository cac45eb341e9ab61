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

# The control: bare run a second time in the same round, against the first.
# Its ratio and spread are what the machine's noise alone does to a case.
function control(what, c, col, unit,    kb, kv, b, u, fmt) {
	kb = c SUBSEP "bare"; kv = c SUBSEP "bare2"
	if (!cnt[kb] || !cnt[kv])
		return
	b = median(kb, col); u = median(kv, col)
	fmt = unit == "Gbit/s" || unit == "us" ? "%.2f" : "%.0f"
	printf "| %s | none (bare again: the noise) | " fmt " | " fmt " | %.2fx | %s | | control | %.2f / %.2f |\n",
		what, b, u, b ? u / b : 0, each_round(c, "bare2", col), median(kb, 6), median(kv, 6)
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
	control("iperf, 4 streams, Gbit/s", "iperf-P4", 4, "Gbit/s")
	row("iperf, 1 stream, Gbit/s (CPU per GiB)", "iperf-P1", "both", 4, "Gbit/s", ">=", 0.97)
	control("iperf, 1 stream, Gbit/s", "iperf-P1", 4, "Gbit/s")
	n = split("14 1024 65000", sizes, " ")
	for (i = 1; i <= n; i++) {
		c = "pp-" sizes[i]
		row("sockperf ping-pong " sizes[i] " B, average us (CPU per round trip)", c, "server", 4, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "server", 5, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, average us", c, "client", 4, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "client", 5, "us", "<=", 1.05)
		row("sockperf ping-pong " sizes[i] " B, average us", c, "both", 4, "us", "<=", 1.10)
		row("sockperf ping-pong " sizes[i] " B, p99 us", c, "both", 5, "us", "<=", 1.10)
		control("sockperf ping-pong " sizes[i] " B, average us", c, 4, "us")
		control("sockperf ping-pong " sizes[i] " B, p99 us", c, 5, "us")
	}
	row("sockperf throughput 14 B, messages/s (CPU per message)", "tp-14", "both", 4, "msg/s", ">=", 0.95)
	control("sockperf throughput 14 B, messages/s", "tp-14", 4, "msg/s")
	printf "\n%d of the %d targets above are met.", met, met + missed
	if (failed)
		printf "  %d runs failed (see the CSV).", failed
	printf "\n"
}
