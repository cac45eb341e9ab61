# Closing a syscall-backend engine must return the callers parked on it, as
# the io_uring backend does.  Fails today (see the engine-shutdown case in
# test/process_events.c); not in TESTS until the engine wakes them.
URNET_TEST_STRICT_SHUTDOWN=1
export URNET_TEST_STRICT_SHUTDOWN
. "${srcdir:-.}/test/with-backend.sh" syscall test/process_events
