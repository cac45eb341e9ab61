# urnet never interposes itself: inside liburnet-preload.so every call that
# urnet makes for its own work (the engine's eventfd writes, compat's
# fcntl around a connect, the syscall backend's operations...) reaches the
# C library through its table (engine/libc.h), never the module's own
# exported read, write, close, fcntl...  The dynamic linker's own report of
# its bindings must show no symbol of the module bound to the module, and
# neither library may import any name the module interposes.
. "${srcdir:-.}/test/preload-lib.sh"

pre=$(readlink -f "$MODULE")
names=$(sed -n 's/^[[:space:]]*global:[[:space:]]*//; /local:/q; s/;/ /gp' \
	"${srcdir:-.}/compat/preload.sym" | tr -s ' \t' '\n' | grep -v '^$')
[ -n "$names" ] || fail "no names in compat/preload.sym"

LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD=${runtime:+$runtime:}$pre /bin/true \
	>"$tmp/bindings" 2>&1 || fail "/bin/true failed under the module: $(tail -n 5 "$tmp/bindings")"
grep -q "binding file $pre" "$tmp/bindings" || fail "no bindings reported for $pre"
if grep "binding file $pre .* to $pre" "$tmp/bindings" >"$tmp/self"; then
	fail "the module binds its own symbols: $(sed 's/.*symbol//' "$tmp/self" | tr '\n' ' ')"
fi

for lib in "$B/.libs/liburnet.so" "$MODULE"; do
	nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $2); print $2 }' >"$tmp/undef"
	for n in $names; do
		! grep -qx "$n" "$tmp/undef" || fail "${lib##*/} calls $n by name"
	done
done
# The module loads into programs nobody here wrote: it brings nothing in
# but what the interposer needs (no resolver, no TLS library).
readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
while read -r lib; do
	case $lib in
	liburing.so.* | libc.so.* | ld-linux*.so.* | libpthread.so.* | libdl.so.* | \
	libasan.so.* | libubsan.so.* | libtsan.so.* | libclang_rt.*) ;;
	*) fail "the module needs $lib" ;;
	esac
done <"$tmp/needed"
grep -q '^libc\.so' "$tmp/needed" || fail "no NEEDED list read from ${MODULE##*/}"

echo "preload-bindings: ok ($(echo "$names" | wc -l) interposed names, no self-binding)"
