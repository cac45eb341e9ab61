# SPDX-License-Identifier: MIT
#
# bench/report.awk: turns bench/run's raw runs into bench/results/*.md and
# the chart's data file.  Input files: the runs CSV, then the 10k-run CSV.
# Variables: see the awk call in bench/run.

function median(key, metric,    n, i, j, v, a) {
	n = cnt[key]
	if (!n || !((key, metric, 1) in val))
		return ""
	for (i = 1; i <= n; i++) {
		v = val[key, metric, i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

function med(srv, c, s, metric) {
	return median(srv SUBSEP c SUBSEP s, metric)
}

function fmt_ratio(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "" : sprintf("%.2f", a / b)
}

function fmt_num(v, p) {
	return v == "" ? "" : sprintf("%." p "f", v)
}

# The ratio a/b of one metric in each round where both servers ran, as
# "lowest-highest (rounds on the target's side/rounds)": the servers of a
# round run back to back, so this shows whether a median's side of the
# target holds round by round or rests on the machine's mood.  Without a
# target (op ""), the range alone.
function round_ratios(a, b, c, s, metric, op, goal,    r, v, lo, hi, n, good, range) {
	n = good = 0
	for (r = 1; r <= rounds; r++) {
		if (!((a, c, s, metric, r) in by_round) || !((b, c, s, metric, r) in by_round))
			continue
		if (by_round[b, c, s, metric, r] + 0 == 0)
			continue
		v = by_round[a, c, s, metric, r] / by_round[b, c, s, metric, r]
		if (!n || v < lo)
			lo = v
		if (!n || v > hi)
			hi = v
		n++
		# judged at the precision shown, as target() judges the median
		v = sprintf("%.2f", v) + 0
		good += op == ">=" ? v >= goal : v <= goal
	}
	if (!n)
		return ""
	range = sprintf("%.2f", lo)
	if (sprintf("%.2f", hi) != range)
		range = range "-" sprintf("%.2f", hi)
	return op == "" ? range : sprintf("%s (%d/%d)", range, good, n)
}

# One line of the CPU split table: servers a and b at point c, s.
function cpu_split(what, a, b, c, s) {
	printf "| %s | c=%s, %s B | %s | %s | %s | %s |\n", what, c, s,
		fmt_ratio(med(a, c, s, "cpu"), med(b, c, s, "cpu")),
		fmt_ratio(med(a, c, s, "ccpu"), med(b, c, s, "ccpu")),
		fmt_ratio(med(a, c, s, "both"), med(b, c, s, "both")),
		round_ratios(a, b, c, s, "both", "", 0)
}

# Value v of metric mt: the n-th of key's runs, in the given round.
function keep(key, mt, n, round, v) {
	val[key, mt, n] = v
	by_round[key, mt, round] = v
}

# One line of the targets table: servers a and b at point c, s.
function target(what, a, b, c, s, metric, op, goal,    point, r, ok) {
	point = "c=" c ", " s " B"
	r = fmt_ratio(med(a, c, s, metric), med(b, c, s, metric))
	if (r == "") {
		printf "| %s | %s | no data | | %s %.2f | not measured |\n", what, point, op, goal
		return
	}
	ok = op == ">=" ? r + 0 >= goal : r + 0 <= goal
	printf "| %s | %s | %s | %s | %s %.2f | %s |\n", what, point, r,
		round_ratios(a, b, c, s, metric, op, goal), op, goal, ok ? "met" : "**not met**"
	targets_met += ok
	targets_missed += !ok
}

BEGIN {
	# the runs CSV's columns, by metric
	col["rps"] = "rps"; col["p50"] = "p50_us"; col["p99"] = "p99_us"; col["p999"] = "p999_us"
	col["cpu"] = "cpu_us_per_req"; col["ccpu"] = "client_cpu_us_per_req"
}

# The runs CSV is read by its header's names: a file written before a
# column existed still reads, without that metric.
FNR == 1 {
	if (!file++)
		for (i = 1; i <= NF; i++)
			at[$i] = i
	next
}

file == 1 {
	key = $at["server"] SUBSEP $at["conns"] SUBSEP $at["size"]
	round = $at["round"]
	st = $at["status"]
	if (st != "ok" && st != "server-died") {
		failed[key]++
		next
	}
	if (st == "server-died")
		died[key]++
	n = ++cnt[key]
	for (mt in col)
		if (col[mt] in at)
			keep(key, mt, n, round, $at[col[mt]])
	# server and client together: what the whole exchange costs (NA if either is)
	if (col["cpu"] in at && col["ccpu"] in at) {
		sv = $at[col["cpu"]]
		cv = $at[col["ccpu"]]
		keep(key, "both", n, round, sv == "NA" || cv == "NA" ? "NA" : sv + cv)
	}
	errors[key] += $at["errors"]
	idle[key] += $at["idle"]
	next
}

file == 2 {
	big[$1] = $0
	next
}

END {
	nsrv = split(servers, srv, " ")
	nconns = split(conns_list, cl, " ")
	nsizes = split(sizes, sl, " ")
	nmissing = split(missing, miss, " ")

	print "# urnet echo benchmark" (quick ? " (quick look)" : "")
	print ""
	if (quick)
		print "A `--quick` run: one short round, not a result to quote.  `make bench` gives the full set.\n"
	printf "- Machine: %s cores (%s), Linux %s, liburing %s\n", cores, cpu, kernel, liburing
	printf "- Source: commit %s, %s\n", rev, when
	printf "- Command: `%s` (%d round%s; each run %s s warm-up + %s s measured, fresh server process, client `bench/echoload` with 2 threads on the same machine)\n", cmd, rounds, rounds == 1 ? "" : "s", warmup, seconds
	for (i = 1; i <= nmissing; i++) {
		split(miss[i], m, ":")
		gsub(/_/, " ", m[2])
		printf "- **Missing** `%s`: %s\n", m[1], m[2]
		absent[m[1]] = 1
	}
	print ""
	print "## Echo, closed loop: medians over the rounds"
	print ""
	print "Each connection sends a message, waits for the whole echo, repeats.  req/s and latency are measured by the client; server CPU is utime+stime of all server threads during the measured window, divided by the requests; client CPU the same for `echoload`'s threads.  Errors are summed over all rounds (failed connects, resets, wrong bytes; `idle` = connections that completed no request in the window).  Ratios are ratios of the medians, requests/s."
	print ""
	print "| conns | size | server | req/s | p50 us | p99 us | p99.9 us | server CPU us/req | client CPU us/req | errors | vs epoll | vs threads |"
	print "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
	printf "point" > plot
	for (k = 1; k <= nsrv; k++)
		if (index(" " present " ", " " srv[k] " "))
			printf " %s", srv[k] > plot
	printf "\n" > plot
	for (i = 1; i <= nconns; i++) {
		for (j = 1; j <= nsizes; j++) {
			c = cl[i]; s = sl[j]
			epoll = med("echo-epoll", c, s, "rps")
			threads = med("echo-threads", c, s, "rps")
			printf "\"%s conns\\n%s B\"", c, s > plot
			for (k = 1; k <= nsrv; k++) {
				name = srv[k]
				key = name SUBSEP c SUBSEP s
				if (absent[name]) {
					printf "| %s | %s | `%s` | missing | | | | | | | | |\n", c, s, name
					continue
				}
				if (!index(" " present " ", " " name " "))
					continue
				rps = med(name, c, s, "rps")
				printf " %s", (rps == "" ? 0 : rps) > plot	# all runs failed
				note = errors[key] + 0
				if (idle[key])
					note = note ", idle " idle[key]
				if (failed[key])
					note = note ", " failed[key] " run(s) failed"
				if (died[key])
					note = note ", server died " died[key] "x"
				if (!cnt[key]) {
					printf "| %s | %s | `%s` | no data | | | | | | %s | | |\n", c, s, name, note
					continue
				}
				printf "| %s | %s | `%s` | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, s, name, rps,
					fmt_num(med(name, c, s, "p50"), 1), fmt_num(med(name, c, s, "p99"), 1),
					fmt_num(med(name, c, s, "p999"), 1), fmt_num(med(name, c, s, "cpu"), 2),
					fmt_num(med(name, c, s, "ccpu"), 2),
					note, fmt_ratio(rps, epoll), fmt_ratio(rps, threads)
			}
			printf "\n" > plot
		}
	}
	close(plot)

	print ""
	print "## Targets (issue 6)"
	print ""
	print "Ratios of the medians above, from this run; the status is the median's.  *Each round*: the lowest and highest ratio of the same two servers within one round (they run back to back), and in how many rounds the ratio was on the target's side."
	print ""
	print "| comparison | point | measured | each round | target | status |"
	print "| --- | --- | ---: | --- | --- | --- |"
	u = "echo-urnet"; t = "echo-threads"
	for (i = 2; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			target("`echo-urnet` / `echo-threads`, requests/s", u, t, cl[i], sl[j], "rps", ">=", 1.00)
	for (i = 2; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			target("`echo-urnet` / `echo-threads`, server CPU per request", u, t, cl[i], sl[j], "cpu", "<=", 1.10)
	for (j = 1; j <= nsizes; j++)
		target("`echo-urnet` / `echo-threads`, p99 latency", u, t, 100, sl[j], "p99", "<=", 1.00)
	for (j = 1; j <= nsizes; j++)
		target("`echo-urnet` / `echo-threads`, p50 latency", u, t, 1, sl[j], "p50", "<=", 1.20)
	for (i = 1; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			target("`echo-threads` under `urnet-run` / bare, requests/s", "echo-threads+preload", t,
			       cl[i], sl[j], "rps", ">=", 0.95)
	for (i = 2; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			target("`echo-engine` / `echo-uring`, requests/s", "echo-engine", "echo-uring",
			       cl[i], sl[j], "rps", ">=", 0.95)
	for (i = 2; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			target("`echo-engine` / `echo-epoll`, requests/s", "echo-engine", "echo-epoll",
			       cl[i], sl[j], "rps", ">=", 1.10)
	# server,conns,rps,p50_us,p99_us,errors,idle,rss_base_kb,rss_kb,rss_per_conn_kib,status
	if (u in big && split(big[u], b, ",") && b[11] == "ok" && b[2] >= 10000) {
		ok = b[6] == 0 && b[7] == 0 && b[10] <= 64
		printf "| `echo-urnet` with %s connections, a thread each | errors, idle connections, RSS per connection | %s errors, %s idle, %.1f KiB | | 0 errors, <= 64 KiB | %s |\n",
			b[2], b[6], b[7], b[10], ok ? "met" : "**not met**"
	} else {
		split(big[u], b, ",")
		printf "| `echo-urnet` with 10000 connections, a thread each | errors, RSS per connection | %s | | 0 errors, <= 64 KiB | not measured |\n",
			quick ? "not run (--quick)" : (b[11] == "" ? "not run" : b[11] != "ok" ? b[11] : "only " b[2] " connections")
	}
	if (targets_missed) {
		print ""
		printf "%d of the %d ratio targets above are met.  Where the time goes for those that are not, and what was tried: [misses.md](misses.md), with the `bench/profile` output beside it.\n",
			targets_met, targets_met + targets_missed
	}

	print ""
	print "## CPU per request: the server's and the client's"
	print ""
	print "The CPU target counts the server's threads alone.  A thread blocked in `recv` is woken inside the client's `send`, so the wake-ups of plain threads are on the client's bill; a thread parked by urnet is woken by the engine, on the server's ([misses.md](misses.md), *Who pays for a wake-up*).  Server and client together are what an exchange costs the machine.  Ratios of the medians, as in the targets; *each round*: the lowest and highest ratio of the two together within one round.  Not a target."
	print ""
	print "| comparison | point | server | client | server + client | each round |"
	print "| --- | --- | ---: | ---: | ---: | --- |"
	for (i = 2; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			cpu_split("`echo-urnet` / `echo-threads`", u, t, cl[i], sl[j])
	for (i = 1; i <= nconns; i++)
		for (j = 1; j <= nsizes; j++)
			cpu_split("`echo-threads` under `urnet-run` / bare", "echo-threads+preload", t, cl[i], sl[j])

	print ""
	printf "## %s connections\n", big_conns
	print ""
	if (quick) {
		print "Not run with `--quick`."
	} else {
		printf "One server, %s connections of 128-byte echoes from 2 client threads, 2 s warm-up + 5 s measured.  RSS per connection = (VmRSS at the end of the window - VmRSS before the first connection) / connections.\n", big_conns
		print ""
		print "| server | req/s | p50 us | p99 us | errors | idle | RSS idle kB | RSS loaded kB | KiB per conn | status |"
		print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
		for (k = 1; k <= nsrv; k++) {
			if (!(srv[k] in big))
				continue
			split(big[srv[k]], b, ",")
			printf "| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", srv[k],
				b[3] == "NA" ? "NA" : sprintf("%.0f", b[3]),
				b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]
		}
	}

	print ""
	print "## pingpong: one connection, 1-byte round trip"
	print ""
	if (pingpong == "") {
		print quick ? "Not run with `--quick`." : "Not run: bench/pingpong not built."
	} else if (pingpong == "failed") {
		print "bench/pingpong failed (see the run's output)."
	} else {
		n = split(pingpong, f, " ")
		for (i = 2; i <= n; i++) {
			split(f[i], kv, "=")
			pp[kv[1]] = kv[2]
		}
		print "Both ends in one process, each blocking in read until the byte arrives; urnet = object API on both ends, plain = blocking libc sockets.  Every round trip waits twice, so the engine's cost per blocking operation is half the difference of the medians."
		print ""
		print "| | p50 ns | p99 ns |"
		print "| --- | ---: | ---: |"
		printf "| plain blocking sockets | %s | %s |\n", pp["plain_p50_ns"], pp["plain_p99_ns"]
		printf "| urnet object API | %s | %s |\n", pp["urnet_p50_ns"], pp["urnet_p99_ns"]
		printf "\nurnet overhead per blocking operation (median): **%s ns**\n", pp["overhead_ns_per_op"]
	}
}
