#!/bin/sh
# Key packages: exported from every real Windows volume, each one brings its volume back (metadata repair
# in place, then the ordinary reader unlocks it with the recovery password; salvage output equal to the
# published sha256) after all three metadata copies were zeroed; a package of another volume is refused;
# a foreign file holding a metadata block is recognised, one without is refused plainly.
. "$(dirname "$0")/lib.sh"
need_images t_keypackage || exit 0

# copies IMAGE: the three metadata offsets bdkit info reports
copies() { "$BDKIT" -q info "$1" 2>/dev/null | awk '/copy [123] at/ {print $4}'; }
zero_copies() { # FILE OFFSETS...
	f=$1; shift
	for o in "$@"; do dd if=/dev/zero of="$f" bs=65536 count=1 seek="$o" oflag=seek_bytes conv=notrunc 2>/dev/null; done
}

for img in $(images); do
	src="$IMGDIR/$img.img"
	printf '%s' "$(conf "$img" RP)" >"$TMP/rp"
	sec="--recovery-password-file $TMP/rp"
	[ -s "$TMP/rp" ] || sec=--clear-key   # the suspended volume has only a clear key
	offs=$(copies "$src")
	if ! "$BDKIT" -q keypackage export "$src" -o "$TMP/$img.kp" $sec 2>"$TMP/err"; then
		fail "$img: export: $(head -1 "$TMP/err")"; continue
	fi
	cp --sparse=always "$src" "$TMP/v.img"
	zero_copies "$TMP/v.img" $offs
	if "$BDKIT" -q info "$TMP/v.img" $sec >/dev/null 2>&1; then
		fail "$img: still opens with all metadata zeroed"; rm -f "$TMP/v.img"; continue
	fi
	if ! "$BDKIT" -q metadata repair "$TMP/v.img" --key-package "$TMP/$img.kp" $sec \
		--backup "$TMP/bk" >/dev/null 2>"$TMP/err"; then
		fail "$img: metadata repair from the key package: $(head -1 "$TMP/err")"; rm -f "$TMP/v.img" "$TMP/bk"; continue
	fi
	if "$BDKIT" -q info "$TMP/v.img" $sec >/dev/null 2>"$TMP/err"; then
		pass "$img: key package brings back the zeroed metadata; ${sec%%-file *} unlocks it"
	else
		fail "$img: after repair: $(head -1 "$TMP/err")"
	fi
	rm -f "$TMP/v.img" "$TMP/bk"
done

# salvage straight from the key package; judged by the published sha256
for img in bitlk-aes-xts-128 bitlk-aes-cbc-128-4k bitlk-aes-cbc-elephant-128; do
	src="$IMGDIR/$img.img"
	printf '%s' "$(conf "$img" RP)" >"$TMP/rp"
	cp --sparse=always "$src" "$TMP/v.img"
	zero_copies "$TMP/v.img" $(copies "$src")
	"$BDKIT" -q repair "$TMP/v.img" -o "$TMP/out.img" --key-package "$TMP/$img.kp" --recovery-password-file "$TMP/rp" \
		2>"$TMP/err" >/dev/null
	rc=$?
	sum=$(sha256sum <"$TMP/out.img" | cut -c1-64)
	[ $rc = 0 ] && [ "$sum" = "$(conf "$img" SHA256SUM)" ] && pass "$img: salvage with the key package matches the published sha256" ||
		fail "$img: salvage with key package: rc $rc, $(head -1 "$TMP/err")"
	"$BDKIT" -q repair "$TMP/v.img" -o "$TMP/out2.img" --recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 5 ] && grep -q "key-package" "$TMP/err" && pass "$img: all copies gone, no key package: clear failure (exit 5)" ||
		fail "$img: no key package: rc $rc: $(head -1 "$TMP/err")"
	rm -f "$TMP/v.img" "$TMP/out.img" "$TMP/out.img.map" "$TMP/out2.img" "$TMP/out2.img.map"
done

# a package of another volume is refused with a clear message
img=bitlk-aes-xts-256
printf '%s' "$(conf $img RP)" >"$TMP/rp"
cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
zero_copies "$TMP/v.img" $(copies "$IMGDIR/$img.img")
for cmd in "repair $TMP/v.img -o $TMP/out.img" "metadata repair $TMP/v.img --backup $TMP/bk"; do
	"$BDKIT" -q $cmd --key-package "$TMP/bitlk-aes-xts-128.kp" --recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 4 ] && grep -q "another volume" "$TMP/err" && pass "key package of another volume refused (${cmd%% *})" ||
		fail "other volume's key package (${cmd%% *}): rc $rc: $(head -1 "$TMP/err")"
done
[ ! -s "$TMP/out.img" ] && pass "nothing written for the wrong key package" || fail "output written for the wrong key package"
rm -f "$TMP/v.img" "$TMP/out.img" "$TMP/bk"

# info, JSON, damage to the package itself
"$BDKIT" keypackage info --json "$TMP/bitlk-aes-xts-128.kp" >"$TMP/j" 2>&1
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['volume_guid'].lower()=='{'+sys.argv[2]+'}' and len(d['protectors'])==2" \
	"$TMP/j" "$(conf bitlk-aes-xts-128 GUID)" 2>/dev/null && pass "keypackage info --json names the volume GUID of images.conf" ||
	fail "keypackage info --json: $(head -c 200 "$TMP/j")"
cp "$TMP/bitlk-aes-xts-128.kp" "$TMP/bad.kp"
printf 'X' | dd of="$TMP/bad.kp" bs=1 seek=700 conv=notrunc 2>/dev/null
"$BDKIT" -q keypackage info "$TMP/bad.kp" >/dev/null 2>"$TMP/err"
[ $? = 5 ] && grep -q CRC "$TMP/err" && pass "damaged key package: CRC mismatch reported" || fail "damaged key package: $(cat "$TMP/err")"

# a foreign package (layout unknown) holding a metadata block somewhere is recognised
img=bitlk-aes-xts-128
o=$(copies "$IMGDIR/$img.img" | head -1)
{ head -c 1234 /dev/urandom; dd if="$IMGDIR/$img.img" bs=65536 skip="$o" count=1 iflag=skip_bytes 2>/dev/null; head -c 999 /dev/urandom; } >"$TMP/ms.kpg"
"$BDKIT" keypackage info "$TMP/ms.kpg" >"$TMP/out" 2>&1 && grep -q "foreign" "$TMP/out" && grep -qi "$(conf $img GUID)" "$TMP/out" &&
	pass "foreign file with a metadata block at byte 1234 recognised" || fail "foreign package: $(head -3 "$TMP/out")"
printf '%s' "$(conf $img RP)" >"$TMP/rp"
cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
zero_copies "$TMP/v.img" $(copies "$IMGDIR/$img.img")
"$BDKIT" -q repair "$TMP/v.img" -o "$TMP/out.img" --key-package "$TMP/ms.kpg" --recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
[ $? = 0 ] && [ "$(sha256sum <"$TMP/out.img" | cut -c1-64)" = "$(conf $img SHA256SUM)" ] &&
	pass "salvage with the foreign package matches the published sha256" || fail "foreign package salvage: $(head -1 "$TMP/err")"
rm -f "$TMP/v.img" "$TMP/out.img" "$TMP/out.img.map"
head -c 50000 /dev/urandom >"$TMP/junk.kpg"
"$BDKIT" -q keypackage info "$TMP/junk.kpg" >/dev/null 2>"$TMP/err"
[ $? = 8 ] && grep -q "not public" "$TMP/err" && pass "unrecognisable key package: says plainly it cannot be read" ||
	fail "junk key package: $(cat "$TMP/err")"

# header and all three copies destroyed: metadata repair from the key package puts back both, byte for byte
img=bitlk-aes-xts-128
printf '%s' "$(conf $img RP)" >"$TMP/rp"
cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
offs=$(copies "$IMGDIR/$img.img")
zero_copies "$TMP/v.img" $offs
dd if=/dev/zero of="$TMP/v.img" bs=512 count=1 conv=notrunc 2>/dev/null
"$BDKIT" -q metadata repair "$TMP/v.img" --key-package "$TMP/$img.kp" --recovery-password-file "$TMP/rp" --backup "$TMP/bk" \
	>/dev/null 2>"$TMP/err"
rc=$?
same=1
for o in 0 $offs; do
	n=65536; [ "$o" = 0 ] && n=512
	cmp -s -n $n -i "$o:$o" "$TMP/v.img" "$IMGDIR/$img.img" || same=0
done
[ $rc = 0 ] && [ $same = 1 ] && pass "header and all copies zeroed: metadata repair from the key package restores them byte for byte" ||
	fail "header + copies from key package: rc $rc same $same: $(grep -v warning "$TMP/err" | head -1)"
rm -f "$TMP/v.img" "$TMP/bk"
