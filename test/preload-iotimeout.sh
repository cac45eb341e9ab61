#!/bin/sh
# Time limits for programs that have none: under urnet-run --io-timeout a
# plain program blocked on a silent peer (recv, accept) gets EAGAIN once
# the limit passed, a socket's own SO_RCVTIMEO is kept, --connect-timeout
# ends a connect to a full backlog with EINPROGRESS, the stats line counts
# the waits ended so, and malformed durations keep urnet-run from starting.
. "${srcdir:-.}/test/preload-lib.sh"

P=$B/test/plain-silent
LIMIT=300
# How late an ended wait may return: generous, the machine is shared.
SLACK=2000

# run OPTION DURATION MODE: plain-silent under urnet-run with the limit.
run() {
	if [ -z "$runtime" ]; then
		timeout 60 "$RUN" "$1" "$2" "$P" "$3" "$LIMIT"
	elif [ "$1" = --io-timeout ]; then
		URNET_IO_TIMEOUT=$2 timeout 60 $URUN "$P" "$3" "$LIMIT"
	else
		URNET_CONNECT_TIMEOUT=$2 timeout 60 $URUN "$P" "$3" "$LIMIT"
	fi >"$tmp/out" 2>"$tmp/err" || fail "$3: exit $?: $(cat "$tmp/out" "$tmp/err")"
}

# expect LINE: the output has it; and every wait took less than the limit + SLACK.
expect() {
	grep -qxF "$1" "$tmp/out" || fail "expected '$1', got: $(cat "$tmp/out" "$tmp/err")"
	awk -v slack=$SLACK '/ took / { if ($3 > $6 + slack) bad = bad $0 "; " }
		END { if (bad) { print bad; exit 1 } }' FS='[ ()]+' "$tmp/err" ||
		fail "a wait ended too late: $(cat "$tmp/err")"
}

limited() {
	n=$(stat "$tmp/err" io_limited)
	[ "$n" -eq "$1" ] || fail "io_limited=$n in the stats line, want $1"
}

run --io-timeout ${LIMIT}ms silent
expect "recv: -1 EAGAIN, lasted the limit: 1"
expect "accept: -1 EAGAIN, lasted the limit: 1"
limited 2
echo "silent peer: $(tr '\n' ' ' <"$tmp/err")"

run --io-timeout ${LIMIT}ms own
expect "recv: -1 EAGAIN, lasted the limit: 1"
limited 0
echo "own SO_RCVTIMEO kept: $(tr '\n' ' ' <"$tmp/err")"

run --connect-timeout ${LIMIT}ms connect
expect "connect: -1 EINPROGRESS, lasted the limit: 1"
limited 1
echo "connect to a full backlog: $(tr '\n' ' ' <"$tmp/err")"

for bad in 5x 1h ms -5s 1.5s; do
	if "$RUN" --io-timeout "$bad" true 2>"$tmp/err"; then
		fail "urnet-run started with --io-timeout $bad"
	fi
	grep -q "not a duration" "$tmp/err" || fail "--io-timeout $bad: $(cat "$tmp/err")"
done
if URNET_CONNECT_TIMEOUT=soon "$RUN" true 2>"$tmp/err"; then
	fail "urnet-run started with URNET_CONNECT_TIMEOUT=soon"
fi
echo "preload-iotimeout: ok"
