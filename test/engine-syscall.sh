# The engine suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/engine
