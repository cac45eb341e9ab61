# End to end: plain libc programs, built without urnet, under urnet-run.
# A thread-per-connection echo server and 128 concurrent client connections
# with checksums; SIGALRM interrupting a blocked recv; close and
# close_range waking a blocked recv; fork and exec; numbers reused behind
# urnet's back; a static program.  Each program's urnet-stats line must
# show that the engine served its calls (test/run-backends.sh runs this
# once per backend).
. "${srcdir:-.}/test/preload-lib.sh"

mkfifo "$tmp/port"
timeout 120 $URUN "$B/test/plain-echo-server" 128 >"$tmp/port" 2>"$tmp/server.err" &
spid=$!
read -r port <"$tmp/port" || fail "echo server did not start: $(cat "$tmp/server.err")"
rm -f "$tmp/port"
timeout 120 $URUN "$B/test/plain-echo-client" "$port" 128 200 2>"$tmp/client.err" ||
	fail "echo client: $(cat "$tmp/client.err")"
wait "$spid" || fail "echo server exited $?: $(cat "$tmp/server.err")"
engine_worked "$tmp/server.err" "echo server"
# The server reads with the fortified __read_chk: its closed-loop reads,
# not just its 128 accepts, must have waited through urnet (on the engine,
# or in the kernel's blocking call once a wait was short).
p=$(( $(stat "$tmp/server.err" parked) + $(stat "$tmp/server.err" kernel_waits) ))
[ "$p" -gt 1000 ] || fail "echo server: only $p waits, its reads did not reach urnet"
engine_worked "$tmp/client.err" "echo client"
grep -q "backend=$URNET_BACKEND" "$tmp/server.err" || fail "server did not run on $URNET_BACKEND"

modes="eintr restart close close-range close-range-race fork modes reuse"
case $runtime in
*tsan*)
	# ThreadSanitizer runs a handler only at the thread's next libc
	# call and cannot start threads in a forked child.
	echo "(ThreadSanitizer build: restart and fork cases not run)"
	modes="eintr close close-range close-range-race modes reuse" ;;
esac
for m in $modes; do
	timeout 60 $URUN "$B/test/plain-misc" "$m" 2>"$tmp/misc.err" ||
		fail "plain-misc $m: $(cat "$tmp/misc.err")"
	engine_worked "$tmp/misc.err" "plain-misc $m"
	# fork: the parent and the exec'd child each exit with an engine
	# (the forked child's engine ends with its exec, printing nothing);
	# a child that ran no engine of its own prints no line either.
	if [ "$m" = fork ]; then
		n=$(grep -c '^urnet-stats:' "$tmp/misc.err")
		[ "$n" -eq 2 ] ||
			fail "fork: $n stats lines, expected the parent's and the exec'd child's: $(cat "$tmp/misc.err")"
		! grep -q '^urnet-stats:.* engines=0' "$tmp/misc.err" ||
			fail "fork: a process without an engine printed stats: $(cat "$tmp/misc.err")"
	fi
done

# A statically linked program never loads the module and runs as without it.
timeout 60 $URUN "$B/test/plain-misc-static" eintr 2>"$tmp/static.err" ||
	fail "static plain-misc: $(cat "$tmp/static.err")"
! grep '^urnet-stats:' "$tmp/static.err" || fail "the static program ran an engine"
echo "preload-echo: ok"
