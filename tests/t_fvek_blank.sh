#!/bin/sh
# A raw FVEK (dumped by cryptsetup, the independent judge) opens a blank bdkit-made volume: its boot
# sector decrypts to zeros rather than to a file-system header, and the whole view reads as zeros.
. "$(dirname "$0")/lib.sh"
img=$TMP/blank.img
printf 'blank-volume-password\n' > "$TMP/pw"
printf 'blank-volume-password' > "$TMP/pw.raw"
if ! "$BDKIT" format "$img" --size 48M --method xts-128 --password-file "$TMP/pw" >/dev/null 2>&1; then
	fail "fvek blank: bdkit format failed"; exit 0
fi
if ! cryptsetup bitlkDump --dump-volume-key --volume-key-file "$TMP/fvek" --key-file "$TMP/pw.raw" "$img" >/dev/null 2>&1; then
	skip "fvek blank: cryptsetup could not dump the FVEK"; exit 0
fi
if "$BDKIT" decrypt "$img" --fvek "$TMP/fvek" -o "$TMP/out" >/dev/null 2>&1; then
	size=$(stat -c %s "$TMP/out")
	if cmp -s "$TMP/out" /dev/zero -n "$size" 2>/dev/null || [ "$(head -c "$size" /dev/zero | sha256sum)" = "$(sha256sum < "$TMP/out")" ]; then
		pass "fvek blank: cryptsetup's FVEK opens a blank volume, which reads as zeros"
	else
		fail "fvek blank: decrypted blank volume is not all zeros"
	fi
else
	fail "fvek blank: bdkit refused cryptsetup's FVEK for a blank volume"
fi
# a wrong FVEK is still refused
head -c 32 /dev/urandom > "$TMP/bad"
"$BDKIT" decrypt "$img" --fvek "$TMP/bad" -o "$TMP/out2" >/dev/null 2>&1
rc=$?
[ $rc -eq 4 ] && pass "fvek blank: a random FVEK is refused (exit 4)" || fail "fvek blank: random FVEK gave exit $rc, want 4"
