# Sourced by the fault scripts: FAULT_PRELOAD is the LD_PRELOAD list that
# puts test/faultinject.so in front of the C library.  A sanitizer build's
# runtime has to come first in that list, so it goes in front of the module.
module=${top_builddir:-.}/test/.libs/faultinject.so
if [ ! -e "$module" ]; then
	echo "fault: $module not built" >&2
	exit 99
fi
runtime=$(ldd "${top_builddir:-.}/test/fault" 2>/dev/null |
	awk '/lib(asan|tsan|ubsan)\.so/ { print $3; exit }')
FAULT_PRELOAD=${runtime:+$runtime:}$module
