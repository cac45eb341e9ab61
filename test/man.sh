#!/bin/sh
# The manual pages: every exported function and every public type has a
# page (its own or a one-line ".so man3/page.3" alias to a page whose NAME
# lists it), every page renders without a single groff warning, every
# urnet page a SEE ALSO names exists, and every page is in Makefile.am's
# lists (so that it is installed and distributed).
#
# Exported functions come from two places, which must agree with the pages:
# the URNET_API declarations of the three public headers, and the urnet_*
# symbols that the built liburnet.so really exports (nm -D).
S=${srcdir:-.}
B=${top_builddir:-.}
M=$S/man
name=${0##*/}
status=0

fail() {
	echo "$name: FAIL: $*" >&2
	status=1
}

# The public headers, wherever the tree keeps them.
headers=
for h in urnet.h urnet_compat.h urnet_engine.h; do
	found=
	for d in include api compat engine; do
		if [ -f "$S/$d/$h" ]; then
			found=$S/$d/$h
			break
		fi
	done
	[ -n "$found" ] || { echo "$name: FAIL: $h not found under $S" >&2; exit 1; }
	headers="$headers $found"
done
# The optional TLS header: its pages are there whether it is built or not.
[ -f "$S/include/urnet_tls.h" ] && headers="$headers $S/include/urnet_tls.h"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/urnet-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Declarations span lines: join each header into one line first.
for h in $headers; do
	tr '\n' ' ' <"$h" | grep -o 'URNET_API[^;(]*(' | grep -o 'urnet_[a-z0-9_]*( *$' | tr -d '( '
done | sort -u >"$tmp/functions"
[ -s "$tmp/functions" ] || fail "no URNET_API functions found in$headers"

# Public types: typedef'd structs, callback typedefs, public structs and enums.
cat $headers | sed -n \
	-e 's/^typedef struct urnet_[a-z0-9_]* \(urnet_[a-z0-9_]*\);.*/\1/p' \
	-e 's/^typedef [^(]*(\*\(urnet_[a-z0-9_]*\))(.*/\1/p' \
	-e 's/^struct \(urnet_[a-z0-9_]*\) {.*/\1/p' \
	-e 's/^enum \(urnet_[a-z0-9_]*\) {.*/\1/p' | sort -u >"$tmp/types"

# What the library exports, when it is built.
lib=$B/.libs/liburnet.so
if [ -e "$lib" ] && command -v nm >/dev/null; then
	nm -D --defined-only "$lib" | awk '{ print $NF }' | sed 's/@.*//' |
		grep '^urnet_' | sort -u >"$tmp/exported"
	comm -23 "$tmp/exported" "$tmp/functions" >"$tmp/extra"
	while read -r f; do
		fail "$lib exports $f, which no public header declares with URNET_API"
	done <"$tmp/extra"
	cat "$tmp/exported" >>"$tmp/functions"
	sort -u -o "$tmp/functions" "$tmp/functions"
else
	echo "$name: $lib not built: checking the headers' declarations only"
fi

# The page a man/NAME.N file stands for: itself, or the target of its alias.
resolve() {
	first=$(sed -n 1p "$1")
	case $first in
	.so\ *)
		[ "$(wc -l <"$1")" -eq 1 ] || { echo "bad-alias"; return; }
		target=$M/${first#.so man?/}
		[ -f "$target" ] || { echo "missing:${first#.so }"; return; }
		echo "$target"
		;;
	*) echo "$1" ;;
	esac
}

# The words of a page's NAME line, before the " \- ".
names_of() {
	sed -n '/^\.SH NAME/{n;p;q;}' "$1" | sed 's/ \\-.*//' | tr -d ',' | tr ' ' '\n'
}

# Every function and type has man/NAME.3, and its page names it.
cat "$tmp/functions" "$tmp/types" | while read -r f; do
	page=$M/$f.3
	if [ ! -f "$page" ]; then
		echo "$name: FAIL: $f has no man page: man/$f.3" >&2
		echo x >>"$tmp/failed"
		continue
	fi
	real=$(resolve "$page")
	case $real in
	bad-alias|missing:*)
		echo "$name: FAIL: man/$f.3: alias to nowhere ($real)" >&2
		echo x >>"$tmp/failed"
		continue
		;;
	esac
	if ! names_of "$real" | grep -qx "$f"; then
		echo "$name: FAIL: man/$f.3 leads to ${real##*/}, whose NAME does not list $f" >&2
		echo x >>"$tmp/failed"
	fi
done
[ -e "$tmp/failed" ] && status=1

# Every page renders cleanly, and every urnet page it refers to exists.
if ! command -v groff >/dev/null; then
	echo "$name: groff not found (install groff-base): rendering not checked"
	[ $status -eq 0 ] && exit 77
	exit $status
fi
pages=0
for p in "$M"/*.[0-9]; do
	[ -f "$p" ] || continue
	base=${p##*/}
	real=$(resolve "$p")
	case $real in
	bad-alias) fail "man/$base: a .so alias must be the only line"; continue ;;
	missing:*) fail "man/$base: alias to a page that does not exist (${real#missing:})"; continue ;;
	esac
	grep -qwF "man/$base" "$S/Makefile.am" || fail "man/$base is not listed in Makefile.am"
	[ "$real" = "$p" ] || continue
	pages=$((pages + 1))
	if ! LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$p" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
		fail "man/$base does not render cleanly:
$(cat "$tmp/err")"
	fi
	grep -o 'urnet[a-z0-9_\\-]* ([0-9])' "$p" | sed 's/\\-/-/g; s/ (\(.\))/.\1/' | sort -u |
	while read -r ref; do
		[ -f "$M/$ref" ] || echo "$name: FAIL: man/$base refers to $ref, which does not exist" >&2
	done >"$tmp/refs" 2>&1
	if [ -s "$tmp/refs" ]; then
		cat "$tmp/refs" >&2
		status=1
	fi
done

nf=$(wc -l <"$tmp/functions")
nt=$(wc -l <"$tmp/types")
if [ $status -eq 0 ]; then
	echo "$name: $nf functions and $nt types documented; $pages pages render without warnings"
fi
exit $status
