#!/bin/sh
# The programs in examples/ do what their header comments say, on loopback:
#   echo-server + client: echoes come back, and the client's last read
#     ends with ETIMEDOUT at its read deadline;
#   graceful-shutdown: SIGTERM with a client connected and SIGINT with
#     none both end it with status 0, and the client sees the close;
#   plain-server (libc only) under urnet-run: echoes, and its urnet-stats
#     line shows the engine did the waiting;
#   event-loop: serves two clients on the engine's generic API and exits 0
#     (skipped on the syscall backend, which it refuses by design).
# Every wait is bounded; every server is started here and ended by its pid.
. "${srcdir:-.}/test/preload-lib.sh"
E=$B/examples
pids=
trap 'for p in $pids; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

# wait_for FILE PATTERN: until a line of FILE matches (at most 20 s).
wait_for() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 400 ] || fail "no '$2' in $1 after 20 s: $(cat "$1")"
		sleep 0.05
	done
}

# wait_exit PID WHAT: its exit status, once it has exited (at most 20 s).
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 400 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	kill -0 "$1" 2>/dev/null && fail "$2 still running after 20 s"
	wait "$1"
}

# The address a server printed: "listening on ADDRESS".
addr_of() {
	wait_for "$1" '^listening on '
	sed -n 's/^listening on //p' "$1" | head -n 1
}

# client ADDRESS ARGS...: runs examples/client, its output in $tmp/client.out
client() {
	timeout 30 "$E/client" "$@" >"$tmp/client.out" 2>"$tmp/client.err" ||
		fail "client $*: exit $?: $(cat "$tmp/client.out" "$tmp/client.err")"
}

expect() {
	printf '%s\n' "$@" >"$tmp/expected"
	cmp -s "$tmp/expected" "$tmp/client.out" ||
		fail "client output differs:
--- expected
$(cat "$tmp/expected")
--- got
$(cat "$tmp/client.out")"
}

# ---- echo-server and client
"$E/echo-server" >"$tmp/echo.out" 2>"$tmp/echo.err" &
echo_pid=$!
pids="$pids $echo_pid"
a=$(addr_of "$tmp/echo.out")
client "$a" hello world
expect "connected to $a" "echo: hello" "echo: world" "no more data within 200 ms (ETIMEDOUT)"
client -w 50 "$a"
expect "connected to $a" "no more data within 50 ms (ETIMEDOUT)"
kill -TERM "$echo_pid"
wait "$echo_pid" 2>/dev/null
echo "echo-server + client: echoes, and ETIMEDOUT at the read deadline"

# ---- graceful-shutdown: SIGTERM with a connection open
"$E/graceful-shutdown" >"$tmp/gs.out" 2>"$tmp/gs.err" &
gs_pid=$!
pids="$pids $gs_pid"
a=$(addr_of "$tmp/gs.out")
timeout 30 "$E/client" -w 20000 "$a" hello >"$tmp/client.out" 2>"$tmp/client.err" &
cl_pid=$!
pids="$pids $cl_pid"
wait_for "$tmp/client.out" '^echo: hello$'
kill -TERM "$gs_pid"
wait_exit "$gs_pid" graceful-shutdown || fail "graceful-shutdown exited $? on SIGTERM: $(cat "$tmp/gs.err")"
grep -qx 'shutting down: closing 1 connections' "$tmp/gs.out" &&
	grep -qx 'bye' "$tmp/gs.out" || fail "graceful-shutdown said: $(cat "$tmp/gs.out")"
wait_exit "$cl_pid" client || fail "client exited $?: $(cat "$tmp/client.err")"
expect "connected to $a" "echo: hello" "server closed the connection"

# ---- graceful-shutdown: SIGINT, nobody connected
"$E/graceful-shutdown" >"$tmp/gs.out" 2>"$tmp/gs.err" &
gs_pid=$!
pids="$pids $gs_pid"
addr_of "$tmp/gs.out" >/dev/null
kill -INT "$gs_pid"
wait_exit "$gs_pid" graceful-shutdown || fail "graceful-shutdown exited $? on SIGINT: $(cat "$tmp/gs.err")"
grep -qx 'shutting down: closing 0 connections' "$tmp/gs.out" ||
	fail "graceful-shutdown said: $(cat "$tmp/gs.out")"
echo "graceful-shutdown: SIGTERM with a client, SIGINT without: exit 0, client saw the close"

# ---- plain-server under urnet-run
$URUN "$E/plain-server" 0 2 >"$tmp/plain.out" 2>"$tmp/plain.err" &
pl_pid=$!
pids="$pids $pl_pid"
a=$(addr_of "$tmp/plain.out")
client "$a" one two
expect "connected to $a" "echo: one" "echo: two" "no more data within 200 ms (ETIMEDOUT)"
client "$a" three
expect "connected to $a" "echo: three" "no more data within 200 ms (ETIMEDOUT)"
wait_exit "$pl_pid" plain-server || fail "plain-server exited $?: $(cat "$tmp/plain.err")"
engine_worked "$tmp/plain.err" plain-server >/dev/null
echo "plain-server under urnet-run: echoes; $(grep '^urnet-stats:' "$tmp/plain.err" | tail -n 1)"

# ---- event-loop on the engine's generic API
"$E/event-loop" 2 >"$tmp/loop.out" 2>"$tmp/loop.err" &
ev_pid=$!
pids="$pids $ev_pid"
i=0
while ! grep -q '^listening on ' "$tmp/loop.out" && kill -0 "$ev_pid" 2>/dev/null && [ $i -lt 400 ]; do
	i=$((i + 1))
	sleep 0.05
done
if grep -q 'needs the io_uring backend' "$tmp/loop.err"; then
	echo "event-loop: skipped, $(cat "$tmp/loop.err")"
else
	a=$(addr_of "$tmp/loop.out")
	client "$a" ping
	expect "connected to $a" "echo: ping" "no more data within 200 ms (ETIMEDOUT)"
	client "$a" pong
	expect "connected to $a" "echo: pong" "no more data within 200 ms (ETIMEDOUT)"
	wait_exit "$ev_pid" event-loop || fail "event-loop exited $?: $(cat "$tmp/loop.err")"
	grep -qx 'served 2 connections' "$tmp/loop.out" || fail "event-loop said: $(cat "$tmp/loop.out")"
	echo "event-loop: served 2 clients on urnet_engine_submit, exit 0"
fi
exit 0
