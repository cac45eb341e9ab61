# SPDX-License-Identifier: MIT
# Sourced by test scripts: a temporary directory $tmp removed at exit with
# the process $pid (if set) stopped, and fail(), which records a failure
# in $status and lets the script go on.
#   script_start NAME
script_start() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-$1.XXXXXX") || exit 1
	pid=
	trap script_cleanup EXIT
	status=0
}

script_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}

fail() {
	echo "FAIL: $*"
	status=1
}
