#!/bin/sh
# Hostile disk images (issue 9), made at run time by ../shared/security's generators from the real
# Windows volumes (only CRC-protected or unprotected fields are changed, so no key is needed to make
# them). Every case checks the documented exit code, that nothing crashed (exit >= 128; under
# build-asan any memory error aborts), that the source was not written, and where data comes out,
# that it is what an independent reference says (published SHA256SUM, cryptsetup's FVEK dump).
. "$(dirname "$0")/lib.sh"
need_images t_hostile || exit 0
SEC="$SHARED/security"
if [ ! -f "$SEC/make_repros.py" ]; then
	skip "hostile: ../shared/security is absent"
	exit 0
fi
H="$TMP/h"
mkdir -p "$H" "$TMP/mnt"
if ! BITLK_IMAGES="$IMGDIR" python3 "$SEC/make_repros.py" "$H" >"$TMP/gen" 2>&1; then
	fail "hostile: make_repros.py failed: $(tail -2 "$TMP/gen")"
	exit 0
fi
PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
HAVE_NBD=0
command -v nbdkit >/dev/null && command -v nbdcopy >/dev/null && [ -f "$PLUGIN" ] && HAVE_NBD=1
if [ $HAVE_NBD = 1 ] && nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
	LD_PRELOAD_NBD=$(${CC:-cc} -print-file-name=libasan.so)
else
	LD_PRELOAD_NBD=
fi
HAVE_FUSE=0
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null && HAVE_FUSE=1
case $BUILD in *asan*)
	# the FUSE daemon's stderr is /dev/null: its reports go to files
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$TMP/asan" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$TMP/ubsan"
	export ASAN_OPTIONS UBSAN_OPTIONS ;;
esac
cleanup() {
	grep -q " $TMP/mnt " /proc/self/mounts 2>/dev/null && { fusermount3 -u -z "$TMP/mnt" 2>/dev/null || umount -l "$TMP/mnt"; }
	rm -rf "$TMP"
}
trap cleanup EXIT

conf bitlk-aes-cbc-128 RP >"$TMP/rp-cbc"
conf bitlk-aes-xts-128 RP >"$TMP/rp-xts"
conf bitlk-aes-xts-128-eow RP >"$TMP/rp-eow"

# nbd PLUGIN-ARGS... -- RUN: nbdkit on a private socket running RUN; its exit status
nbd() {
	args=""
	while [ "$1" != -- ]; do args="$args $1"; shift; done
	shift
	# shellcheck disable=SC2086
	LD_PRELOAD=$LD_PRELOAD_NBD ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
		nbdkit -U - "$PLUGIN" $args --run "$1"
}

# fp FILE: what must not change when bdkit only reads (size, mtime, and the content of small files)
fp() {
	s=$(stat -c '%s %Y' "$1")
	[ "${s%% *}" -le 209715200 ] && s="$s $(sha256sum <"$1" | cut -c1-64)"
	echo "$s"
}

# expect NAME CODE PATTERN -- bdkit args: exit code, message, no crash
expect() {
	name=$1 code=$2 pat=$3
	shift 4
	"$BDKIT" "$@" --no-prompt </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ge 128 ]; then fail "$name: crashed (exit $rc): $(tail -3 "$TMP/err")"; return 1; fi
	if [ $rc != "$code" ]; then fail "$name: exit $rc, expected $code: $(grep -v warning "$TMP/err" | head -2)"; return 1; fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$TMP/err"; then fail "$name: message lacks '$pat': $(head -3 "$TMP/err")"; return 1; fi
	pass "$name (exit $code)"
}

# the FVEK of bitlk-aes-xts-128 as cryptsetup (an independent implementation) dumps it
FVEK_XTS=
if command -v cryptsetup >/dev/null && printf anaconda | cryptsetup bitlkDump --dump-volume-key \
	--volume-key-file "$TMP/fvek-xts" -q "$IMGDIR/bitlk-aes-xts-128.img" >/dev/null 2>&1; then
	FVEK_XTS="$TMP/fvek-xts"
fi
head -c 32 /dev/urandom >"$TMP/fvek-random"

# ---- finding 1: unaligned reserved ranges (EOW offsets from the unprotected header) ----
# f1: AES-CBC volume marked encrypt-on-write, EOW offset 20 MiB + 100 bytes. The reference is the
# original volume decrypted (checked against its published SHA256SUM): a sector that is non-zero on
# disk must decrypt to the same bytes; an all-zero one (never written) reads as zeros.
f1=$H/f1-cbc-eow-unaligned.img
before=$(fp "$f1")
"$BDKIT" -q decrypt "$IMGDIR/bitlk-aes-cbc-128.img" --recovery-password-file "$TMP/rp-cbc" -o "$TMP/cbc-ref.img" 2>/dev/null
if [ "$(sha256sum <"$TMP/cbc-ref.img" | cut -c1-64)" != "$(conf bitlk-aes-cbc-128 SHA256SUM)" ]; then
	fail "f1: the reference decryption of bitlk-aes-cbc-128 does not match its SHA256SUM"
elif expect "f1 unaligned EOW offset: decrypt" 0 "" -- -q decrypt "$f1" --recovery-password-file "$TMP/rp-cbc" -o "$TMP/f1.out"; then
	res=$(python3 - "$f1" "$TMP/f1.out" "$TMP/cbc-ref.img" <<'EOF'
import sys, struct
raw, out, ref = (open(p, 'rb') for p in sys.argv[1:4])
bs = raw.read(512)
p = bs.find(bytes.fromhex('3b4da89280dd0e4d9e4eb1e3284eaed8'))
eow = struct.unpack_from('<Q', bs, p + 40)[0]
skip = set(range(eow // 512, (eow + 512 + 511) // 512 + 1))        # the EOW information (reserved)
skip |= set(range((24 << 20) - 1436 >> 9, (24 << 20) + 511 >> 9))   # bytes the generator overwrote
raw.seek(0); bad = checked = 0
for i in range(100 << 11):
    r, o, f = raw.read(512), out.read(512), ref.read(512)
    if i in skip or i < 16:
        continue
    if not any(r):
        bad += any(o)
    else:
        checked += 1
        bad += o != f
print(bad, checked)
EOF
)
	case $res in
	"0 "*) pass "f1: every written sector decrypts as in the reference, never-written ones read as zeros ($res)" ;;
	*) fail "f1: sectors differ from the reference: $res" ;;
	esac
fi
if [ $HAVE_NBD = 1 ]; then
	got=$(nbd volume="$f1" recovery-password-file="$TMP/rp-cbc" -- 'nbdcopy "$uri" - | sha256sum' 2>"$TMP/err" | cut -c1-64)
	[ "$got" = "$(sha256sum <"$TMP/f1.out" | cut -c1-64)" ] && pass "f1: the nbdkit plugin reads the same bytes" ||
		fail "f1: nbdkit read '$got': $(tail -2 "$TMP/err")"
fi
if [ $HAVE_FUSE = 1 ] && "$BDKIT" -q mount "$f1" "$TMP/mnt" --recovery-password-file "$TMP/rp-cbc" 2>"$TMP/err"; then
	got=$(sha256sum <"$TMP/mnt/bitlocker-volume" | cut -c1-64)
	"$BDKIT" umount "$TMP/mnt" 2>/dev/null
	[ "$got" = "$(sha256sum <"$TMP/f1.out" | cut -c1-64)" ] && pass "f1: the FUSE daemon reads the same bytes" ||
		fail "f1: FUSE read '$got'"
elif [ $HAVE_FUSE = 1 ]; then
	fail "f1: mount failed: $(head -2 "$TMP/err")"
fi
[ "$(fp "$f1")" = "$before" ] && pass "f1: source untouched" || fail "f1: the source changed"
rm -f "$TMP/f1.out" "$TMP/cbc-ref.img"

# ---- finding 2: a bitmap claiming 0xFFFFFFFF bits ----
f2=$H/f2-eow-nbits.img
before=$(fp "$f2")
expect "f2 (1 TiB, 2^32-1 bitmap bits, metadata edited): refused unverified" 5 "integrity" -- \
	info "$f2" --recovery-password-file "$TMP/rp-eow"
expect "f2 read with --ignore-integrity" 0 "" -- info "$f2" --recovery-password-file "$TMP/rp-eow" --ignore-integrity
# the same bitmap on a 100 MiB copy whose metadata is intact: the whole view is read
if PYTHONPATH=$SEC BITLK_IMAGES="$IMGDIR" python3 -c "from mkeow import mk; mk('$H/f2s.img', 0xFFFFFFFF, 512)" 2>"$TMP/err"; then
	expect "f2 (100 MiB, 2^32-1 bitmap bits): whole decrypt" 0 "" -- -q decrypt "$H/f2s.img" \
		--recovery-password-file "$TMP/rp-eow" -o "$TMP/f2.out" &&
	{ [ "$(stat -c %s "$TMP/f2.out")" = "$(stat -c %s "$H/f2s.img")" ] && pass "f2: output has the volume's size" ||
		fail "f2: output size $(stat -c %s "$TMP/f2.out")"; }
	rm -f "$TMP/f2.out"
else
	fail "f2: mkeow.py failed: $(tail -1 "$TMP/err")"
fi
[ "$(fp "$f2")" = "$before" ] && pass "f2: source untouched" || fail "f2: the source changed"

# ---- finding 3: forged metadata (CRC32 fixed, VMK-keyed SHA-256 no longer matches) ----
f6=$H/f6-inject.img
before=$(fp "$f6")
expect "f6 forged state and watermark: decrypt refused" 5 "copy 1: bad SHA-256, copy 2: bad SHA-256, copy 3: bad SHA-256" -- \
	-q decrypt "$f6" --recovery-password-file "$TMP/rp-xts" -o "$TMP/f6.out"
[ -e "$TMP/f6.out" ] && fail "f6: an output file was created" || pass "f6: no output written"
expect "f6: info with a secret refused" 5 "ignore-integrity" -- info --json "$f6" --recovery-password-file "$TMP/rp-xts"
expect "f6: --ignore-integrity salvages (and says so)" 0 "unverified" -- \
	decrypt "$f6" --recovery-password-file "$TMP/rp-xts" --ignore-integrity --test
if [ -n "$FVEK_XTS" ]; then
	expect "f6: raw FVEK cannot verify a partly-plain claim: refused" 5 "cannot be verified" -- \
		-q decrypt "$f6" --fvek-file "$FVEK_XTS" -o "$TMP/f6.out"
else
	skip "f6: cryptsetup cannot dump the FVEK"
fi
if [ $HAVE_NBD = 1 ]; then
	nbd volume="$f6" recovery-password-file="$TMP/rp-xts" -- true >/dev/null 2>"$TMP/err" &&
		fail "f6: nbdkit served forged metadata" || { grep -q "integrity" "$TMP/err" &&
		pass "f6: nbdkit does not start (says why)" || fail "f6: nbdkit: $(tail -1 "$TMP/err")"; }
	nbd volume="$f6" recovery-password-file="$TMP/rp-xts" ignore-integrity=true -- 'nbdinfo --size "$uri"' \
		>"$TMP/out" 2>/dev/null && pass "f6: nbdkit ignore-integrity=true serves it" || fail "f6: ignore-integrity=true"
fi
if [ $HAVE_FUSE = 1 ]; then
	expect "f6: mount refused" 5 "integrity" -- mount "$f6" "$TMP/mnt" --recovery-password-file "$TMP/rp-xts"
	grep -q " $TMP/mnt " /proc/self/mounts && { fail "f6: something is mounted"; "$BDKIT" umount "$TMP/mnt"; }
fi
expect "f6: repair salvages, the report says it is unverified" 0 "" -- -q repair "$f6" -o "$TMP/f6.rep" \
	--recovery-password-file "$TMP/rp-xts" --json
grep -q '"integrity_verified":false' "$TMP/out" && pass "f6: repair report: integrity not verified" ||
	fail "f6: repair report lacks integrity_verified:false"
rm -f "$TMP/f6.rep" "$TMP/f6.rep.map"
[ "$(fp "$f6")" = "$before" ] && pass "f6: source untouched" || fail "f6: the source changed"

# writes through a view whose reserved range is unaligned (copy 2 moved by 100 bytes, trusted with
# --ignore-integrity): a whole-volume write of a marker must never reach the disk in the clear
if [ $HAVE_NBD = 1 ]; then
	cp --sparse=always "$IMGDIR/bitlk-aes-xts-128.img" "$H/moved.img"
	PYTHONPATH=$SEC python3 -c "
from bdlib import *
import struct
def fn(b): struct.pack_into('<Q', b, 0x28, struct.unpack_from('<Q', b, 0x28)[0] + 100)
mod_all_copies('$H/moved.img', fn)"
	python3 -c "import sys; sys.stdout.buffer.write((b'PLAINTEXT-MARKER' * 32) * (100 << 11))" >"$TMP/marker.bin"
	if nbd volume="$H/moved.img" recovery-password-file="$TMP/rp-xts" rw=true ignore-integrity=true -- \
		'nbdcopy '"$TMP/marker.bin"' "$uri"' >/dev/null 2>"$TMP/err"; then
		n=$(grep -a -c PLAINTEXT-MARKER "$H/moved.img")
		[ "$n" = 0 ] && pass "unaligned reserved range: nothing written in the clear" ||
			fail "unaligned reserved range: $n raw lines hold the plain-text marker"
	else
		fail "unaligned reserved range: nbdkit write failed: $(tail -2 "$TMP/err")"
	fi
	rm -f "$H/moved.img" "$TMP/marker.bin"
fi

# ---- finding 4: resources bounded by the input ----
f8=$H/f8-bigwatermark.img
start=$(date +%s)
expect "f8 watermark 2 TiB: repair" 0 "" -- -q repair "$f8" -o "$TMP/f8.out" --recovery-password-file "$TMP/rp-xts"
t=$(( $(date +%s) - start ))
sz=$(stat -c %s "$TMP/f8.out" 2>/dev/null)
[ "$sz" = 104857600 ] && [ $t -lt 60 ] && pass "f8: output is the 100 MiB the input holds (${t} s), not 2 TiB" ||
	fail "f8: output size $sz after $t s"
rm -f "$TMP/f8.out" "$TMP/f8.out.map"
# a key package that claims the volume is 2^59 bytes
if "$BDKIT" -q keypackage export "$IMGDIR/bitlk-aes-xts-128.img" -o "$TMP/kp" --recovery-password-file "$TMP/rp-xts" 2>"$TMP/err"; then
	python3 - "$TMP/kp" <<'EOF'
import sys, struct, zlib
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
pos = 32
while pos + 8 <= len(b):
    t, _, n = struct.unpack_from('<HHI', b, pos)
    if t == 1:
        struct.pack_into('<Q', b, pos + 8 + 16, 1 << 59)
    if t == 0:
        break
    pos += 8 + n + (8 - n % 8) % 8
struct.pack_into('<I', b, 16, 0)
struct.pack_into('<I', b, 16, zlib.crc32(bytes(b)) & 0xffffffff)
open(p, 'wb').write(b)
EOF
	expect "key package claiming 2^59 bytes: repair" 0 "" -- -q repair "$IMGDIR/bitlk-aes-xts-128.img" -o "$TMP/kp.out" \
		--key-package "$TMP/kp" --recovery-password-file "$TMP/rp-xts"
	sz=$(stat -c %s "$TMP/kp.out" 2>/dev/null)
	[ "$sz" = 104857600 ] && pass "key package size claim: output is the volume's 100 MiB" || fail "key package size claim: output $sz bytes"
	rm -f "$TMP/kp.out" "$TMP/kp.out.map"
else
	fail "keypackage export failed: $(head -1 "$TMP/err")"
fi
# 1 MiB of decoy metadata blocks (2047 volumes): one scan, O(n log n) votes, a bounded number tried
python3 "$SEC/mkscan.py" "$H/scan.img" 2048
start=$(date +%s)
timeout 300 "$BDKIT" repair "$H/scan.img" -o "$TMP/scan.out" --password-file "$TMP/rp-xts" --no-prompt </dev/null \
	>/dev/null 2>"$TMP/err"
rc=$? t=$(( $(date +%s) - start ))
[ $rc -lt 124 ] && [ $rc != 0 ] && [ $t -lt 60 ] && pass "mkscan 1 MiB of decoys: repair gives up in $t s (exit $rc)" ||
	fail "mkscan 1 MiB: exit $rc after $t s"
echo "INFO: repair over 1 MiB of decoy metadata blocks: $t s"
rm -f "$TMP/scan.out" "$TMP/scan.out.map"

# ---- finding 5: a raw FVEK on a volume without relocated boot sectors ----
f10=$H/f10-novirt.img
before=$(fp "$f10")
expect "f10 random FVEK: cannot be checked, refused" 5 "cannot be checked" -- \
	-q decrypt "$f10" --fvek-file "$TMP/fvek-random" -o "$TMP/f10.out"
[ -e "$TMP/f10.out" ] && fail "f10: an output file was created" || pass "f10: nothing written"
expect "f10 random FVEK with --ignore-integrity: goes on, says so" 0 "cannot be checked" -- \
	decrypt "$f10" --fvek-file "$TMP/fvek-random" --ignore-integrity --test
if [ -n "$FVEK_XTS" ]; then
	expect "f10 cryptsetup's FVEK: confirmed on the boot sector the header still names" 0 "" -- \
		-q decrypt "$f10" --fvek-file "$FVEK_XTS" --test
	expect "a random FVEK on the intact volume: wrong key" 4 "wrong key" -- \
		-q decrypt "$IMGDIR/bitlk-aes-xts-128.img" --fvek-file "$TMP/fvek-random" --test
fi
[ "$(fp "$f10")" = "$before" ] && pass "f10: source untouched" || fail "f10: the source changed"

# ---- finding 6: output files: never through a symlink, never into a file someone else made ----
SRC="$IMGDIR/bitlk-aes-xts-128.img"
printf 'victim' >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/link.img"
expect "decrypt -o SYMLINK: refused (exists)" 11 "force" -- -q decrypt "$SRC" --recovery-password-file "$TMP/rp-xts" -o "$TMP/link.img"
expect "decrypt -o SYMLINK -f: replaced" 0 "" -- -q decrypt "$SRC" --recovery-password-file "$TMP/rp-xts" -o "$TMP/link.img" -f
[ "$(cat "$TMP/victim")" = victim ] && [ ! -L "$TMP/link.img" ] && [ "$(stat -c %a "$TMP/link.img")" = 600 ] &&
	[ "$(sha256sum <"$TMP/link.img" | cut -c1-64)" = "$(conf bitlk-aes-xts-128 SHA256SUM)" ] &&
	pass "decrypt -f: the symlink is replaced by a new file (0600, published sha256); its target untouched" ||
	fail "decrypt -f through a symlink: victim '$(cat "$TMP/victim")', mode $(stat -c %a "$TMP/link.img")"
rm -f "$TMP/link.img"
# a file another user made, open to everyone: never written into (a hard link keeps the old inode visible)
: >"$TMP/theirs.img"
chmod 666 "$TMP/theirs.img"
[ "$(id -u)" = 0 ] && chown 65534:65534 "$TMP/theirs.img"
ln "$TMP/theirs.img" "$TMP/theirs.old"
expect "decrypt -o a file someone else made: refused" 11 "exists" -- -q decrypt "$SRC" --recovery-password-file "$TMP/rp-xts" -o "$TMP/theirs.img"
expect "decrypt -f over it: replaced, not written into" 0 "" -- -q decrypt "$SRC" --recovery-password-file "$TMP/rp-xts" -o "$TMP/theirs.img" -f
[ ! -s "$TMP/theirs.old" ] && [ "$(stat -c '%a %u' "$TMP/theirs.img")" = "600 $(id -u)" ] &&
	pass "decrypt -f: the other user's file stays empty; the output is a new file of ours, mode 0600" ||
	fail "decrypt -f: old inode $(stat -c %s "$TMP/theirs.old") bytes, new $(stat -c '%a %u' "$TMP/theirs.img")"
rm -f "$TMP/theirs.img" "$TMP/theirs.old"
# repair: the output and its map
ln -s "$TMP/victim" "$TMP/rep.img"
expect "repair -o SYMLINK: refused" 11 "force" -- -q repair "$SRC" -o "$TMP/rep.img" --recovery-password-file "$TMP/rp-xts"
rm -f "$TMP/rep.img"
ln -s "$TMP/victim" "$TMP/rep.img.map"
ln -s "$TMP/victim" "$TMP/rep.img.map.tmp"
expect "repair with a symlink where its map goes" 0 "" -- -q repair "$SRC" -o "$TMP/rep.img" --recovery-password-file "$TMP/rp-xts"
[ "$(cat "$TMP/victim")" = victim ] && [ ! -L "$TMP/rep.img.map" ] && [ "$(stat -c %a "$TMP/rep.img")" = 600 ] &&
	[ "$(stat -c %a "$TMP/rep.img.map")" = 600 ] && pass "repair: output and map are new files (0600); symlinks never followed" ||
	fail "repair: victim '$(cat "$TMP/victim")', map $(ls -l "$TMP/rep.img.map")"
rm -f "$TMP/rep.img" "$TMP/rep.img.map" "$TMP/rep.img.map.tmp"
ln -s "$TMP/victim" "$TMP/kp.link"
expect "keypackage export -o SYMLINK: refused" 11 "force" -- -q keypackage export "$SRC" -o "$TMP/kp.link" --recovery-password-file "$TMP/rp-xts"
[ "$(cat "$TMP/victim")" = victim ] && pass "keypackage export: the symlink's target untouched" || fail "keypackage export wrote through a symlink"
rm -f "$TMP/kp.link"

# ---- finding 7: secrets in argv and core dumps ----
if [ -n "$FVEK_XTS" ]; then
	hex=$(od -An -tx1 -v "$FVEK_XTS" | tr -d ' \n')
	( "$BDKIT" -q decrypt "$SRC" --fvek "$hex" -o - 2>/dev/null & echo $! >"$TMP/pid"; wait ) |
		{ sleep 2; pid=$(cat "$TMP/pid"); tr '\0' ' ' </proc/"$pid"/cmdline >"$TMP/cmdline" 2>/dev/null;
		  grep 'core file size' /proc/"$pid"/limits >"$TMP/limits" 2>/dev/null; cat >/dev/null; }
	if [ -s "$TMP/cmdline" ] && ! grep -q "$hex" "$TMP/cmdline" && grep -q -- '--fvek' "$TMP/cmdline"; then
		pass "decrypt --fvek HEX: the key is gone from /proc/PID/cmdline while it runs"
	else
		fail "decrypt --fvek HEX: cmdline '$(cat "$TMP/cmdline")'"
	fi
	grep -q 'core file size *0 *0' "$TMP/limits" && pass "decrypt: no core dumps (RLIMIT_CORE 0) while it holds keys" ||
		fail "decrypt: core limit: $(cat "$TMP/limits")"
	if [ $HAVE_FUSE = 1 ] && "$BDKIT" -q mount "$SRC" "$TMP/mnt" --fvek "$hex" 2>/dev/null; then
		pid=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.bdkit.pid").decode())' "$TMP/mnt")
		tr '\0' ' ' </proc/"$pid"/cmdline >"$TMP/cmdline"
		! grep -q "$hex" "$TMP/cmdline" && grep -q 'core file size *0 *0' /proc/"$pid"/limits &&
			pass "mount --fvek HEX: the daemon's command line no longer holds the key; no core dumps" ||
			fail "mount --fvek HEX: daemon cmdline '$(cat "$TMP/cmdline")'"
		"$BDKIT" umount "$TMP/mnt"
	fi
	expect "--fvek-file" 0 "" -- -q decrypt "$SRC" --fvek-file "$FVEK_XTS" --test
	expect "--fvek HEX warns that the key is visible" 0 "visible to other users" -- decrypt "$SRC" --fvek "$hex" --test
fi
printf '%s' "$(conf bitlk-aes-xts-128 RP | sed 's/^[0-9]*-/123456-/')" >"$TMP/badrp"
expect "a mistyped recovery-password block" 10 "block 1 is not divisible" -- info "$SRC" --recovery-password-file "$TMP/badrp"
grep -q 123456 "$TMP/err" && fail "the mistyped block's digits reached the error message" ||
	pass "the mistyped block's digits are not echoed"

# ---- finding 9: metadata restore checks what it writes, and where ----
head -c $((2 << 20)) /dev/zero >"$TMP/plain.bin"
python3 "$SEC/mkkp.py" "$TMP/evil.bdkp" 1048576
before=$(fp "$TMP/plain.bin")
expect "restore a crafted backup onto a non-BitLocker file: refused" 11 "" -- -q metadata restore "$TMP/plain.bin" "$TMP/evil.bdkp"
[ "$(fp "$TMP/plain.bin")" = "$before" ] && pass "restore: the non-BitLocker file was not written" || fail "restore wrote into a plain file"
cp --sparse=always "$IMGDIR/bitlk-aes-xts-128.img" "$H/A.img"
cp --sparse=always "$IMGDIR/bitlk-aes-cbc-128.img" "$H/B.img"
"$BDKIT" -q metadata backup "$H/A.img" -o "$TMP/A.bdkp" 2>/dev/null
before=$(fp "$H/B.img")
expect "A's backup onto volume B: refused, both volumes named" 11 "$(conf bitlk-aes-cbc-128 GUID)" -- \
	-q metadata restore "$H/B.img" "$TMP/A.bdkp"
[ "$(fp "$H/B.img")" = "$before" ] && pass "restore: volume B untouched" || fail "restore wrote A's metadata onto B"
printf anaconda >"$TMP/pw-a"
# a backup whose area was moved (CRC fixed): inconsistent, refused even with --force
python3 - "$TMP/A.bdkp" "$TMP/A-moved.bdkp" <<'PY'
import sys, struct, zlib
b = bytearray(open(sys.argv[1], 'rb').read()); pos = 32
while pos + 8 <= len(b):
    t, _, n = struct.unpack_from('<HHI', b, pos)
    if t == 5 and struct.unpack_from('<I', b, pos + 8)[0] == 1:
        struct.pack_into('<Q', b, pos + 16, struct.unpack_from('<Q', b, pos + 16)[0] + 4096)
    if t == 0: break
    pos += 8 + n + (8 - n % 8) % 8
struct.pack_into('<I', b, 16, 0); struct.pack_into('<I', b, 16, zlib.crc32(bytes(b)) & 0xffffffff)
open(sys.argv[2], 'wb').write(b)
PY
before=$(fp "$H/A.img")
expect "a backup with a moved area: refused even with --force" 5 "inconsistent" -- -q metadata restore "$H/A.img" "$TMP/A-moved.bdkp" -f
[ "$(fp "$H/A.img")" = "$before" ] && pass "restore: nothing written from an inconsistent backup" || fail "restore wrote an inconsistent backup"
# the right backup on its own damaged volume still works
dd if=/dev/zero of="$H/A.img" bs=512 count=1 conv=notrunc 2>/dev/null
expect "A's backup onto A with its header zeroed" 0 "" -- -q metadata restore "$H/A.img" "$TMP/A.bdkp"
cmp -s "$H/A.img" "$IMGDIR/bitlk-aes-xts-128.img" && pass "restore: A is back byte for byte" || fail "restore: A differs"

# ---- finding 10: no metadata change while bdkit serves the volume ----
if [ $HAVE_NBD = 1 ]; then
	for cmd in "protector add recovery-password" "suspend" "metadata repair" "metadata restore"; do
		case $cmd in
		"metadata restore") args="$H/A.img $TMP/A.bdkp" ;;
		*) args="$H/A.img --recovery-password-file $TMP/rp-xts" ;;
		esac
		before=$(fp "$H/A.img")
		nbd volume="$H/A.img" recovery-password-file="$TMP/rp-xts" rw=true -- \
			"'$BDKIT' -q $cmd $args --backup '$TMP/lock.bdkp' --no-prompt </dev/null >/dev/null 2>'$TMP/err'; echo \$? >'$TMP/rc'" \
			>/dev/null 2>&1
		rc=$(cat "$TMP/rc" 2>/dev/null)
		[ "$rc" = 11 ] && grep -q "in use" "$TMP/err" && [ "$(fp "$H/A.img")" = "$before" ] &&
			pass "$cmd while nbdkit exports the volume read-write: refused (exit 11), nothing written" ||
			fail "$cmd under a read-write export: exit $rc: $(head -2 "$TMP/err")"
		rm -f "$TMP/lock.bdkp"
	done
	nbd volume="$H/A.img" recovery-password-file="$TMP/rp-xts" -- \
		"'$BDKIT' -q suspend '$H/A.img' --recovery-password-file '$TMP/rp-xts' --no-prompt </dev/null >/dev/null 2>'$TMP/err'; echo \$? >'$TMP/rc'" \
		>/dev/null 2>&1
	[ "$(cat "$TMP/rc")" = 11 ] && pass "suspend while a read-only export reads the volume: refused (exit 11)" ||
		fail "suspend under a read-only export: exit $(cat "$TMP/rc")"
fi

# ---- finding 11: a rotated recovery password is shown and saved before the first write ----
cp --sparse=always "$IMGDIR/bitlk-aes-xts-128.img" "$H/R.img"
mkdir -p "$TMP/keys"
BDKIT_FAIL_WRITES_AFTER=0 "$BDKIT_HOOKS" -q protector rotate "$H/R.img" --recovery-password-file "$TMP/rp-xts" \
	--recovery-key-file "$TMP/keys" --backup "$TMP/r.bdkp" >"$TMP/out" 2>"$TMP/err"
rc=$?
new=$(sed -n 's/^Recovery password: *//p' "$TMP/out")
txt=$(ls "$TMP/keys"/*.TXT 2>/dev/null | head -1)
if [ $rc != 0 ] && [ $rc -lt 128 ] && [ -n "$new" ] && [ -n "$txt" ] && [ "$(stat -c %a "$txt")" = 600 ] &&
   iconv -f UTF-16 -t UTF-8 "$txt" 2>/dev/null | grep -q "$new"; then
	pass "rotate stopped at its first write (exit $rc): the new password was already shown and saved (0600)"
else
	fail "rotate: exit $rc, shown '$new', saved '$txt': $(head -2 "$TMP/err")"
fi
expect "after the stopped rotate the old recovery password still opens" 0 "" -- -q info "$H/R.img" --recovery-password-file "$TMP/rp-xts"

# ---- finding 13: smaller ones ----
# terminal escape sequences in the description (CRC fixed) are not printed raw
cp --sparse=always "$IMGDIR/bitlk-aes-xts-128.img" "$H/esc.img"
PYTHONPATH=$SEC python3 -c "
from bdlib import *
def fn(b):
    i = b.find('DESKTOP'.encode('utf-16-le'))
    b[i:i + 8] = '\x1b[2J'.encode('utf-16-le')
mod_all_copies('$H/esc.img', fn)"
"$BDKIT" info "$H/esc.img" >"$TMP/out" 2>&1
if grep -q "$(printf '\033')" "$TMP/out"; then fail "an escape sequence from the description reached the terminal"
elif grep -q 'Description: *?\[2J' "$TMP/out"; then pass "description: the escape character is shown as '?'"
else fail "description: $(grep Description "$TMP/out")"; fi
"$BDKIT" info --json "$H/esc.img" 2>/dev/null | grep -qF '"description": "\u001b[2J' &&
	pass "description in JSON: escaped as \\u001b" || fail "description in JSON not escaped"
expect "--offset beyond 2^64: a usage error, not a wrapped number" 2 "byte count" -- info "$SRC" --offset 99999999999T
head -c $((10 << 20)) /dev/zero | tr '\0' 'x' >"$TMP/big.pw"
expect "a 10 MB password file: malformed secret" 10 "larger than" -- info "$SRC" --password-file "$TMP/big.pw"
rm -f "$TMP/big.pw"
