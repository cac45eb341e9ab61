# sendfile(2) on blocking sockets under the interposer: each mode of
# test/plain-sendfile.c runs bare and under urnet-run (on the backend that
# test/run-backends.sh chose) and must print the same; a stalled sendfile
# must have waited on the engine, not in the kernel.
. "${srcdir:-.}/test/preload-lib.sh"

for m in serve edges errors sndtimeo nonblock signal; do
	same_as_bare "$B/test/plain-sendfile" "$m"
done
# The last run (signal) stalled: that wait was the engine's (a signal, not
# readiness, ended it, so the ring need not have reported anything).
grep '^urnet-stats:' "$tmp/urnet.err"
[ "$(stat "$tmp/urnet.err" parked)" -gt 0 ] || fail "a stalled sendfile did not wait on the engine"
