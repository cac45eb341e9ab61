# Closing an engine must return every caller parked on it without help.
# Fails today (a few of 500 parked accepts stay asleep in ASan builds on
# io_uring; all of them on the syscall backend): not in TESTS until the
# engine wakes them.  See the engine-shutdown case in test/process_events.c.
URNET_TEST_STRICT_SHUTDOWN=1
export URNET_TEST_STRICT_SHUTDOWN
exec "${top_builddir:-.}/test/process_events"
