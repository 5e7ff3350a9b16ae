#!/bin/sh
# bdkit recover-password on real Windows volumes: their published recovery passwords (images.conf RP) are
# damaged here (a misread digit, swapped digits, a partly or wholly lost block) and must be found again,
# with the protector named by images.conf's RP_VMK_GUID. Also: count/estimate of a lost block, refusal of
# absurd searches, an impossible pattern, interrupt (SIGINT) and resume with a consistent state file,
# a state file of another search refused. Every search here is kept to a few dozen stretches.
. "$(dirname "$0")/lib.sh"
need_images t_recover_password || exit 0
IMG=bitlk-aes-xts-128
SRC="$IMGDIR/$IMG.img"
RP=$(conf $IMG RP)
KEYID=$(conf $IMG RP_VMK_GUID | cut -c1-8 | tr a-f A-F)
before=$(sha256sum <"$SRC")

# block N of RP replaced by TEXT
damage() { echo "$RP" | awk -F- -v n="$1" -v t="$2" 'BEGIN { OFS = "-" } { $n = t; print }'; }
block() { echo "$RP" | cut -d- -f"$1"; }

# run NAME EXPECTED_RC PATTERN ARGS...: output in $TMP/out, $TMP/err
run() {
	name=$1 want=$2
	printf '%s\n' "$3" >"$TMP/pat"
	shift 3
	"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ge 128 ]; then fail "$name: crashed (exit $rc)"; return 1; fi
	if [ $rc != "$want" ]; then fail "$name: exit $rc, expected $want: $(tail -2 "$TMP/err")"; return 1; fi
	return 0
}

# 1. one misread digit (1 -> 7 in block 1): a handful of stretches
b1=$(block 1)
bad=$(echo "$b1" | sed 's/1/7/')
if [ "$bad" = "$b1" ]; then bad=$(echo "$b1" | sed 's/3/8/'); fi
if run "misread digit" 0 "$(damage 1 "$bad")" --misread --json -j 2; then
	if grep -q "\"password\": \"$RP\"" "$TMP/out" && grep -q "\"key_id\": \"$KEYID\"" "$TMP/out" &&
	   grep -q '"verified": true' "$TMP/out"; then
		n=$(sed 's/.*"count": \([0-9]*\).*/\1/' "$TMP/out")
		[ "$n" -le 6 ] && pass "misread digit ($b1 read as $bad): found among $n candidates, key ID $KEYID" ||
			fail "misread digit: $n candidates, expected at most 6"
	else
		fail "misread digit: $(cat "$TMP/out")"
	fi
fi

# 2. two adjacent digits swapped, no option (failing blocks get --any-digit --transpose): stdout = password only
b4=$(block 4)
sw=$(echo "$b4" | sed 's/^\(.\)\(.\)/\2\1/')
[ "$sw" = "$b4" ] && sw=$(echo "$b4" | sed 's/^\(..\)\(.\)\(.\)/\1\3\2/')
if run "transposed digits" 0 "$(damage 4 "$sw")" -j 2; then
	[ "$(cat "$TMP/out")" = "$RP" ] && grep -q "key ID $KEYID" "$TMP/err" &&
		pass "transposed digits ($b4 written $sw): stdout is the password alone" ||
		fail "transposed digits: stdout '$(cat "$TMP/out")', $(tail -1 "$TMP/err")"
fi

# 3. a lost block narrowed to 2 unknown digits; --output FILE mode 0600
b3=$(block 3)
nar=$(echo "$b3" | sed 's/^\(..\)..\(..\)$/\1??\2/')
if run "narrowed block" 0 "$(damage 3 "$nar")" -j 2 -o "$TMP/found" --key-id "$KEYID"; then
	mode=$(stat -c %a "$TMP/found")
	[ "$(cat "$TMP/found")" = "$RP" ] && [ "$mode" = 600 ] && [ ! -s "$TMP/out" ] &&
		pass "lost block narrowed to $nar: found, written to --output (mode $mode), nothing on stdout" ||
		fail "narrowed block: file '$(cat "$TMP/found")' mode $mode stdout '$(cat "$TMP/out")'"
fi

# 4. a wholly lost block: 65536 candidates = 65536 stretches (count and estimate only)
if run "lost block estimate" 0 "$(damage 5 '??????')" --dry-run --json -j 1; then
	grep -q '"count": 65536,' "$TMP/out" && grep -q '"stretches": 65536,' "$TMP/out" &&
	grep -q '"estimated_seconds": [1-9]' "$TMP/out" &&
		pass "lost block: 65536 candidates, estimate $(sed 's/.*"estimated_seconds": \([0-9.]*\).*/\1/' "$TMP/out") s on 1 thread" ||
		fail "lost block estimate: $(cat "$TMP/out")"
fi
run "absurd search refused" 11 "$(damage 2 '??????' | sed 's/-[0-9]*$/-??????/')" &&
	grep -q "refusing a search of 4294967296 stretches" "$TMP/err" && grep -q -- "--force" "$TMP/err" &&
	pass "two lost blocks (2^32 stretches) refused without --force, narrowing suggested (exit 11)"

# 5. impossible pattern; nothing matches; malformed pattern; wrong key ID
run "impossible pattern" 10 "$(damage 6 '00010?')" && grep -q "block 6 (00010?)" "$TMP/err" &&
	pass "impossible pattern: block 6 named (exit 10)"
b7=$(block 7)
w7=$(printf '%06d' $(( (1$b7 - 1000000 + 22) % 720896 )))
run "no match" 4 "$(damage 7 "$w7")" -j 1 && grep -q "none of the 1 candidates" "$TMP/err" &&
	grep -q -- "--suspect all" "$TMP/err" && pass "valid but wrong block: nothing matches, widening suggested (exit 4)"
run "seven blocks" 10 "$(echo "$RP" | cut -d- -f1-7)" && grep -q "7 block" "$TMP/err" &&
	pass "7 blocks: told to write the lost one as ?????? (exit 10)"
run "wrong key ID" 9 "$RP" --key-id 12345678 && grep -q "key ID 12345678" "$TMP/err" && pass "unknown --key-id (exit 9)"

# 6. interrupt and resume: block 2 with 3 unknown digits (91 candidates), the right one late in the order
b2=$(block 2)
p2=$(echo "$b2" | sed 's/^\(..\)...\(.\)$/\1???\2/')
printf '%s\n' "$(damage 2 "$p2")" >"$TMP/pat"
# SIGINT 0.3 s after the search has saved its first state (not at a fixed time from the start: the
# search got fast enough to finish all 91 candidates within a fixed 1.5 s)
rm -f "$TMP/state"
"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat" --state "$TMP/state" -j 1 </dev/null >"$TMP/out" \
	2>"$TMP/err" &
pid=$!
for _ in $(seq 1 3000); do
	[ -s "$TMP/state" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.01
done
sleep 0.3
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
done1=$(awk '$1 == "done" { print $2 }' "$TMP/state" 2>/dev/null)
id1=$(awk '$1 == "search" { print $2 }' "$TMP/state" 2>/dev/null)
if [ $rc = 12 ] && grep -q '^status interrupted$' "$TMP/state" && grep -q '^count 91$' "$TMP/state" &&
   [ -n "$done1" ] && [ "$done1" -lt 91 ] && [ ! -s "$TMP/out" ] && ! grep -q "$b2" "$TMP/state"; then
	pass "SIGINT: exit 12, state saved (done $done1 of 91, status interrupted, no password digits)"
else
	fail "SIGINT: exit $rc, state: $(tr '\n' ' ' <"$TMP/state" 2>/dev/null) $(tail -1 "$TMP/err")"
fi
"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat" --state "$TMP/state" </dev/null >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q -- "--resume" "$TMP/err" && pass "--state on an existing state file: told to --resume (exit 11)" ||
	fail "--state over existing: $(tail -1 "$TMP/err")"
"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat" --resume "$TMP/state" --misread </dev/null >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q "another search" "$TMP/err" && pass "state file of another search (other options) refused (exit 11)" ||
	fail "other search: $(tail -1 "$TMP/err")"
printf '%s\n' "$(damage 2 "$p2" | sed 's/^./?/')" >"$TMP/pat2"
"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat2" --resume "$TMP/state" </dev/null >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q "another search" "$TMP/err" && pass "state file of another search (other pattern) refused (exit 11)" ||
	fail "other pattern: $(tail -1 "$TMP/err")"
"$BDKIT" recover-password "$IMGDIR/bitlk-aes-xts-256.img" --pattern-file "$TMP/pat" --resume "$TMP/state" \
	</dev/null >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q "another search" "$TMP/err" && pass "state file of another volume refused (exit 11)" ||
	fail "other volume: $(tail -1 "$TMP/err")"
"$BDKIT" recover-password "$SRC" --pattern-file "$TMP/pat" --resume "$TMP/state" --json -j 2 </dev/null \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
idx=$(sed -n 's/.*"index": \([0-9]*\).*/\1/p' "$TMP/out")
tried=$(sed -n 's/.*"tried": \([0-9]*\).*/\1/p' "$TMP/out")
if [ $rc = 0 ] && grep -q "\"password\": \"$RP\"" "$TMP/out" && grep -q '^status found$' "$TMP/state" &&
   grep -q "^done $idx\$" "$TMP/state" && grep -q "^search $id1\$" "$TMP/state" &&
   [ "$tried" -le $(( 91 - done1 )) ] && [ "$idx" -ge "$done1" ]; then
	pass "resumed at $done1: found candidate $idx after $tried more stretches; state says found, same search"
else
	fail "resume: exit $rc, $(cat "$TMP/out") state: $(tr '\n' ' ' <"$TMP/state") $(tail -1 "$TMP/err")"
fi

[ "$(sha256sum <"$SRC")" = "$before" ] && pass "the volume was not written" || fail "the volume changed"
