# urnet-top on a program under urnet-run with known blocked calls (see
# test/plain-waits.c and test/top-check.py): it lists exactly those, with
# their fds, addresses and calls; waits grow older; a returned call is gone
# from the next look; another user is refused.
. "${srcdir:-.}/test/preload-lib.sh"

python3 "${srcdir:-.}/test/top-check.py" "$URUN" "$B/test/plain-waits" "$B/compat/urnet-top" ||
	fail "top-check"
