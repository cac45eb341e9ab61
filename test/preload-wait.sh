# How a blocked call waits, against bare Linux: plain-wait's modes run bare
# and under the interposer on both engine backends must see the same (see
# test/plain-wait.c for what each mode does).
. "${srcdir:-.}/test/preload-lib.sh"

for m in close-kernel-peek zero-length partial-signal waitall-rights idle-wait \
	short-read-rights short-read-oob errno-kept; do
	same_as_bare "$B/test/plain-wait" "$m"
done
echo "preload-wait: ok"
