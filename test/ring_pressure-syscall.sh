# The ring_pressure suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/ring_pressure
