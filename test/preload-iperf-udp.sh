# A real program nobody here wrote, over UDP: Debian's iperf (2.x) server
# and client under urnet-run complete a short UDP test on loopback each
# way (-R: the server sends), and the stats lines of the side that
# receives show that the engine served its blocking calls.
. "${srcdir:-.}/test/preload-lib.sh"

if ! command -v iperf >/dev/null 2>&1; then
	echo "preload-iperf-udp: SKIP: iperf is not installed (Debian: apt-get install iperf)"
	exit 77
fi
iperf -v 2>&1 | grep -q 'iperf version 2\.' ||
	{ echo "preload-iperf-udp: SKIP: iperf is not iperf 2.x"; exit 77; }

# A server per direction: iperf 2.1's UDP server sends nothing for a -R
# test that follows another test, bare as well.
for dir in forward reverse; do
	rev=
	[ $dir = reverse ] && rev=-R
	$URUN iperf -s -u -B 127.0.0.1 -p 0 >"$tmp/server-$dir.out" 2>"$tmp/server-$dir.err" &
	spid=$!
	port=$(listen_port "$spid" udp) || fail "iperf server did not bind: $(cat "$tmp/server-$dir.err")"
	timeout 60 $URUN iperf -u -c 127.0.0.1 -p "$port" -t 1 -b 10M $rev \
		>"$tmp/client-$dir.out" 2>"$tmp/client-$dir.err" ||
		{ kill "$spid"; fail "iperf -u client ($dir): $(cat "$tmp/client-$dir.out" "$tmp/client-$dir.err")"; }
	# iperf exits cleanly on SIGINT, which runs the exit-time stats line.
	kill -INT "$spid"
	wait "$spid" || fail "iperf server ($dir) exited $?"
	cat "$tmp/client-$dir.out" "$tmp/server-$dir.out"
	grep -q 'Datagrams' "$tmp/client-$dir.out" || fail "iperf -u client ($dir) reported no transfer"
	# A transfer of nothing reports "0/0".
	grep -q ' 0/0 ' "$tmp/client-$dir.out" && fail "iperf -u ($dir) moved no datagram"
done
grep -q 'Datagrams' "$tmp/server-forward.out" || fail "iperf -u server reported no transfer"
# The receiving side waits on the engine: the server forward, the client with -R.
engine_worked "$tmp/server-forward.err" "iperf -u server"
engine_worked "$tmp/client-reverse.err" "iperf -u client (-R)"
echo "preload-iperf-udp: ok"
