# SPDX-License-Identifier: MIT
#
# bench/lib.sh: what bench/run, bench/http-run and bench/profile share.
# Sourced after the caller set `name` (its own name, for messages); sets
# src, build, bin, tmp (removed at exit) and command_line.

LC_ALL=C
export LC_ALL

src=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$(pwd)}
build=$(cd "$build" && pwd)
bin=$build/bench
preload_module=$build/.libs/liburnet-preload.so
urnet_run=$build/compat/urnet-run

# The command as typed, quoted where needed, for the results file.
command_line=bench/$name
for a in "$@"; do
	case $a in
	'' | *[!A-Za-z0-9_./=+-]*) command_line="$command_line '$a'" ;;
	*) command_line="$command_line $a" ;;
	esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-$name.XXXXXX") || exit 1
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME [ARGS...]: start bench/NAME on an ephemeral port (NAME
# echo-threads+preload: echo-threads under compat/urnet-run); sets spid and
# sport, or says why not and returns 1.
start_server() {
	_srv=$1
	shift
	rm -f "$tmp/port"
	mkfifo "$tmp/port" || return 1
	case $_srv in
	echo-threads+preload)
		URNET_PRELOAD=$preload_module "$urnet_run" "$bin/echo-threads" 0 "$@" \
			>"$tmp/port" 2>>"$tmp/server.err" & ;;
	# echo-threads polling before every read (bench/poll-run), bare and preloaded.
	echo-poll)
		ECHO_POLL_MS=30000 "$bin/echo-threads" 0 "$@" >"$tmp/port" 2>>"$tmp/server.err" & ;;
	echo-poll+preload)
		ECHO_POLL_MS=30000 URNET_PRELOAD=$preload_module "$urnet_run" "$bin/echo-threads" 0 "$@" \
			>"$tmp/port" 2>>"$tmp/server.err" & ;;
	*)
		"$bin/$_srv" 0 "$@" >"$tmp/port" 2>>"$tmp/server.err" & ;;
	esac
	spid=$!
	exec 3<"$tmp/port"
	# A server that never announces its port must not hang the run.  (No
	# watchdog subshell to kill afterwards: bash may run this script's EXIT
	# trap in a subshell that is signalled before it reset its traps.)
	line=$(timeout 20 head -n 1 <&3)
	# Keep draining whatever else the server prints, so it never gets EPIPE.
	cat <&3 >>"$tmp/server.out" &
	exec 3<&-
	# The port is the last number on the first line ("port=N", "...:N").
	sport=$(printf '%s\n' "$line" | awk '{ if (match($0, /[0-9]+[^0-9]*$/)) { s = substr($0, RSTART, RLENGTH); sub(/[^0-9]+$/, "", s); print s } }')
	if [ -z "$sport" ]; then
		echo "  $_srv did not announce a port; its stderr:" >&2
		tail -n 5 "$tmp/server.err" >&2
		stop_server
		return 1
	fi
	return 0
}

stop_server() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	spid=
}

# fields FILE KEY...: the values of echoload's result line, comma-separated.
fields() {
	f=$1
	shift
	awk -v keys="$*" '/^result / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = split(keys, k, " ")
		for (i = 1; i <= n; i++) printf "%s%s", v[k[i]], i < n ? "," : "\n"
	}' "$f"
}
