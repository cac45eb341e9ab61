#!/bin/sh
# SPDX-License-Identifier: MIT
# TLS over conns: certificates made here with openssl req (a CA, a server
# certificate it signed for localhost, urnet.test and 127.0.0.1, and an
# untrusted self-signed one), then
#  - test/api_tls, test/api_tls_many: urnet's client and server against each other;
#  - urnet's client (test/tls-client) against openssl s_server -www;
#  - openssl s_client and curl against the HTTPS example (bench/https-urnet):
#    routes, a 5 MB file byte-exact, SNI and verification on curl's side.
set -u
B=${top_builddir:-.}
status=0
fail() {
	echo "FAIL: $*"
	status=1
}
for tool in openssl curl; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-tls.XXXXXX") || exit 1
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- certificates
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
(
	cd "$tmp" &&
	openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=urnet-test-ca &&
	openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost &&
	printf 'subjectAltName=DNS:localhost,DNS:urnet.test,IP:127.0.0.1\n' >ext &&
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out server.pem -days 2 -extfile ext &&
	openssl req -x509 $ec -keyout other.key -out other.pem -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost
) >"$tmp/req.log" 2>&1 || { cat "$tmp/req.log"; echo "FAIL: openssl req"; exit 1; }

# ---------------------------------------------------------------- urnet both sides
# A ThreadSanitizer build: OpenSSL's internals are not ours to check.
for suite in api_tls api_tls_many; do
	TSAN_OPTIONS="suppressions=${srcdir:-.}/test/tls-tsan.supp ${TSAN_OPTIONS:-}" TLS_DIR=$tmp \
		"$B/test/$suite" || fail "test/$suite"
done

# ---------------------------------------------------------------- client vs s_server
# First line of a server's output matching a pattern, read through a FIFO.
start_server() {	# NAME PATTERN CMD...
	name=$1 pat=$2
	shift 2
	mkfifo "$tmp/$name.fifo"
	"$@" >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
	pids="$pids $!"
	exec 3<"$tmp/$name.fifo"
	line=
	while read -r line <&3; do
		case $line in $pat) break ;; esac
	done
	cat <&3 >/dev/null &
	exec 3<&-
	port=${line##*:}
	port=${port#port=}
	case $port in
	'' | *[!0-9]*) echo "FAIL: $name did not start (said '$line')"; cat "$tmp/$name.err"; exit 1 ;;
	esac
}

start_server s_server 'ACCEPT*' openssl s_server -www -accept 127.0.0.1:0 \
	-cert "$tmp/server.pem" -key "$tmp/server.key"
timeout 30 "$B/test/tls-client" "127.0.0.1:$port" "$tmp/ca.pem" localhost \
	"GET / HTTP/1.0
Host: localhost

" >"$tmp/s_server.out" 2>"$tmp/client.err" || fail "tls-client vs s_server: $(cat "$tmp/client.err")"
if grep -q '^HTTP/1.0 200 ok' "$tmp/s_server.out" && grep -q 'TLSv1.3' "$tmp/s_server.out"; then
	echo "ok: urnet client against openssl s_server -www (TLS 1.3)"
else
	fail "tls-client vs s_server: unexpected answer: $(head -5 "$tmp/s_server.out")"
fi
timeout 30 "$B/test/tls-client" "127.0.0.1:$port" "$tmp/ca.pem" wrong.example "GET / HTTP/1.0

" >/dev/null 2>"$tmp/client.err" && fail "tls-client accepted a wrong host name"
grep -q 'hostname mismatch' "$tmp/client.err" &&
	echo "ok: wrong host name against s_server: $(cat "$tmp/client.err")" ||
	fail "wrong host name: $(cat "$tmp/client.err")"

# ---------------------------------------------------------------- s_client, curl vs urnet
mkdir "$tmp/www"
head -c 5000000 /dev/urandom >"$tmp/www/big.bin"
start_server https 'port=*' "$B/bench/https-urnet" 0 "$tmp/www" "$tmp/server.pem" "$tmp/server.key"
hport=$port

printf 'GET /ping HTTP/1.0\r\n\r\n' |
	timeout 30 openssl s_client -connect "127.0.0.1:$hport" -servername urnet.test \
		-CAfile "$tmp/ca.pem" -verify_return_error -verify_hostname urnet.test -ign_eof \
		>"$tmp/s_client.out" 2>&1 || fail "s_client failed: $(tail -5 "$tmp/s_client.out")"
if grep -q '^pong' "$tmp/s_client.out" && grep -q 'Verify return code: 0 (ok)' "$tmp/s_client.out"; then
	echo "ok: openssl s_client against the HTTPS example"
else
	fail "s_client: $(tail -5 "$tmp/s_client.out")"
fi

curl_ok() {	# NAME WANT_FILE CURL_ARGS...
	name=$1 want=$2
	shift 2
	if ! curl -sS --max-time 30 --cacert "$tmp/ca.pem" -o "$tmp/body" "$@" 2>"$tmp/curl.err"; then
		fail "$name: curl: $(cat "$tmp/curl.err")"
	elif ! cmp -s "$tmp/body" "$want"; then
		fail "$name: body differs"
	else
		echo "ok: $name"
	fi
}
printf 'pong\n' >"$tmp/pong"
curl_ok "curl https GET /ping" "$tmp/pong" "https://localhost:$hport/ping"
curl_ok "curl https GET /ping by IP address" "$tmp/pong" "https://127.0.0.1:$hport/ping"
curl_ok "curl https 5 MB file" "$tmp/www/big.bin" "https://localhost:$hport/static/big.bin"
head -c 60000 /dev/urandom >"$tmp/blob"
curl_ok "curl https POST /echo" "$tmp/blob" --data-binary "@$tmp/blob" \
	-H 'Content-Type: application/octet-stream' "https://localhost:$hport/echo"
curl -sS --max-time 30 --cacert "$tmp/ca.pem" -o /dev/null --resolve "wrong.example:$hport:127.0.0.1" \
	"https://wrong.example:$hport/ping" 2>"$tmp/curl.err" &&
	fail "curl accepted a certificate for another name"
grep -q "SSL: no alternative certificate subject name matches" "$tmp/curl.err" &&
	echo "ok: curl refuses the wrong name" || fail "wrong name with curl: $(cat "$tmp/curl.err")"
exit $status
