#!/bin/sh
# SPDX-License-Identifier: MIT
# The HTTP example (bench/http-urnet) against curl: every route, errors,
# keep-alive.  Starts the server on an ephemeral port and learns the port
# from its "port=N" line through a FIFO.
set -u

if ! command -v curl >/dev/null 2>&1; then
	echo "SKIP: curl is not installed (apt-get install curl)"
	exit 77
fi

server=${top_builddir:-.}/bench/http-urnet
. "${srcdir:-.}/test/script-lib.sh"
script_start http

mkdir "$tmp/www"
printf 'hello from the static route\n' >"$tmp/www/hello.txt"
printf 'outside the document root\n' >"$tmp/secret.txt"
mkfifo "$tmp/port"
"$server" 0 "$tmp/www" >"$tmp/port" 2>"$tmp/server.err" &
pid=$!
exec 3<"$tmp/port"
line=
read -r line <&3
cat <&3 >/dev/null &
exec 3<&-
port=${line#port=}
case $port in
'' | *[!0-9]*)
	echo "FAIL: http-urnet did not start (said '$line')"
	cat "$tmp/server.err"
	exit 1 ;;
esac
base=http://127.0.0.1:$port
echo "http-urnet on port $port, engine backend ${URNET_BACKEND:-auto}"

# expect NAME CODE BODY_FILE CURL_ARGS...: status code and exact body.
expect() {
	name=$1 code=$2 want=$3
	shift 3
	got=$(curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code}' "$@") ||
		{ fail "$name: curl failed"; return; }
	[ "$got" = "$code" ] || { fail "$name: status $got, want $code"; return; }
	if [ -n "$want" ] && ! cmp -s "$tmp/body" "$want"; then
		fail "$name: body differs"
		return
	fi
	echo "ok: $name"
}

printf 'pong\n' >"$tmp/pong"
expect "GET /ping" 200 "$tmp/pong" "$base/ping"

# 60 KB of every byte value but NUL: several TCP segments, binary-safe.
awk 'BEGIN { for (i = 0; i < 60000; i++) printf "%c", i % 251 + 1 }' >"$tmp/blob"
expect "POST /echo" 200 "$tmp/blob" --data-binary "@$tmp/blob" \
	-H 'Content-Type: application/octet-stream' "$base/echo"
: >"$tmp/empty"
expect "POST /echo, empty body" 200 "$tmp/empty" --data-binary '' "$base/echo"

expect "GET /static/hello.txt" 200 "$tmp/www/hello.txt" "$base/static/hello.txt"
type=$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' "$base/static/hello.txt")
[ "$type" = text/plain ] || fail "static content type '$type'"

# Files go out with sendfile: empty, and bigger than the socket buffers.
: >"$tmp/www/empty.bin"
expect "GET /static/ of an empty file" 200 "$tmp/www/empty.bin" "$base/static/empty.bin"
head -c 20000000 /dev/urandom >"$tmp/www/big.bin"
expect "GET /static/ of a 20 MB file" 200 "$tmp/www/big.bin" "$base/static/big.bin"
expect "GET /static/ of a missing file" 404 "" "$base/static/nope.txt"
expect "path traversal refused" 404 "" --path-as-is "$base/static/../secret.txt"
expect "unknown route" 404 "" "$base/nope"
expect "GET /echo is not allowed" 405 "" "$base/echo"
expect "HTTP/1.0 request" 200 "$tmp/pong" --http1.0 "$base/ping"

# Keep-alive: three requests, one connection.
curl -sS -v --max-time 10 -o /dev/null -o /dev/null -o /dev/null \
	"$base/ping" "$base/static/hello.txt" "$base/ping" 2>"$tmp/verbose" ||
	fail "keep-alive: curl failed"
reused=$(grep -c 'Re-using existing connection' "$tmp/verbose")
if [ "$reused" -eq 2 ]; then echo "ok: keep-alive"; else fail "keep-alive: connection reused $reused times, want 2"; fi

kill -0 "$pid" 2>/dev/null || fail "http-urnet died"
exit $status
