#!/bin/sh
# nbdkit-bdkit-plugin, judged against independent references: whole-volume reads through
# nbdcopy against the published SHA256SUM; unaligned writes (through nbdkit's offset filter)
# against the same writes applied to a dislocker-made plain reference, read back by dislocker.
. "$(dirname "$0")/lib.sh"

PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
if ! command -v nbdkit >/dev/null || ! command -v nbdcopy >/dev/null; then
	skip "nbd: nbdkit or nbdcopy (libnbd-bin) is missing"
	exit 0
fi
if [ ! -f "$PLUGIN" ]; then
	skip "nbd: $PLUGIN not built (nbdkit-plugin-dev missing?)"
	exit 0
fi
need_images nbd || exit 0
# An ASan-instrumented plugin needs the ASan runtime loaded first into (uninstrumented) nbdkit.
if nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
	LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
	ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
	export LD_PRELOAD ASAN_OPTIONS
fi

secret() {
	conf "$1" RP > "$TMP/$1.rp"
	echo "$TMP/$1.rp"
}

# ---- 1. reads: nbdcopy of the whole export matches the published checksum ----
for img in bitlk-aes-xts-128 bitlk-aes-cbc-128 bitlk-aes-xts-256 bitlk-aes-cbc-elephant-128 bitlk-aes-cbc-128-4k; do
	want=$(conf $img SHA256SUM)
	rp=$(secret $img)
	got=$(nbdkit -U - "$PLUGIN" volume="$IMGDIR/$img.img" recovery-password-file="$rp" \
		--run 'nbdcopy "$uri" - | sha256sum' 2>"$TMP/err" | cut -d' ' -f1)
	if [ "$got" = "$want" ]; then
		pass "nbd $img: nbdcopy of the export matches SHA256SUM"
	else
		fail "nbd $img: sha256 '$got', images.conf says $want ($(head -c 300 "$TMP/err"))"
	fi
done

# other secret kinds: password= from a file via nbdkit's +FILE syntax; bek=
img=bitlk-aes-xts-128
printf '%s\n' "$(conf $img PW)" > "$TMP/pw"
got=$(nbdkit -U - "$PLUGIN" "$IMGDIR/$img.img" password=+"$TMP/pw" \
	--run 'nbdcopy "$uri" - | sha256sum' 2>/dev/null | cut -d' ' -f1)
[ "$got" = "$(conf $img SHA256SUM)" ] && pass "nbd: password=+FILE unlocks" || fail "nbd: password=+FILE: got '$got'"
bek=$(ls "$IMGDIR"/*.BEK 2>/dev/null | head -1)
[ -n "$bek" ] && for img in bitlk-aes-xts-128-startup-key bitlk-aes-xts-128-startup-key-win11; do
	for b in "$IMGDIR"/*.BEK; do
		got=$(nbdkit -U - "$PLUGIN" "$IMGDIR/$img.img" bek="$b" \
			--run 'nbdcopy "$uri" - | sha256sum' 2>/dev/null | cut -d' ' -f1)
		[ "$got" = "$(conf $img SHA256SUM)" ] && break
	done
	[ "$got" = "$(conf $img SHA256SUM)" ] && pass "nbd $img: bek= unlocks" || fail "nbd $img: bek= failed"
done
[ -n "$bek" ] || skip "nbd: no .BEK files"

# a wrong secret: nbdkit does not start and says why
printf '%s\n' 111111-111111-111111-111111-111111-111111-111111-111111 > "$TMP/bad"
if nbdkit -U - "$PLUGIN" "$IMGDIR/bitlk-aes-xts-128.img" recovery-password-file="$TMP/bad" --run true 2>"$TMP/err"; then
	fail "nbd: a wrong recovery password was accepted"
elif grep -q "unlock failed" "$TMP/err"; then
	pass "nbd: wrong recovery password: nbdkit refuses to start with a message"
else
	fail "nbd: wrong recovery password: unexpected message: $(cat "$TMP/err")"
fi

# ---- 2. read-only by default ----
img=bitlk-aes-xts-128
rp=$(secret $img)
cp --sparse=always "$IMGDIR/$img.img" "$TMP/w.img"
head -c 65536 /dev/urandom > "$TMP/chunk"
if nbdkit -U - "$PLUGIN" "$TMP/w.img" recovery-password-file="$rp" \
	--run "nbdcopy '$TMP/chunk' \"\$uri\"" >/dev/null 2>&1; then
	fail "nbd: writing to a default (read-only) export succeeded"
elif cmp -s "$TMP/w.img" "$IMGDIR/$img.img"; then
	pass "nbd: the export is read-only unless rw=true"
else
	fail "nbd: a read-only export changed the volume"
fi

# ---- 3. rw=true is refused for encrypt-on-write / partially converted volumes ----
for img in bitlk-aes-xts-128-eow bitlk-partially-encrypted-aes-cbc-128; do
	rp=$(secret $img)
	if nbdkit -U - "$PLUGIN" "$IMGDIR/$img.img" recovery-password-file="$rp" rw=true --run true 2>"$TMP/err"; then
		fail "nbd $img: rw=true accepted"
	elif grep -q "cannot export read-write" "$TMP/err"; then
		pass "nbd $img: rw=true refused with a message"
	else
		fail "nbd $img: rw=true: unexpected message: $(cat "$TMP/err")"
	fi
	n=$(nbdkit -U - "$PLUGIN" "$IMGDIR/$img.img" recovery-password-file="$rp" \
		--run 'nbdcopy "$uri" - | wc -c' 2>/dev/null)
	[ "$n" = 104857600 ] && pass "nbd $img: still readable read-only" || fail "nbd $img: read gave '$n' bytes"
done

# ---- 3b. one writer per volume: a read-write bdkit mount and an export exclude each other ----
if [ -c /dev/fuse ] && [ -x "$BDKIT" ] && command -v fusermount3 >/dev/null; then
	img=bitlk-aes-xts-128
	rp=$(secret $img)
	mkdir -p "$TMP/mnt"
	if "$BDKIT" mount --rw --recovery-password-file "$rp" "$TMP/w.img" "$TMP/mnt" >/dev/null 2>&1; then
		if nbdkit -U - "$PLUGIN" "$TMP/w.img" recovery-password-file="$rp" --run true 2>"$TMP/err"; then
			fail "nbd: exported a volume that bdkit mount has open read-write"
		elif grep -q "in use read-write" "$TMP/err"; then
			pass "nbd: refuses a volume mounted read-write by bdkit"
		else
			fail "nbd: lock message: $(cat "$TMP/err")"
		fi
		"$BDKIT" umount "$TMP/mnt"
	else
		fail "nbd: bdkit mount --rw failed"
	fi
	if nbdkit -U - "$PLUGIN" "$TMP/w.img" recovery-password-file="$rp" rw=true \
		--run "'$BDKIT' mount --recovery-password-file '$rp' '$TMP/w.img' '$TMP/mnt'" >/dev/null 2>"$TMP/err"; then
		fail "nbd: bdkit mount succeeded while the volume is exported read-write"
		"$BDKIT" umount "$TMP/mnt"
	elif grep -q "in use read-write" "$TMP/err"; then
		pass "nbd: bdkit mount refuses a volume exported read-write"
	else
		fail "nbd: mount lock message: $(cat "$TMP/err")"
	fi
fi

# ---- 4. unaligned writes with rw=true, checked by dislocker against a reference ----
if ! command -v dislocker-file >/dev/null; then
	skip "nbd rw: dislocker-file missing"
	exit 0
fi
for img in bitlk-aes-xts-128 bitlk-aes-cbc-128-4k; do
	rp=$(secret $img)
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/w.img"
	rm -f "$TMP/ref.img"
	dislocker-file -r -V "$TMP/w.img" -p"$(cat "$rp")" -- "$TMP/ref.img" >/dev/null 2>&1 ||
		{ fail "nbd rw $img: dislocker-file failed"; continue; }
	ok=1
	# (offset, length) pairs in the data area below the first metadata copy (33.5 MiB)
	for w in "0 3000" "511 1" "1048575 70001" "5000000 4096" "7340032 1048576" "12345677 131073" \
		 "20000001 200000" "33000000 77777"; do
		set -- $w
		head -c "$2" /dev/urandom > "$TMP/chunk"
		dd if="$TMP/chunk" of="$TMP/ref.img" bs=65536 oflag=seek_bytes seek="$1" conv=notrunc status=none
		nbdkit -U - --filter=offset "$PLUGIN" "$TMP/w.img" recovery-password-file="$rp" rw=true \
			offset="$1" range="$2" --run "nbdcopy '$TMP/chunk' \"\$uri\"" 2>"$TMP/err" ||
			{ ok=0; echo "write $w: $(cat "$TMP/err")"; }
	done
	rm -f "$TMP/dec.img"
	if [ $ok = 0 ]; then
		fail "nbd rw $img: a write failed"
	elif ! dislocker-file -r -V "$TMP/w.img" -p"$(cat "$rp")" -- "$TMP/dec.img" >/dev/null 2>&1; then
		fail "nbd rw $img: dislocker-file cannot decrypt after the writes"
	elif d=$(cmp "$TMP/dec.img" "$TMP/ref.img" 2>&1); then
		pass "nbd rw $img: 8 unaligned writes read back by dislocker equal the reference"
	else
		fail "nbd rw $img: first difference: $d"
	fi
	if cmp -s -n 512 "$TMP/w.img" "$IMGDIR/$img.img"; then
		pass "nbd rw $img: the raw volume header stayed (sector 0 writes go to the relocated area)"
	else
		fail "nbd rw $img: the raw volume header changed"
	fi
done
exit 0
