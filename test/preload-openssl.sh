# Unmodified OpenSSL programs under urnet-run: openssl s_server -www
# serves curl (bare and under urnet-run) and openssl s_client (under
# urnet-run) complete HTTPS transfers, and s_server's stats line shows
# that its accepts and reads waited on the engine.
. "${srcdir:-.}/test/preload-lib.sh"

for tool in openssl curl; do
	command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool is not installed"; exit 77; }
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$tmp/req.log" 2>&1 ||
	fail "openssl req: $(cat "$tmp/req.log")"

# Three connections, then s_server exits and prints its stats.
$URUN openssl s_server -www -naccept 3 -accept 127.0.0.1:0 \
	-cert "$tmp/cert.pem" -key "$tmp/key.pem" >"$tmp/server.out" 2>"$tmp/server.err" </dev/null &
pid=$!
port=$(listen_port $pid) || fail "s_server did not listen: $(cat "$tmp/server.err")"
url=https://127.0.0.1:$port/

timeout 30 curl -sS --cacert "$tmp/cert.pem" -o "$tmp/bare.html" "$url" ||
	fail "bare curl against s_server under urnet-run"
grep -q 'TLSv1.3' "$tmp/bare.html" || fail "bare curl: unexpected page: $(head -3 "$tmp/bare.html")"
echo "ok: bare curl against s_server under urnet-run"

if [ -n "$runtime" ]; then
	# curl hangs with a sanitizer runtime preloaded, urnet or not.
	echo "curl under urnet-run: not in a sanitizer build"
	timeout 30 curl -sS --cacert "$tmp/cert.pem" -o /dev/null "$url" || fail "bare curl, again"
else
	timeout 30 $URUN curl -sS --cacert "$tmp/cert.pem" -o "$tmp/urnet.html" "$url" \
		2>"$tmp/curl.err" || fail "curl under urnet-run: $(cat "$tmp/curl.err")"
	grep -q 'TLSv1.3' "$tmp/urnet.html" || fail "curl under urnet-run: unexpected page"
	echo "ok: curl under urnet-run: $(grep '^urnet-stats:' "$tmp/curl.err")"
fi

printf 'GET / HTTP/1.0\r\n\r\n' |
	timeout 30 $URUN openssl s_client -connect "127.0.0.1:$port" -CAfile "$tmp/cert.pem" \
		-verify_return_error -ign_eof >"$tmp/s_client.out" 2>"$tmp/s_client.err" ||
	fail "s_client under urnet-run: $(tail -5 "$tmp/s_client.err")"
grep -q '^HTTP/1.0 200 ok' "$tmp/s_client.out" ||
	fail "s_client under urnet-run: unexpected answer: $(head -5 "$tmp/s_client.out")"
echo "ok: s_client under urnet-run: $(grep '^urnet-stats:' "$tmp/s_client.err")"

i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
wait $pid || fail "s_server under urnet-run exited with $?: $(cat "$tmp/server.err")"
engine_worked "$tmp/server.err" "openssl s_server -www"
