#!/bin/sh
# poll, ppoll, select and pselect under the interposer against bare Linux:
# plain-poll's modes print the same bare and under urnet-run on both
# engine backends, and the waits of "wake" were the engine's.
. "${srcdir:-.}/test/preload-lib.sh"

for m in states wake eintr mask timeout; do
	same_as_bare "$B/test/plain-poll" "$m"
	if [ "$m" = wake ]; then
		engine_worked "$tmp/urnet.err" wake
	fi
done
echo "preload-poll: ok"
