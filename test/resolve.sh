#!/bin/sh
# SPDX-License-Identifier: MIT
# Host names: starts this test's own DNS servers on 127.0.0.1 (dnsmasq for
# the names that resolve, test/dns-responder.py for SERVFAIL, REFUSED and
# silence), writes resolv.conf-style files naming only them and a hosts
# file, and runs test/api_resolve with URNET_RESOLV_CONF and CARES_HOSTS
# pointing there.  No query ever goes to the machine's own name servers.
set -u

suite=${top_builddir:-.}/test/api_resolve
responder=${srcdir:-.}/test/dns-responder.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-resolve.XXXXXX") || exit 1
dpid= rpid=
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
if [ ! -x "$dnsmasq" ] || ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: dnsmasq or python3 missing (sh .ci/install-deps installs them)"
	exit 77
fi
if ! "$suite" --built-with-cares; then
	echo "SKIP: urnet was configured --without-cares"
	exit 77
fi

# The misbehaving server: it prints its port, and lives while its stdin is open.
mkfifo "$tmp/r.in" "$tmp/r.out"
python3 "$responder" <"$tmp/r.in" >"$tmp/r.out" &
rpid=$!
exec 8>"$tmp/r.in"
read -r line <"$tmp/r.out" || { echo "responder did not start"; exit 1; }
rport=${line#port=}

# dnsmasq on a free port: chosen by the kernel, taken by dnsmasq at once,
# tried again (a few times at most) if something else got there first.
for try in 1 2 3 4 5; do
	dport=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$dnsmasq" --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
		--user=root --pid-file= --bind-interfaces --listen-address=127.0.0.1 \
		--port="$dport" --local=/test/ \
		--host-record=v4.test,127.0.0.1 --host-record=v6.test,::1 \
		--host-record=both.test,127.0.0.1,::1 \
		--host-record=two.test,127.0.0.1 --host-record=two.test,127.0.0.2 \
		>"$tmp/dnsmasq.log" 2>&1 &
	dpid=$!
	if python3 "$responder" probe "$dport"; then
		break
	fi
	kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; dpid=
done
[ -n "$dpid" ] || { echo "dnsmasq did not start:"; cat "$tmp/dnsmasq.log"; exit 1; }

printf 'search test\noptions ndots:1 timeout:1 attempts:2\nnameserver 127.0.0.1:%s\n' "$dport" >"$tmp/good.conf"
printf 'options timeout:1 attempts:1\nnameserver 127.0.0.1:%s\n' "$rport" >"$tmp/bad.conf"
# The silent server's own retries would outlast the dial timeouts of the tests.
printf 'options timeout:30 attempts:5\nnameserver 127.0.0.1:%s\n' "$rport" >"$tmp/slow.conf"
: >"$tmp/empty.conf"
printf 'this is not\na resolv.conf \001\377\n' >"$tmp/garbage.conf"
printf '127.0.0.1 hosts4.test\n::1 hosts6.test\n127.0.0.1 hostsboth.test\n::1 hostsboth.test\n' >"$tmp/hosts"

URNET_RESOLV_CONF=$tmp/good.conf
URNET_TEST_RESOLV_DIR=$tmp
CARES_HOSTS=$tmp/hosts
export URNET_RESOLV_CONF URNET_TEST_RESOLV_DIR CARES_HOSTS
"$suite"
