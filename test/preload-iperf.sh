# A real program nobody here wrote: Debian's iperf (2.x) server and client
# under urnet-run complete a short TCP test on loopback, and both stats
# lines show that the engine served their blocking calls.
. "${srcdir:-.}/test/preload-lib.sh"

if ! command -v iperf >/dev/null 2>&1; then
	echo "preload-iperf: SKIP: iperf is not installed (Debian: apt-get install iperf)"
	exit 77
fi
iperf -v 2>&1 | grep -q 'iperf version 2\.' ||
	{ echo "preload-iperf: SKIP: iperf is not iperf 2.x"; exit 77; }

$URUN iperf -s -B 127.0.0.1 -p 0 >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
port=$(listen_port "$spid") || fail "iperf server did not listen: $(cat "$tmp/server.err")"
timeout 60 $URUN iperf -c 127.0.0.1 -p "$port" -t 2 >"$tmp/client.out" 2>"$tmp/client.err" ||
	fail "iperf client: $(cat "$tmp/client.out" "$tmp/client.err")"
# iperf exits cleanly on SIGINT, which runs the exit-time stats line.
kill -INT "$spid"
wait "$spid" || fail "iperf server exited $?"
cat "$tmp/client.out" "$tmp/server.out"
grep -q 'Bytes' "$tmp/client.out" || fail "iperf client reported no transfer"
grep -q 'Bytes' "$tmp/server.out" || fail "iperf server reported no transfer"
engine_worked "$tmp/server.err" "iperf server"
engine_worked "$tmp/client.err" "iperf client"
echo "preload-iperf: ok"
