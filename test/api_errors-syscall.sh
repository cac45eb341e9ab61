# The api_errors suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/api_errors
