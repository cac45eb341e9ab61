# `make stress`: the soak and race runs of test/stress.c on both engine
# backends, then a plain libc echo server and client under urnet-run.
# Bounded in time: STRESS_SECONDS (default 20) per run, STRESS_CONNS
# (default 1000) connections driven by STRESS_THREADS (default 8) threads.
. "${srcdir:-.}/test/preload-lib.sh"

secs=${STRESS_SECONDS:-20}
conns=${STRESS_CONNS:-1000}
threads=${STRESS_THREADS:-8}
limit=$((secs * 3 + 120))
# Each connection is a server thread and two fds on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

for backend in io_uring syscall; do
	URNET_BACKEND=$backend timeout "$limit" "$B/test/stress" echo "$conns" "$threads" "$secs" ||
		fail "echo on $backend"
	URNET_BACKEND=$backend timeout "$limit" "$B/test/stress" races $(( (secs + 1) / 2 )) ||
		fail "races on $backend"
done

# Under the interposer: the same number of connections, plain libc code.
msgs=${STRESS_PRELOAD_MSGS:-200}
for backend in io_uring syscall; do
	URNET_BACKEND=$backend
	export URNET_BACKEND
	mkfifo "$tmp/port"
	timeout "$limit" $URUN "$B/test/plain-echo-server" "$conns" >"$tmp/port" 2>"$tmp/server.err" &
	spid=$!
	read -r port <"$tmp/port" || fail "echo server did not start: $(cat "$tmp/server.err")"
	rm -f "$tmp/port"
	timeout "$limit" $URUN "$B/test/plain-echo-client" "$port" "$conns" "$msgs" 2>"$tmp/client.err" ||
		fail "plain echo client on $backend: $(tail -n 5 "$tmp/client.err")"
	wait "$spid" || fail "plain echo server on $backend exited $?: $(tail -n 5 "$tmp/server.err")"
	engine_worked "$tmp/server.err" "echo server"
	echo "stress preload: backend=$backend conns=$conns messages_per_conn=$msgs ok"
done
unset URNET_BACKEND
echo "stress: ok"
