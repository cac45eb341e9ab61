# Shared by the interposer's end-to-end tests (sourced).
B=${top_builddir:-.}
MODULE=$B/.libs/liburnet-preload.so
RUN=$B/compat/urnet-run
name=${0##*/}

fail() {
	echo "$name: FAIL: $*" >&2
	exit 1
}

[ -e "$MODULE" ] || fail "$MODULE not built"
[ -x "$RUN" ] || fail "$RUN not built"
URNET_PRELOAD=$MODULE
URNET_STATS=1
# The backend the interposed programs run on: test/run-backends.sh runs
# each script once per backend.
URNET_BACKEND=${URNET_BACKEND:-io_uring}
export URNET_PRELOAD URNET_STATS URNET_BACKEND

# A sanitizer build's module needs the sanitizer runtime loaded before it
# (the test programs themselves are not instrumented, and their own leaks
# are not ours to report).
runtime=$(ldd "$MODULE" 2>/dev/null | awk '/lib(asan|tsan)\.so/ { print $3; exit }')

# How to run a program under the interposer: $URUN PROGRAM ARGS... is
# urnet-run; a sanitizer build's module needs its runtime preloaded first,
# which only the final program can take (the shell running urnet-run is not
# instrumented), so those builds set LD_PRELOAD directly.
URUN=$RUN
if [ -n "$runtime" ]; then
	URUN="env LD_PRELOAD=$runtime:$MODULE ASAN_OPTIONS=detect_leaks=0"
	URUN="$URUN TSAN_OPTIONS=die_after_fork=0:suppressions=${srcdir:-.}/test/preload-tsan.supp"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-preload.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A counter from the last urnet-stats line in file $1: stat FILE NAME
stat() {
	line=$(grep '^urnet-stats:' "$1" | tail -n 1)
	[ -n "$line" ] || { echo -1; return; }
	v=${line##* $2=}
	echo "${v%% *}"
}

# The program whose stderr is in $1 ran on the engine: its stats line says
# callers parked on it and, with io_uring, that the ring's readiness events
# woke them (the syscall backend's callers wait in ppoll themselves).
engine_worked() {
	grep '^urnet-stats:' "$1" || fail "$2: no urnet-stats line (was the module loaded?)"
	p=$(stat "$1" parked)
	r=$(stat "$1" readiness)
	[ "$p" -gt 0 ] || fail "$2: no caller waited on the engine (parked=$p)"
	if grep '^urnet-stats:' "$1" | tail -n 1 | grep -q 'backend=io_uring'; then
		[ "$r" -gt 0 ] || fail "$2: no readiness events from the ring (readiness=$r)"
	fi
}

# TCP port the process $1 listens on, or with "udp" as $2 the UDP port
# it is bound to, from /proc (waits up to 10 s).
listen_port() {
	proto=${2:-tcp} st=0A
	[ "$proto" = udp ] && st=07
	i=0
	while [ $i -lt 200 ]; do
		for ino in $(ls -l "/proc/$1/fd" 2>/dev/null |
			     sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p'); do
			hex=$(awk -v ino="$ino" -v st="$st" \
				'$4 == st && $10 == ino { split($2, a, ":"); print a[2] }' \
				/proc/net/"$proto" /proc/net/"$proto"6)
			if [ -n "$hex" ]; then
				printf '%d\n' "0x$hex"
				return 0
			fi
		done
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# Bare Linux is the specification: run "PROG MODE" bare, then under the
# interposer, and fail unless both runs exit 0 and print the same standard
# output (what the program observed).  Each run is bounded by a timeout,
# so a hang fails too.
#   same_as_bare PROG MODE
same_as_bare() {
	prog=$1 m=$2
	timeout 60 "$prog" "$m" >"$tmp/bare.out" 2>"$tmp/bare.err" ||
		fail "$m: the bare run failed ($?): $(cat "$tmp/bare.err")"
	timeout 60 $URUN "$prog" "$m" >"$tmp/urnet.out" 2>"$tmp/urnet.err" ||
		fail "$m: failed ($?) under urnet-run: $(cat "$tmp/urnet.out" "$tmp/urnet.err")"
	grep -q '^urnet-stats:' "$tmp/urnet.err" ||
		fail "$m: no urnet-stats line (was the module loaded?)"
	cmp -s "$tmp/bare.out" "$tmp/urnet.out" ||
		fail "$m: differs from bare Linux on the $URNET_BACKEND backend:
--- bare
$(cat "$tmp/bare.out")
--- urnet-run
$(cat "$tmp/urnet.out")"
	echo "$m: same as bare: $(tr '\n' ' ' <"$tmp/bare.out")"
}
