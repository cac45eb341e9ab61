# The compat-macros suite on the plain-syscall backend.
. "${srcdir:-.}/test/with-backend.sh" syscall test/compat-macros
