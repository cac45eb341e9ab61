# urnet-top on a program under urnet-run with known blocked calls (see
# test/plain-waits.c and test/top-check.py): it lists exactly those, with
# their fds, addresses and calls (polls included); waits grow older; a returned call is gone
# from the next look; another user is refused.
. "${srcdir:-.}/test/preload-lib.sh"

# A ThreadSanitizer build's module leaves poll to the kernel (see
# doc/interposer.md): no poll is parked there to list.
pollers=10
case $runtime in
*tsan*) pollers=0 ;;
esac
python3 "${srcdir:-.}/test/top-check.py" "$URUN" "$B/test/plain-waits" "$B/compat/urnet-top" \
	"$pollers" || fail "top-check"
