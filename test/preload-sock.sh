# Socket corner cases where bare Linux is the specification: each mode of
# test/plain-sock.c runs bare and under urnet-run (on the backend that
# test/run-backends.sh chose) and must print the same (see plain-sock.c for what each mode does).
. "${srcdir:-.}/test/preload-lib.sh"

for m in connect-again-eintr connect-nonblock-then-block connect-again-timeout connect-refused-again \
	 fd-limit fd-limit-hard fd-numbers negative-rcvtimeo negative-sndtimeo dup3-invalid \
	 modes-while-blocked; do
	same_as_bare "$B/test/plain-sock" "$m"
done
