#!/bin/sh
# Real programs that wait in poll or select, under urnet-run, all on
# loopback or unix sockets: curl and wget download 20 MB from a local HTTP
# server (curl rate-limited, so that it waits even where writing the file
# is slower than the server), socat relays a file, nc sends one as client and receives it as
# server, and tinyproxy carries curl's downloads.  Every copy must be
# byte-exact, and each program's stats line must show waits on the engine.
. "${srcdir:-.}/test/preload-lib.sh"

# A sanitizer build's module needs its runtime preloaded into the program,
# and Debian's curl hangs at start with libasan preloaded even without urnet
# (setlocale's lock): these programs are the plain build's to test.
if [ -n "$runtime" ]; then
	echo "SKIP: real programs do not start with the sanitizer runtime preloaded"
	exit 77
fi
for p in curl wget socat nc tinyproxy python3; do
	if ! command -v $p >/dev/null 2>&1; then
		echo "SKIP: $p is not installed (sh .ci/install-deps)"
		exit 77
	fi
done

pids=
stop_all() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=
}
trap 'stop_all; rm -rf "$tmp"' EXIT

mkdir "$tmp/www"
head -c 20971520 /dev/urandom >"$tmp/www/big"

# engine_served FILE WHAT: the stats line in FILE shows waits on the engine:
# on io_uring the ring's polls reported readiness for them (a wait that
# finds its fd ready once its polls are armed does not park), on the
# syscall backend callers parked in its ppoll.
engine_served() {
	grep '^urnet-stats:' "$1" || fail "$2: no urnet-stats line (was the module loaded?)"
	if grep '^urnet-stats:' "$1" | tail -n 1 | grep -q 'backend=io_uring'; then
		n=$(stat "$1" readiness)
	else
		n=$(stat "$1" parked)
	fi
	[ "$n" -gt 0 ] || fail "$2: no waits on the engine: $(grep '^urnet-stats:' "$1")"
}

# same FILE WHAT: FILE is a byte-exact copy of the 20 MB file.
same() {
	cmp -s "$tmp/www/big" "$1" || fail "$2: the copy differs ($(wc -c <"$1") bytes)"
}

# The process that timeout(1) runs: pid_under PID (waits up to 10 s).
pid_under() {
	i=0
	while [ $i -lt 200 ]; do
		c=$(pgrep -P "$1" | head -n 1)
		[ -n "$c" ] && { echo "$c"; return 0; }
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# The HTTP server, bare: only the clients are under test.
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" 0 >/dev/null 2>&1 &
http=$!
pids="$http"
port=$(listen_port $http) || fail "the HTTP server did not start"
url=http://127.0.0.1:$port/big

timeout 120 $URUN curl -sS --max-time 100 --limit-rate 50M -o "$tmp/curl.out" "$url" 2>"$tmp/curl.err" ||
	fail "curl: $(cat "$tmp/curl.err")"
same "$tmp/curl.out" curl
engine_served "$tmp/curl.err" curl

timeout 120 $URUN wget -q --timeout=100 --tries=1 -O "$tmp/wget.out" "$url" 2>"$tmp/wget.err" ||
	fail "wget: $(cat "$tmp/wget.err")"
same "$tmp/wget.out" wget
engine_served "$tmp/wget.err" wget

# socat: a unix listener writing what it gets to a file, a client sending the file.
timeout 120 $URUN socat -u UNIX-LISTEN:"$tmp/socat.sock" CREATE:"$tmp/socat.out" \
	2>"$tmp/socat-server.err" &
srv=$!
i=0
while [ ! -S "$tmp/socat.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
timeout 120 $URUN socat -u OPEN:"$tmp/www/big" UNIX-CONNECT:"$tmp/socat.sock" \
	2>"$tmp/socat-client.err" || fail "socat client: $(cat "$tmp/socat-client.err")"
wait $srv || fail "socat server: $(cat "$tmp/socat-server.err")"
same "$tmp/socat.out" socat
engine_served "$tmp/socat-server.err" "socat server"

# nc: a server on an ephemeral port receives, a client sends; both under urnet-run.
timeout 120 $URUN nc -l 127.0.0.1 0 </dev/null >"$tmp/nc.out" 2>"$tmp/nc-server.err" &
srv=$!
nport=$(listen_port "$(pid_under $srv)") || fail "nc -l did not start: $(cat "$tmp/nc-server.err")"
timeout 120 $URUN nc -N 127.0.0.1 "$nport" <"$tmp/www/big" 2>"$tmp/nc-client.err" ||
	fail "nc client: $(cat "$tmp/nc-client.err")"
wait $srv || fail "nc server: $(cat "$tmp/nc-server.err")"
same "$tmp/nc.out" nc
engine_served "$tmp/nc-server.err" "nc server"
grep -q '^urnet-stats:' "$tmp/nc-client.err" || fail "nc client: no stats line"

# tinyproxy, which wants a port number: one the kernel just handed out
# (tried again if another program took it in between).
for try in 1 2 3; do
	pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$tmp/tinyproxy.conf" <<CONF
Port $pport
Listen 127.0.0.1
Timeout 100
MaxClients 8
Allow 127.0.0.1
LogLevel Critical
CONF
	timeout 300 $URUN tinyproxy -d -c "$tmp/tinyproxy.conf" >"$tmp/tinyproxy.log" 2>&1 &
	proxy=$!
	pids="$pids $proxy"
	got=$(listen_port "$(pid_under $proxy)") && [ "$got" = "$pport" ] && break
	[ $try -lt 3 ] || fail "tinyproxy did not start: $(cat "$tmp/tinyproxy.log")"
done
for n in 1 2; do
	timeout 120 $URUN curl -sS --max-time 100 --noproxy '' -x "http://127.0.0.1:$pport" \
		-o "$tmp/proxy$n.out" "$url" 2>"$tmp/proxy-curl.err" ||
		fail "curl through tinyproxy: $(cat "$tmp/proxy-curl.err")"
	same "$tmp/proxy$n.out" "curl through tinyproxy"
done
kill -TERM $proxy
wait $proxy 2>/dev/null
pids=$http
engine_served "$tmp/tinyproxy.log" tinyproxy
echo "preload-programs: ok (curl, wget, socat, nc, tinyproxy byte-exact, engine waits in each)"
