# The exported interface: liburnet.so exports exactly the URNET_API
# functions of the public headers, and the version script lists each of
# them by name.
B=${top_builddir:-.}
S=${srcdir:-.}
lib=$B/.libs/liburnet.so
fail() {
	echo "abi: FAIL: $*" >&2
	exit 1
}
[ -e "$lib" ] || fail "$lib not built"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-abi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The optional TLS part (include/urnet_tls.h) counts only when it was built.
headers=$(ls "$S"/include/*.h)
nm -D --defined-only "$lib" | grep -q ' urnet_tls_client' ||
	headers=$(echo "$headers" | grep -v '/urnet_tls\.h$')
grep -hoE 'URNET_API [^(]*[ *]urnet_[a-z0-9_]+\(' $headers |
	grep -oE 'urnet_[a-z0-9_]+\($' | tr -d '(' | sort -u >"$tmp/declared"
nm -D --defined-only "$lib" | awk '{ sub(/@.*/, "", $3); print $3 }' |
	grep -v '^URNET_' | sort -u >"$tmp/exported"
sed -n 's/^[[:space:]]*\(urnet_[a-z0-9_]*\);.*/\1/p' "$S/liburnet.sym" | sort -u |
	{ if echo "$headers" | grep -q urnet_tls; then cat; else grep -v '^urnet_tls_'; fi; } \
	>"$tmp/listed"

[ -s "$tmp/declared" ] || fail "no URNET_API declarations found"
diff -u "$tmp/declared" "$tmp/exported" >"$tmp/d1" ||
	fail "exported symbols differ from the headers' declarations: $(cat "$tmp/d1")"
diff -u "$tmp/declared" "$tmp/listed" >"$tmp/d2" ||
	fail "liburnet.sym differs from the headers' declarations: $(cat "$tmp/d2")"
echo "abi: ok ($(wc -l <"$tmp/declared") functions, exported and listed by name)"
