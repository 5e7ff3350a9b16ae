#!/bin/sh
# The rough edges people met (issue "inputs"), one check each: exit 3 for anything that is not BitLocker,
# info's volume size against the input and TRUNCATED, mount's warning on a truncated image, external keys
# named as such, a suspended volume's reboot count, resume on a volume that is not suspended, a wiped header
# naming bdkit repair, rotate without a recovery password, rewrites that repair damaged copies and keep an
# unfinished conversion say so, the path printed once, key IDs in the same case everywhere, decrypt -v,
# umount returning once the daemon is done.
. "$(dirname "$0")/lib.sh"
need_images frictions || exit 0
IMG=bitlk-aes-xts-128
SRC="$IMGDIR/$IMG.img"
W="$TMP/f"
mkdir -p "$W"
conf $IMG RP >"$W/rp"
printf anaconda >"$W/pw"

expect() { # NAME CODE PATTERN -- ARGS
	name=$1 code=$2 pat=$3
	shift 4
	"$BDKIT" "$@" --no-prompt </dev/null >"$W/out" 2>"$W/err"
	rc=$?
	if [ $rc -ge 128 ]; then fail "$name: crashed (exit $rc)"; return; fi
	if [ $rc != "$code" ]; then fail "$name: exit $rc, expected $code: $(head -2 "$W/err")"; return; fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$W/err" "$W/out"; then fail "$name: no '$pat' in: $(head -2 "$W/err")"; return; fi
	pass "$name (exit $code)"
}

# ---- not BitLocker: exit 3 from every reader ----
head -c 4M /dev/urandom >"$W/random.img"
for input in "$W" /dev/null "$W/random.img"; do
	for cmd in info "decrypt -o $W/x" "metadata check" "repair -o $W/x" "keypackage export -o $W/x"; do
		set -- $cmd
		expect "$1 $2 on $input: not BitLocker" 3 "" -- "$@" "$input"
	done
done
expect "a directory says it is a directory" 3 "is a directory" -- info "$W"
expect "/dev/null says it is a character device" 3 "character device" -- info /dev/null
"$BDKIT" info "$W/random.img" >/dev/null 2>"$W/err"
[ "$(grep -o "$W/random.img" "$W/err" | wc -l)" = 1 ] && pass "the path is printed once in the message" ||
	fail "path repeated: $(cat "$W/err")"

# ---- a wiped header names the repair ----
cp --sparse=always "$SRC" "$W/wiped.img"
dd if=/dev/zero of="$W/wiped.img" bs=512 count=1 conv=notrunc 2>/dev/null
expect "a zeroed first sector names bdkit repair" 3 "bdkit repair" -- info "$W/wiped.img"

# ---- truncated: info and mount say so ----
head -c 50M "$SRC" >"$W/trunc.img"
"$BDKIT" info "$W/trunc.img" >"$W/out" 2>/dev/null
grep -q "^Volume size: *104857600 bytes" "$W/out" && grep -q "^Input: *raw file, 52428800 bytes" "$W/out" &&
	grep -q "^TRUNCATED: .*52428800 bytes" "$W/out" &&
	pass "info: volume size against the input, TRUNCATED with the missing bytes" || fail "info truncated: $(head -8 "$W/out")"
"$BDKIT" info --json "$W/trunc.img" 2>/dev/null |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["truncated"] and d["volume_size"] == 104857600 and d["input_size"] == 52428800' 2>/dev/null &&
	pass "info --json: truncated, volume_size, input_size" || fail "info --json truncated fields"
"$BDKIT" info "$SRC" 2>/dev/null | grep -q "TRUNCATED" && fail "info calls a complete image truncated" ||
	pass "info: a complete image is not called truncated"
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir -p "$W/mnt"
	if "$BDKIT" mount "$W/trunc.img" "$W/mnt" --recovery-password-file "$W/rp" >"$W/out" 2>"$W/err"; then
		pid=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.bdkit.pid").decode())' "$W/mnt" 2>/dev/null)
		grep -q "TRUNCATED" "$W/err" && pass "mount warns that the image is truncated" || fail "mount: no warning: $(cat "$W/err")"
		"$BDKIT" umount "$W/mnt" >/dev/null 2>&1
		# umount returns once the daemon has synced and exited (it no longer waits for a lazy reaper)
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
		[ -z "$state" ] || [ "$state" = Z ] && pass "umount returns with the daemon finished" ||
			fail "umount returned while the daemon (pid $pid) is still $state"
	else
		fail "mount of the truncated image: $(head -2 "$W/err")"
	fi
fi

# ---- protectors: external keys, a suspended volume's reboot count, resume, rotate ----
"$BDKIT" info "$IMGDIR/bitlk-aes-xts-128-startup-key.img" 2>/dev/null | grep -q "external key (.BEK)" &&
	pass "0x0200 protectors are called external keys (.BEK)" || fail "external key name"
"$BDKIT" info "$IMGDIR/bitlk-aes-xts-128-clearkey-only.img" 2>/dev/null | grep -q "suspended until resumed" &&
	pass "info: a suspended volume says it is suspended until resumed" || fail "info: suspended state not shown"
cp --sparse=always "$SRC" "$W/s.img"
"$BDKIT" -q suspend "$W/s.img" --reboot-count 2 --password-file "$W/pw" >/dev/null 2>&1
"$BDKIT" info "$W/s.img" 2>/dev/null | grep -q "suspended for 2 more reboots" &&
	"$BDKIT" info --json "$W/s.img" 2>/dev/null | grep -q '"reboot_count": 2' &&
	pass "info: the reboot count of a suspended volume (text and JSON)" || fail "info: reboot count not shown"
expect "resume on a volume that is not suspended says so, asks for nothing" 9 "not suspended" -- resume "$SRC"
"$BDKIT" -q format "$W/pwonly.img" --size 16M --no-recovery-password --password-file "$W/pw" >/dev/null 2>&1
expect "rotate without a recovery password says there is none" 9 "no recovery password to rotate" -- \
	protector rotate "$W/pwonly.img" --password-file "$W/pw"
# rotate picks the recovery password that unlocked (the second of two)
D=bitlk-aes-xts-128-two-recovery
cp --sparse=always "$IMGDIR/$D.img" "$W/two.img"
conf $D RP2 >"$W/rp2"
"$BDKIT" -q protector rotate "$W/two.img" --recovery-password-file "$W/rp2" --json >"$W/out" 2>"$W/err"
rc=$?
ids=$("$BDKIT" -q info --json "$W/two.img" 2>/dev/null | tr a-f A-F)
[ $rc = 0 ] && echo "$ids" | grep -q "$(conf $D RP_VMK_GUID | tr a-f A-F)" && ! echo "$ids" | grep -q "$(conf $D RP2_VMK_GUID | tr a-f A-F)" &&
	pass "rotate replaces the recovery password that unlocked (RP2 of two), keeps the other" ||
	fail "rotate with RP2: exit $rc: $(head -2 "$W/err")"

# ---- a rewrite says what it repairs (the unfinished-conversion case: tests/unit/test_inputs.c) ----
cp --sparse=always "$SRC" "$W/p.img"
printf '\377\377\377\377\377\377\377\377' | dd of="$W/p.img" bs=1 seek=$((46256128 + 100)) conv=notrunc 2>/dev/null
"$BDKIT" protector add password "$W/p.img" --password-file "$W/pw" --new-password-file "$W/pw" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 0 ] && grep -q "copy 2 .* is damaged.*this change rewrites it" "$W/err" &&
	"$BDKIT" -q info --json "$W/p.img" 2>/dev/null | grep -q '"copy": 2, "offset": 46256128, "status": "ok"' &&
	pass "a metadata rewrite names the damaged copy it repairs (and repairs it)" ||
	fail "rewrite with copy 2 damaged: exit $rc: $(head -3 "$W/err")"

# ---- key IDs in one case; decrypt -v ----
"$BDKIT" -q format "$W/k.img" --size 16M --password-file "$W/pw" --json >"$W/f.json" 2>/dev/null
fk=$(python3 -c 'import json,sys; print([p for p in json.load(open(sys.argv[1]))["protectors"] if "key_id" in p][0]["key_id"])' "$W/f.json" 2>/dev/null)
ik=$("$BDKIT" -q info --json "$W/k.img" 2>/dev/null | python3 -c 'import json,sys; print([p["key_id"] for p in json.load(sys.stdin)["protectors"] if p["type"] == 2048][0])' 2>/dev/null)
[ -n "$fk" ] && [ "$fk" = "$ik" ] && pass "format --json and info --json give the same key ID ($fk)" || fail "key IDs: format '$fk', info '$ik'"
"$BDKIT" -v decrypt "$SRC" --recovery-password-file "$W/rp" -o /dev/null >/dev/null 2>"$W/err"
grep -q "metadata copy 1 of 3 in use" "$W/err" && grep -q "unlocked by the recovery password protector" "$W/err" &&
	grep -q "worker thread" "$W/err" && pass "decrypt -v tells the copy, the protector and the threads" ||
	fail "decrypt -v said: $(head -5 "$W/err")"
