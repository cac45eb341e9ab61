# The api_close suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/api_close
