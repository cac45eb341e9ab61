#!/bin/sh
# poll, ppoll, select and pselect under the interposer against bare Linux:
# plain-poll's modes print the same bare and under urnet-run on both
# engine backends, and the waits of "wake" were the engine's.
. "${srcdir:-.}/test/preload-lib.sh"

# ThreadSanitizer's own poll and select interceptors run in front of the
# module's as "blocking calls", inside which it models no atomic operation:
# every handoff to the engine is reported as a race, and reporting from
# there deadlocks its symbolizer.  test/compat_poll runs the same code
# instrumented without that interceptor in front.
case $runtime in
*libtsan*)
	echo "SKIP: ThreadSanitizer cannot follow the module's poll behind its own interceptor"
	exit 77 ;;
esac

for m in states wake eintr mask timeout; do
	same_as_bare "$B/test/plain-poll" "$m"
	if [ "$m" = wake ]; then
		engine_worked "$tmp/urnet.err" wake
	fi
done
echo "preload-poll: ok"
