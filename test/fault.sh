# The fault-injection suite, with test/faultinject.so preloaded.
. "${srcdir:-.}/test/fault-lib.sh"
exec env LD_PRELOAD="$FAULT_PRELOAD" "${top_builddir:-.}/test/fault"
