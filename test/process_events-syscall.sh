# The process_events suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/process_events
