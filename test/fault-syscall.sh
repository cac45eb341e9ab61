# The fault-injection suite on the plain-syscall backend.
. "${srcdir:-.}/test/fault-lib.sh"
URNET_BACKEND=syscall exec env LD_PRELOAD="$FAULT_PRELOAD" "${top_builddir:-.}/test/fault"
