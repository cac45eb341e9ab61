#!/bin/sh
# poll, ppoll, select and pselect under the interposer against bare Linux:
# plain-poll's modes print the same bare and under urnet-run on both
# engine backends, and the waits of "wake" were the engine's.
. "${srcdir:-.}/test/preload-lib.sh"

# A ThreadSanitizer build's module leaves these waits to the kernel (its
# runtime's own poll and select interceptors, in front of the module,
# model no atomic operation: compat/pollwait.h), so there are no engine
# waits here to compare; test/compat_poll runs the engine's path.
case $runtime in
*libtsan*)
	echo "SKIP: a ThreadSanitizer build's module leaves poll and select to the kernel"
	exit 77 ;;
esac

for m in states wake eintr mask timeout; do
	same_as_bare "$B/test/plain-poll" "$m"
	if [ "$m" = wake ]; then
		engine_worked "$tmp/urnet.err" wake
	fi
done
echo "preload-poll: ok"
