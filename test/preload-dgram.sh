# Blocking datagram sockets under the interposer, against bare Linux:
# plain-dgram's modes run bare and under urnet-run on both engine backends
# must see the same; close from another thread wakes a blocked recvfrom
# with EBADF (where bare Linux leaves it blocked); and a plain UDP and
# unixgram echo server and client exchange checksummed datagrams under
# urnet-run, both served by the engine.
. "${srcdir:-.}/test/preload-lib.sh"

modes="flags timeo signals mmsg shutdown"
case $runtime in
*tsan*)
	# ThreadSanitizer runs a handler only at the thread's next libc
	# call, so a call restarted after one (SA_RESTART) never sees it.
	echo "(ThreadSanitizer build: the signals case not run)"
	modes="flags timeo mmsg shutdown" ;;
esac
for m in $modes; do
	same_as_bare "$B/test/plain-dgram" "$m"
done

timeout 60 $URUN "$B/test/plain-dgram" close-wake >"$tmp/close.out" 2>"$tmp/close.err" ||
	fail "close-wake: $(cat "$tmp/close.out" "$tmp/close.err")"
grep -q '^blocked recvfrom: -1 EBADF$' "$tmp/close.out" ||
	fail "close-wake: the blocked recvfrom was not woken with EBADF: $(cat "$tmp/close.out")"
echo "close-wake: $(tr '\n' ' ' <"$tmp/close.out")"

for net in udp unixgram; do
	rm -f "$tmp/addr"
	$URUN "$B/test/plain-dgram-echo" server $net "$tmp/addr" \
		>"$tmp/server.out" 2>"$tmp/server.err" &
	spid=$!
	timeout 60 $URUN "$B/test/plain-dgram-echo" client $net "$tmp/addr" 300 \
		>"$tmp/client.out" 2>"$tmp/client.err" ||
		{ kill "$spid"; fail "$net echo client: $(cat "$tmp/client.out" "$tmp/client.err")"; }
	wait "$spid" || fail "$net echo server exited $?: $(cat "$tmp/server.err")"
	# The same exchange bare gives the same checksum.
	rm -f "$tmp/addr"
	"$B/test/plain-dgram-echo" server $net "$tmp/addr" >/dev/null 2>&1 &
	bpid=$!
	timeout 60 "$B/test/plain-dgram-echo" client $net "$tmp/addr" 300 >"$tmp/bare.out" ||
		{ kill "$bpid"; fail "$net echo client, bare"; }
	wait "$bpid" || fail "$net echo server, bare"
	cmp -s "$tmp/client.out" "$tmp/bare.out" ||
		fail "$net echo: $(cat "$tmp/client.out") under urnet-run, $(cat "$tmp/bare.out") bare"
	engine_worked "$tmp/server.err" "$net echo server"
	echo "$net echo: $(cat "$tmp/client.out")"
done
echo "preload-dgram: ok"
