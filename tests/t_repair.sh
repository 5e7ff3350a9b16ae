#!/bin/sh
# Metadata repair in place and salvage (bdkit metadata / bdkit repair) on copies of real Windows volumes:
# zeroed header, one/two corrupted copies, unreadable ranges (test-only BDKIT_FAULT_RANGES), a truncated
# image, interrupt + resume. Judged by the published sha256 (images.conf), by `bdkit decrypt` of the intact
# image outside exactly the reported ranges, by cryptsetup (reads copy 1 only) and by ntfs-3g's ntfsls.
. "$(dirname "$0")/lib.sh"
need_images t_repair || exit 0
IMG=bitlk-aes-xts-128
SRC="$IMGDIR/$IMG.img"
SUM=$(conf $IMG SHA256SUM)
printf '%s' "$(conf $IMG RP)" >"$TMP/rp"
copies() { "$BDKIT" -q info "$1" 2>/dev/null | awk '/copy [123] at/ {print $4}'; }
set -- $(copies "$SRC"); C1=$1 C2=$2 C3=$3
scribble() { # FILE OFFSET: 1 KiB of random bytes into a metadata copy (signature kept: a CRC failure)
	head -c 1024 /dev/urandom | dd of="$1" bs=1024 seek="$(($2 + 256))" oflag=seek_bytes conv=notrunc 2>/dev/null
}
sha() { sha256sum <"$1" | cut -c1-64; }
# salvage NAME EXPECTED_SHA SOURCE [ARGS]: repair and compare with the published checksum
salvage() {
	name=$1 want=$2 f=$3; shift 3
	"$BDKIT" -q repair "$f" -o "$TMP/out.img" -f --recovery-password-file "$TMP/rp" "$@" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc = 0 ] && [ "$(sha "$TMP/out.img")" = "$want" ]; then pass "$name: salvaged output matches the published sha256"
	else fail "$name: rc $rc: $(grep -v warning "$TMP/err" | head -2)"; fi
}

# 1. volume header zeroed (512- and 4096-byte sectors): metadata found by scanning
for img in $IMG bitlk-aes-cbc-128-4k; do
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
	dd if=/dev/zero of="$TMP/v.img" bs=4096 count=1 conv=notrunc 2>/dev/null
	printf '%s' "$(conf $img RP)" >"$TMP/rp"
	salvage "$img: zeroed volume header" "$(conf $img SHA256SUM)" "$TMP/v.img"
	grep -q "scanning" "$TMP/out.img.map" "$TMP/err" && pass "$img: metadata found by scanning" || fail "$img: scan not reported"
done
printf '%s' "$(conf $IMG RP)" >"$TMP/rp"

# 1a. every volume with a published checksum: header zeroed and copy 1 scribbled over
for img in $(images); do
	want=$(conf $img SHA256SUM)
	[ -n "$want" ] || continue
	case $img in $IMG|bitlk-aes-cbc-128-4k) continue ;; esac   # done above
	printf '%s' "$(conf $img RP)" >"$TMP/rp"
	sec="--recovery-password-file $TMP/rp"
	[ -s "$TMP/rp" ] || sec=--clear-key
	set -- $(copies "$IMGDIR/$img.img")
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
	dd if=/dev/zero of="$TMP/v.img" bs=512 count=1 conv=notrunc 2>/dev/null
	scribble "$TMP/v.img" "$1"
	"$BDKIT" -q repair "$TMP/v.img" -o "$TMP/out.img" -f $sec >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 0 ] && [ "$(sha "$TMP/out.img")" = "$want" ] && pass "$img: header zeroed + copy 1 corrupted: published sha256" ||
		fail "$img: header + copy 1: rc $rc: $(grep -v warning "$TMP/err" | head -1)"
done
rm -f "$TMP/v.img" "$TMP/out.img" "$TMP/out.img.map"
printf '%s' "$(conf $IMG RP)" >"$TMP/rp"

# 1b. header zeroed on special volumes: encrypt-on-write in progress, paused conversion, To Go;
# judged by the published sha256 where there is one, else by the reader's decryption of the intact volume
for img in bitlk-aes-xts-128-eow bitlk-partially-encrypted-aes-cbc-128 bitlk-togo-aes-xts-128; do
	printf '%s' "$(conf $img RP)" >"$TMP/rp"
	want=$(conf $img SHA256SUM)
	[ -n "$want" ] || want=$("$BDKIT" -q decrypt "$IMGDIR/$img.img" -o - --recovery-password-file "$TMP/rp" 2>/dev/null | sha256sum | cut -c1-64)
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
	dd if=/dev/zero of="$TMP/v.img" bs=512 count=1 conv=notrunc 2>/dev/null
	case $img in
	*partially*) # encrypt-on-write with its EOW information trimmed away: nothing on disk says so any more
		"$BDKIT" -q keypackage export "$IMGDIR/$img.img" -o "$TMP/p.kp" --recovery-password-file "$TMP/rp" 2>/dev/null
		salvage "$img: zeroed volume header, key package" "$want" "$TMP/v.img" --key-package "$TMP/p.kp"
		salvage "$img: zeroed volume header, --assume-eow" "$want" "$TMP/v.img" --assume-eow ;;
	*) salvage "$img: zeroed volume header" "$want" "$TMP/v.img" ;;
	esac
done
rm -f "$TMP/v.img"
printf '%s' "$(conf $IMG RP)" >"$TMP/rp"

# 1c. zeroed header repaired in place: rebuilt from the metadata (a secret proves the metadata is this volume's)
for img in $IMG bitlk-aes-cbc-128-4k; do
	printf '%s' "$(conf $img RP)" >"$TMP/rp"
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/v.img"
	dd if=/dev/zero of="$TMP/v.img" bs=512 count=1 conv=notrunc 2>/dev/null
	"$BDKIT" -q metadata repair "$TMP/v.img" --backup "$TMP/bk" >/dev/null 2>&1
	[ $? = 5 ] && cmp -s -n 512 "$TMP/v.img" /dev/zero && pass "$img: header not rebuilt without a secret (exit 5)" ||
		fail "$img: header rebuilt without a secret"
	rm -f "$TMP/bk"
	"$BDKIT" -q metadata repair "$TMP/v.img" --recovery-password-file "$TMP/rp" --backup "$TMP/bk" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 0 ] && [ "$("$BDKIT" -q decrypt "$TMP/v.img" -o - --recovery-password-file "$TMP/rp" 2>/dev/null | sha256sum | cut -c1-64)" = "$(conf $img SHA256SUM)" ] &&
		pass "$img: header rebuilt in place; the reader decrypts it to the published sha256" || fail "$img: header rebuild: rc $rc $(grep -v warning "$TMP/err" | head -1)"
	if command -v cryptsetup >/dev/null; then
		cryptsetup bitlkDump "$TMP/v.img" 2>/dev/null | grep -qi "$(conf $img GUID)" && pass "$img: cryptsetup reads the rebuilt header" ||
			fail "$img: cryptsetup cannot read the rebuilt header"
	fi
	rm -f "$TMP/v.img" "$TMP/bk"
done
printf '%s' "$(conf $IMG RP)" >"$TMP/rp"

# 2. one, two corrupted copies; the real crc volume: in place
cp --sparse=always "$SRC" "$TMP/v.img"
scribble "$TMP/v.img" "$C1"
salvage "copy 1 corrupted" "$SUM" "$TMP/v.img"
scribble "$TMP/v.img" "$C3"
salvage "copies 1 and 3 corrupted" "$SUM" "$TMP/v.img"
"$BDKIT" -q metadata check "$TMP/v.img" >"$TMP/out" 2>/dev/null
[ $? = 5 ] && grep -q "Copy 1.*bad CRC32" "$TMP/out" && grep -q "Copy 3.*bad CRC32" "$TMP/out" && grep -q "Copy 2.*ok" "$TMP/out" &&
	pass "metadata check names the two bad copies (exit 5)" || fail "metadata check: $(cat "$TMP/out")"
before=$(sha "$TMP/v.img")
"$BDKIT" -q metadata repair "$TMP/v.img" --backup "$TMP/bk" >/dev/null 2>"$TMP/err"
[ $? = 0 ] && [ -s "$TMP/bk" ] && pass "metadata repair: backup written, copies rewritten" || fail "metadata repair: $(cat "$TMP/err")"
"$BDKIT" -q metadata check "$TMP/v.img" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1 &&
	[ "$(grep -c '^Copy.* ok$' "$TMP/out")" = 3 ] && pass "after repair all three copies pass CRC32 and SHA-256" || fail "after repair: $(cat "$TMP/out")"
"$BDKIT" -q metadata restore "$TMP/v.img" "$TMP/bk" 2>"$TMP/err" && [ "$(sha "$TMP/v.img")" = "$before" ] &&
	pass "metadata restore puts the backup back byte for byte" || fail "restore: $(cat "$TMP/err")"
rm -f "$TMP/v.img" "$TMP/bk"

cp --sparse=always "$IMGDIR/$IMG-crc.img" "$TMP/v.img"
if command -v cryptsetup >/dev/null; then
	cryptsetup bitlkDump "$TMP/v.img" >/dev/null 2>&1 && ok0=1 || ok0=0
fi
"$BDKIT" -q metadata repair "$TMP/v.img" --recovery-password-file "$TMP/rp" --backup "$TMP/bk" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ] && grep -q "Verdict: *healthy" "$TMP/out" && pass "$IMG-crc: copies 1 and 2 rewritten from copy 3" ||
	fail "$IMG-crc repair: $(cat "$TMP/err")"
if command -v cryptsetup >/dev/null; then
	cryptsetup bitlkDump "$TMP/v.img" 2>/dev/null | grep -qi "$(conf $IMG GUID)" &&
		pass "$IMG-crc after repair: cryptsetup (copy 1 only) reads it (before: $( [ $ok0 = 1 ] && echo ok || echo failed))" ||
		fail "$IMG-crc: cryptsetup cannot read the repaired copy 1"
else
	skip "$IMG-crc: cryptsetup not installed"
fi
[ "$("$BDKIT" -q decrypt "$TMP/v.img" -o - --recovery-password-file "$TMP/rp" 2>/dev/null | sha256sum | cut -c1-64)" = "$SUM" ] &&
	pass "$IMG-crc after repair decrypts to the published sha256" || fail "$IMG-crc after repair: wrong data"
rm -f "$TMP/v.img" "$TMP/bk"

# 2b. copy 1 replaced by a valid block of another volume (same offsets): only the SHA-256 can tell
cp --sparse=always "$SRC" "$TMP/v.img"
dd if="$IMGDIR/bitlk-aes-xts-256.img" of="$TMP/v.img" bs=65536 skip="$C1" seek="$C1" count=1 iflag=skip_bytes \
	oflag=seek_bytes conv=notrunc 2>/dev/null
"$BDKIT" -q metadata check "$TMP/v.img" >"$TMP/out" 2>/dev/null
[ $? = 5 ] && grep -q "disagree" "$TMP/out" && pass "foreign copy 1: check without a secret says the copies disagree" ||
	fail "foreign copy check: $(cat "$TMP/out")"
before=$(sha "$TMP/v.img")
"$BDKIT" -q metadata repair "$TMP/v.img" --backup "$TMP/bk" >/dev/null 2>"$TMP/err"
[ $? = 11 ] && [ "$(sha "$TMP/v.img")" = "$before" ] && pass "foreign copy 1: repair without a secret refuses and changes nothing" ||
	fail "foreign copy repair without secret: $(cat "$TMP/err")"
rm -f "$TMP/bk"
"$BDKIT" -q metadata check "$TMP/v.img" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>/dev/null
grep -q "Copy 1.*bad SHA-256" "$TMP/out" && pass "foreign copy 1: with the secret, copy 1 fails its SHA-256" || fail "foreign copy: $(cat "$TMP/out")"
salvage "foreign copy 1" "$SUM" "$TMP/v.img"
"$BDKIT" -q metadata repair "$TMP/v.img" --recovery-password-file "$TMP/rp" --backup "$TMP/bk" >/dev/null 2>"$TMP/err"
[ $? = 0 ] && cmp -s -n 65536 -i "$C1:$C1" "$TMP/v.img" "$SRC" && pass "foreign copy 1: repaired with the secret, equal to the original" ||
	fail "foreign copy repair: $(grep -v warning "$TMP/err" | head -1)"
rm -f "$TMP/v.img" "$TMP/bk"

# 3. unreadable ranges: output = intact decryption except exactly the reported ranges (zeros there)
"$BDKIT" -q decrypt "$SRC" -o "$TMP/ref.img" --recovery-password-file "$TMP/rp" 2>/dev/null
[ "$(sha "$TMP/ref.img")" = "$SUM" ] || fail "reference decryption does not match the published sha256"
before=$(sha "$SRC")
rm -f "$TMP/out.img" "$TMP/out.img.map"
# sector 0, inside copy 1, MFT-free data areas, the end
FAULTS="0:512,$((C1 + 4096)):100,1M:4096,40000000:70000,$((104857600 - 600)):600"
BDKIT_FAULT_RANGES=$FAULTS "$BDKIT_HOOKS" -q repair "$SRC" -o "$TMP/out.img" --recovery-password-file "$TMP/rp" --json \
	>"$TMP/rep.json" 2>"$TMP/err"
rc=$?
# compare CHECK: every differing byte lies in a reported range, and the reported ranges are zero
cat >"$TMP/cmp.py" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1])); a = open(sys.argv[2], 'rb'); b = open(sys.argv[3], 'rb')
bad = [(d['offset'], d['offset'] + d['length']) for d in rep['damaged']]
size = rep['size']; off = 0; CH = 1 << 20
def inbad(lo, hi): return any(s <= lo and hi <= e for s, e in bad)
while off < size:
    x = a.read(CH); y = b.read(CH)
    if x != y:
        for i in range(0, len(x), 512):
            if x[i:i+512] != y[i:i+512] and not inbad(off + i, off + i + 512):
                sys.exit("difference at %d outside the reported ranges" % (off + i))
    off += len(x)
    if not x: break
for s, e in bad:
    b.seek(s)
    if b.read(e - s).strip(b'\0'): sys.exit("reported range %d+%d is not zero" % (s, e - s))
print(len(bad), sum(e - s for s, e in bad))
PY
res=$(python3 "$TMP/cmp.py" "$TMP/rep.json" "$TMP/ref.img" "$TMP/out.img" 2>&1)
[ $rc = 0 ] && [ "$res" = "3 75264" ] && pass "unreadable ranges: output differs from the intact decryption only in the 3 reported ranges ($res bytes)" ||
	fail "unreadable ranges: rc $rc: $res $(head -2 "$TMP/err")"
grep -q '"metadata_kind":"scan"' "$TMP/rep.json" && grep -q '"\$MFT","offset":[0-9]*,"state":"ok"' "$TMP/rep.json" &&
	pass "report: metadata by scan (header unreadable), \$MFT intact" || fail "report: $(head -c 300 "$TMP/rep.json")"
if command -v ntfsls >/dev/null; then
	ntfsls -R -f "$TMP/ref.img" >"$TMP/ls.ref" 2>/dev/null; ntfsls -R -f "$TMP/out.img" >"$TMP/ls.out" 2>/dev/null
	if [ ! -s "$TMP/ls.ref" ]; then
		skip "ntfsls: ntfs-3g cannot list even the intact decryption of $IMG (the test volumes' file systems are trimmed)"
	else cmp -s "$TMP/ls.ref" "$TMP/ls.out" && pass "ntfsls -R lists the same $(wc -l <"$TMP/ls.out") entries on the salvaged image" ||
		fail "ntfsls on the salvaged image differs"
	fi
else
	skip "ntfsls: ntfs-3g not installed"
fi
[ "$(sha "$SRC")" = "$before" ] && pass "the source was not modified" || fail "THE SOURCE CHANGED"

# 4. interrupt and resume (with the same faults): identical to the uninterrupted run
cp "$TMP/out.img" "$TMP/full.img"
rm -f "$TMP/out.img" "$TMP/out.img.map"
BDKIT_FAULT_RANGES=$FAULTS BDKIT_REPAIR_STOP_AFTER=37M "$BDKIT_HOOKS" -q repair "$SRC" -o "$TMP/out.img" \
	--recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 12 ] && grep -q '?$' "$TMP/out.img.map" && pass "interrupted run: exit 12, map keeps the untried part" ||
	fail "interrupt: rc $rc $(grep -v warning "$TMP/err" | head -1)"
BDKIT_FAULT_RANGES=$FAULTS "$BDKIT_HOOKS" -q repair "$SRC" -o "$TMP/out.img" --resume "$TMP/out.img.map" \
	--recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 0 ] && cmp -s "$TMP/out.img" "$TMP/full.img" && ! grep -q '?$' "$TMP/out.img.map" &&
	pass "resumed run: output identical to the uninterrupted one" || fail "resume: rc $rc $(grep -v warning "$TMP/err" | head -1)"
# a real SIGINT leaves a map that resumes to the same result
rm -f "$TMP/out.img" "$TMP/out.img.map"
BDKIT_FAULT_RANGES=$FAULTS "$BDKIT_HOOKS" -q repair "$SRC" -o "$TMP/out.img" --recovery-password-file "$TMP/rp" >/dev/null 2>&1 &
pid=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -s "$TMP/out.img.map" ] && break; sleep 0.1; done
kill -INT $pid 2>/dev/null; wait $pid
BDKIT_FAULT_RANGES=$FAULTS "$BDKIT_HOOKS" -q repair "$SRC" -o "$TMP/out.img" --resume "$TMP/out.img.map" \
	--recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
[ $? = 0 ] && cmp -s "$TMP/out.img" "$TMP/full.img" && pass "ctrl-C then --resume: identical output" ||
	fail "ctrl-C resume: $(grep -v warning "$TMP/err" | head -1)"
# the drive "recovers": --resume --retry-bad reads the unreadable ranges again and the output becomes exact
"$BDKIT" -q repair "$SRC" -o "$TMP/out.img" --resume "$TMP/out.img.map" --retry-bad --recovery-password-file "$TMP/rp" \
	>/dev/null 2>"$TMP/err"
[ $? = 0 ] && [ "$(sha "$TMP/out.img")" = "$SUM" ] && ! grep -q ' -$' "$TMP/out.img.map" &&
	pass "--resume --retry-bad after the faults are gone: published sha256" || fail "retry-bad: $(grep -v warning "$TMP/err" | head -1)"
rm -f "$TMP/full.img" "$TMP/out.img" "$TMP/out.img.map"

# 5. truncated image: the missing tail is reported and zero-filled, the rest equals the intact decryption
cp --sparse=always "$SRC" "$TMP/v.img"
truncate -s 80M "$TMP/v.img"
"$BDKIT" -q repair "$TMP/v.img" -o "$TMP/out.img" --recovery-password-file "$TMP/rp" --json >"$TMP/rep.json" 2>"$TMP/err"
rc=$?
res=$(python3 "$TMP/cmp.py" "$TMP/rep.json" "$TMP/ref.img" "$TMP/out.img" 2>&1)
[ $rc = 0 ] && [ "$res" = "1 20971520" ] && grep -q "beyond the end of the input" "$TMP/rep.json" &&
	[ "$(stat -c %s "$TMP/out.img")" = 104857600 ] && pass "truncated image: full-size output, the missing 20 MiB reported" ||
	fail "truncated: rc $rc $res $(grep -v warning "$TMP/err" | head -1)"
rm -f "$TMP/v.img" "$TMP/out.img" "$TMP/out.img.map"

# 6. refusals
"$BDKIT" -q repair "$SRC" -o "$SRC" --recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q source "$TMP/err" && pass "output = source refused (exit 11)" || fail "output = source: $(cat "$TMP/err")"
echo data >"$TMP/busy.img"
"$BDKIT" -q repair "$SRC" -o "$TMP/busy.img" --recovery-password-file "$TMP/rp" >/dev/null 2>"$TMP/err"
[ $? = 11 ] && grep -q force "$TMP/err" && pass "non-empty output without --force refused" || fail "non-empty output: $(cat "$TMP/err")"
printf '000000-000000-000000-000000-000000-000000-000000-000000' >"$TMP/wrong"
"$BDKIT" -q repair "$SRC" -o "$TMP/o2.img" --recovery-password-file "$TMP/wrong" >/dev/null 2>"$TMP/err"
[ $? = 4 ] && pass "wrong recovery password: exit 4" || fail "wrong secret: $(head -2 "$TMP/err")"
rm -f "$TMP/ref.img" "$TMP/o2.img" "$TMP/o2.img.map"

# 6a. block devices (loop devices; root only): a device output, one too small, the source itself
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && cp --sparse=always "$SRC" "$TMP/src.img" &&
	LSRC=$(losetup -r -f --show "$TMP/src.img" 2>/dev/null); then
	truncate -s 50M "$TMP/small.img"; truncate -s 110M "$TMP/big.img"
	LSMALL=$(losetup -f --show "$TMP/small.img" 2>/dev/null)
	LBIG=$(losetup -f --show "$TMP/big.img" 2>/dev/null)
	trap 'for d in $LSRC $LSMALL $LBIG; do losetup -d $d 2>/dev/null; done; rm -rf "$TMP"' EXIT
	"$BDKIT" -q repair "$LSRC" -o "$LSRC" --recovery-password-file "$TMP/rp" -m "$TMP/m" >/dev/null 2>"$TMP/err"
	[ $? = 11 ] && pass "block device: output = source refused" || fail "loop: output = source: $(cat "$TMP/err")"
	"$BDKIT" -q repair "$LSRC" -o "$LSMALL" --recovery-password-file "$TMP/rp" -m "$TMP/m" >/dev/null 2>"$TMP/err"
	[ $? = 11 ] && grep -q "smaller" "$TMP/err" && pass "block device smaller than the volume refused" ||
		fail "loop: small output: $(cat "$TMP/err")"
	head -c 1048576 /dev/urandom | dd of="$LBIG" bs=1M seek=50 conv=notrunc 2>/dev/null  # stale data must go
	"$BDKIT" -q repair "$LSRC" -o "$LBIG" --recovery-password-file "$TMP/rp" -m "$TMP/m" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 0 ] && [ "$(head -c 104857600 "$LBIG" | sha256sum | cut -c1-64)" = "$SUM" ] &&
		pass "salvage to a block device: published sha256" || fail "loop: salvage to device: rc $rc $(head -1 "$TMP/err")"
	for d in $LSRC $LSMALL $LBIG; do losetup -d $d 2>/dev/null; done
	trap 'rm -rf "$TMP"' EXIT
	rm -f "$TMP/src.img" "$TMP/small.img" "$TMP/big.img" "$TMP/m"
else
	skip "block devices: needs root and free loop devices"
fi

# 6b. the volume inside an MBR disk image, its header zeroed: the scan finds the volume's start
truncate -s $((2048 * 512 + 104857600)) "$TMP/disk.img"
printf '\200\0\0\0\007\0\0\0\0\010\0\0\0\040\003\0' | dd of="$TMP/disk.img" bs=1 seek=446 conv=notrunc 2>/dev/null
printf '\125\252' | dd of="$TMP/disk.img" bs=1 seek=510 conv=notrunc 2>/dev/null
dd if="$SRC" of="$TMP/disk.img" bs=1M seek=1 conv=sparse,notrunc 2>/dev/null
dd if=/dev/zero of="$TMP/disk.img" bs=512 seek=2048 count=1 conv=notrunc 2>/dev/null
salvage "MBR disk, partition header zeroed" "$SUM" "$TMP/disk.img"
grep -q "volume starts at 1048576" "$TMP/err" "$TMP/out.img.map" 2>/dev/null || "$BDKIT" -q repair "$TMP/disk.img" -o "$TMP/out.img" -f \
	--recovery-password-file "$TMP/rp" --json 2>/dev/null | grep -q "volume starts at 1048576" &&
	pass "MBR disk: volume start 1048576 derived from the metadata" || fail "MBR disk: volume start not reported"
rm -f "$TMP/disk.img" "$TMP/out.img" "$TMP/out.img.map"

# 7. a bdkit-made volume around a real NTFS with files (the test volumes' file systems are trimmed):
# judged by the plain image that went in and by ntfs-3g (ntfsls)
if ! command -v mkntfs >/dev/null || ! command -v ntfscp >/dev/null || ! command -v ntfsls >/dev/null; then
	skip "bdkit-made NTFS: ntfs-3g tools not installed"; exit 0
fi
truncate -s 64M "$TMP/plain.img"
mkntfs -F -Q -q "$TMP/plain.img" >/dev/null 2>&1
for i in 1 2 3; do head -c $((i * 400000)) /dev/urandom >"$TMP/f$i"; ntfscp -f "$TMP/plain.img" "$TMP/f$i" "file$i.bin" >/dev/null 2>&1; done
ntfsls -R -f "$TMP/plain.img" >"$TMP/ls.plain" 2>/dev/null
printf 'repair-test-pw' >"$TMP/pw"
if ! "$BDKIT" -q encrypt "$TMP/plain.img" -o "$TMP/enc.img" --password-file "$TMP/pw" --force >/dev/null 2>"$TMP/err"; then
	skip "bdkit-made NTFS: bdkit encrypt unavailable ($(head -1 "$TMP/err"))"; exit 0
fi
[ "$(wc -l <"$TMP/ls.plain")" -ge 4 ] || fail "could not build the plain NTFS test image"
# header destroyed, a data range unreadable: output = plain image except the reported ranges; files listed
dd if=/dev/zero of="$TMP/enc.img" bs=512 count=1 conv=notrunc 2>/dev/null
BDKIT_FAULT_RANGES="20M:8192" "$BDKIT_HOOKS" -q repair "$TMP/enc.img" -o "$TMP/out.img" --password-file "$TMP/pw" --json \
	>"$TMP/rep.json" 2>"$TMP/err"
rc=$?
cp --sparse=always "$TMP/plain.img" "$TMP/ref.img"; truncate -s "$(stat -c %s "$TMP/out.img")" "$TMP/ref.img"
res=$(python3 "$TMP/cmp.py" "$TMP/rep.json" "$TMP/ref.img" "$TMP/out.img" 2>&1)
[ $rc = 0 ] && [ "$res" = "1 8192" ] && pass "bdkit-made NTFS, header zeroed + unreadable range: equals the plain image except the reported range" ||
	fail "bdkit-made NTFS: rc $rc $res $(grep -v warning "$TMP/err" | head -1)"
ntfsls -R -f "$TMP/out.img" >"$TMP/ls.out" 2>/dev/null
cmp -s "$TMP/ls.plain" "$TMP/ls.out" && pass "ntfsls -R lists the same files on the salvaged volume" || fail "ntfsls differs: $(cat "$TMP/ls.out")"
# $MFT's first records unreadable: the report says so, and its advice (copy from $MFTMirr) brings the files back
mft=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(512); print(struct.unpack('<Q',d[0x30:0x38])[0]*struct.unpack('<H',d[11:13])[0]*d[13])" "$TMP/plain.img")
BDKIT_FAULT_RANGES="$mft:4096" "$BDKIT_HOOKS" -q repair "$TMP/enc.img" -o "$TMP/out.img" -f --password-file "$TMP/pw" --json \
	>"$TMP/rep.json" 2>"$TMP/err"
if grep -q '"\$MFT","offset":'"$mft"',"state":"damaged' "$TMP/rep.json" && grep -q '"\$MFTMirr","offset":[0-9]*,"state":"ok"' "$TMP/rep.json"; then
	pass "report: \$MFT damaged, \$MFTMirr intact"
	cmd=$(python3 -c "import json,sys,re; print(re.search(r\"'(dd [^']*)'\", json.load(open(sys.argv[1]))['next']).group(1))" "$TMP/rep.json")
	ntfsls -f "$TMP/out.img" >/dev/null 2>&1 && fail "ntfsls reads a volume whose \$MFT is zeroed?"
	(cd "$TMP" && eval "$cmd" 2>/dev/null)
	ntfsls -R -f "$TMP/out.img" >"$TMP/ls.out" 2>/dev/null
	cmp -s "$TMP/ls.plain" "$TMP/ls.out" && pass "following the report's advice ($cmd) brings the files back" ||
		fail "after the advised dd: $(head -2 "$TMP/ls.out")"
else
	fail "MFT damage report: $(head -c 400 "$TMP/rep.json")"
fi
rm -f "$TMP/enc.img" "$TMP/plain.img" "$TMP/ref.img" "$TMP/out.img" "$TMP/out.img.map"
