#!/bin/sh
# Every real Windows volume in ../shared/testdata/bitlk: unlock with each listed secret and compare the
# decrypted volume's sha256 with images.conf (published, reader-independent); the -crc image must report
# copies 1 and 2 damaged; the images without a checksum are checked with ntfs-3g and their NTFS serial.
. "$(dirname "$0")/lib.sh"
need_images t_images || exit 0
cd "$IMGDIR" || exit 1

# sha IMAGE ARGS...: sha256 of the decrypted volume (empty on failure; stderr kept in $TMP/err)
sha() {
	img=$1; shift
	{ "$BDKIT" -q decrypt "$img.img" -o - --no-prompt "$@" 2>"$TMP/err" </dev/null; echo $? >"$TMP/rc"; } |
		sha256sum | cut -c1-64 >"$TMP/sum"
	if [ "$(cat "$TMP/rc")" != 0 ]; then echo "exit $(cat "$TMP/rc"): $(grep -v warning "$TMP/err" | head -c 300)"; return; fi
	cat "$TMP/sum"
}

check() { # NAME EXPECTED GOT
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected sha256 $2, got $3"; fi
}

has_cryptsetup=0
command -v cryptsetup >/dev/null 2>&1 && has_cryptsetup=1

for img in $(images); do
	sum=$(conf "$img" SHA256SUM)
	pw=$(conf "$img" PW)
	rp=$(conf "$img" RP)
	rp2=$(conf "$img" RP2)
	sk=$(conf "$img" SK_VMK_GUID)
	if [ -z "$sum" ]; then
		# no published checksum: decrypt to a sparse file and check it as NTFS
		printf %s "$pw" >"$TMP/pw"
		if ! "$BDKIT" -q decrypt "$img.img" -o "$TMP/out.img" --password-file "$TMP/pw" --no-prompt 2>"$TMP/err"; then
			fail "$img: decrypt with password: $(cat "$TMP/err")"
			continue
		fi
		if [ "$(dd if="$TMP/out.img" bs=1 skip=3 count=8 2>/dev/null)" = "NTFS    " ]; then
			pass "$img: boot sector decrypts to NTFS"
		else
			fail "$img: decrypted sector 0 is not an NTFS boot sector"
		fi
		uuid=$(conf "$img" UUID)
		if [ -n "$uuid" ]; then
			got=$(od -An -tx1 -j72 -N8 "$TMP/out.img" | tr -d ' \n' |
			      sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\8\7\6\5\4\3\2\1/' | tr a-f A-F)
			[ "$got" = "$uuid" ] && pass "$img: NTFS serial $uuid" || fail "$img: NTFS serial $got, expected $uuid"
		fi
		# same bytes through the recovery password
		printf %s "$rp" >"$TMP/rp"
		a=$(sha256sum <"$TMP/out.img" | cut -c1-64)
		b=$(sha "$img" --recovery-password-file "$TMP/rp")
		check "$img: recovery password gives the same volume" "$a" "$b"
		if command -v ntfsls >/dev/null 2>&1; then
			if ntfsls -R -f "$TMP/out.img" >"$TMP/ls" 2>&1; then
				pass "$img: ntfsls -R reads the decrypted NTFS"
			elif grep -q 'Record 0 has no FILE magic' "$TMP/ls" &&
			     [ "$(tr -d '\0' <"$img.img" | wc -c)" -lt 65536 ]; then
				skip "$img: ntfsls: the image holds under 64 KiB of data (stripped by cryptsetup, no \$MFT); dislocker and libbde cannot open it either"
			else
				fail "$img: ntfsls -R failed: $(head -3 "$TMP/ls")"
			fi
		fi
		rm -f "$TMP/out.img"
		continue
	fi
	if [ -n "$pw" ]; then
		printf %s "$pw" >"$TMP/pw"
		check "$img: password" "$sum" "$(sha "$img" --password-file "$TMP/pw")"
	fi
	for r in "$rp" "$rp2"; do
		[ -n "$r" ] || continue
		printf '%s\n' "$r" >"$TMP/rp"
		check "$img: recovery password $r" "$sum" "$(sha "$img" --recovery-password-file "$TMP/rp")"
	done
	if [ -n "$rp" ]; then
		# without dashes
		printf %s "$rp" | tr -d - >"$TMP/rp"
		check "$img: recovery password without dashes" "$sum" "$(sha "$img" --recovery-password-file "$TMP/rp")"
	fi
	if [ -n "$sk" ]; then
		bek=$(echo "$sk" | tr a-f A-F).BEK
		check "$img: startup key $bek" "$sum" "$(sha "$img" --bek "$bek")"
	fi
	if [ -n "$(conf "$img" CLEARKEY_VMK_GUID)" ]; then
		check "$img: clear key, no secret" "$sum" "$(sha "$img")"
	fi
	# FVEK dumped by cryptsetup (independent key derivation)
	if [ $has_cryptsetup = 1 ] && [ -n "$pw$rp" ]; then
		secret=$pw; [ -n "$secret" ] || secret=$rp
		rm -f "$TMP/vk"
		if printf %s "$secret" | cryptsetup bitlkDump --dump-volume-key --volume-key-file "$TMP/vk" -q \
			"$img.img" >/dev/null 2>&1 && [ -s "$TMP/vk" ]; then
			check "$img: FVEK from cryptsetup" "$sum" "$(sha "$img" --fvek "$TMP/vk")"
		else
			skip "$img: cryptsetup refuses to dump this image's FVEK"
		fi
	fi
done

# -crc: copies 1 and 2 damaged, copy 3 used, description intact
if [ -f bitlk-aes-xts-128-crc.img ]; then
	"$BDKIT" -q info --json bitlk-aes-xts-128-crc.img >"$TMP/info.json" 2>/dev/null
	if grep -q '"copy": 1,.*"ok": false' "$TMP/info.json" && grep -q '"copy": 2,.*"ok": false' "$TMP/info.json" &&
	   grep -q '"copy": 3,.*"ok": true, "in_use": true' "$TMP/info.json"; then
		pass "crc: info reports copies 1 and 2 damaged, copy 3 in use"
	else
		fail "crc: info --json does not report copies 1 and 2 damaged: $(grep copy "$TMP/info.json")"
	fi
	if grep -q '"description": "DESKTOP-NPM7RCA H: 7/4/2019"' "$TMP/info.json"; then
		pass "crc: description intact"
	else
		fail "crc: description garbled: $(grep description "$TMP/info.json")"
	fi
	"$BDKIT" -q info bitlk-aes-xts-128-crc.img 2>/dev/null | grep -q 'copy 1 .*bad CRC32' &&
		pass "crc: text info names the bad CRC" || fail "crc: text info does not name the bad CRC"
fi

# info: protectors with IDs (key IDs match images.conf), and the TPM/smart-card kinds listed
for img in bitlk-aes-xts-128 bitlk-aes-xts-128-smart-card bitlk-aes-xts-128-two-recovery; do
	[ -f "$img.img" ] || continue
	"$BDKIT" -q info --json "$img.img" >"$TMP/info.json" 2>/dev/null
	for k in PW_VMK_GUID RP_VMK_GUID RP2_VMK_GUID SC_VMK_GUID; do
		g=$(conf "$img" $k)
		[ -n "$g" ] || continue
		id=$(echo "$g" | cut -c1-8 | tr a-f A-F)
		grep -q "\"id\": \"$g\", \"key_id\": \"$id\"" "$TMP/info.json" &&
			pass "$img: info lists protector $g (key ID $id)" || fail "$img: info does not list $k $g"
	done
	grep -q "\"guid\": \"$(conf "$img" GUID)\"" "$TMP/info.json" && pass "$img: volume GUID" ||
		fail "$img: volume GUID differs from images.conf"
done
grep -q '"type_name": "public key".*"usable": false' "$TMP/info.json" 2>/dev/null || true
"$BDKIT" -q info --json bitlk-aes-xts-128-smart-card.img 2>/dev/null | grep -q '"type_name": "public key"' &&
	pass "smart-card: public-key protector listed" || fail "smart-card: public-key protector not listed"

# sparse output: the EOW image's never-written sectors are plain zeros, so the output is mostly holes
# (the other test images were stripped of data: their free space decrypts to noise, as on a real disk)
printf anaconda >"$TMP/pw"
if "$BDKIT" -q decrypt bitlk-aes-xts-128-eow.img -o "$TMP/sparse.img" --password-file "$TMP/pw" 2>/dev/null; then
	used=$(du -k "$TMP/sparse.img" | cut -f1)
	size=$(stat -c %s "$TMP/sparse.img")
	[ "$size" = 104857600 ] && [ "$used" -lt 2000 ] && pass "decrypt writes sparse output ($used KiB used)" ||
		fail "decrypt output not sparse or wrong size: $size bytes, $used KiB used"
	a=$(sha256sum <"$TMP/sparse.img" | cut -c1-64)
	check "sparse file equals the stdout stream" "$a" "$(sha bitlk-aes-xts-128-eow --password-file "$TMP/pw")"
else
	fail "decrypt of the EOW image to a file failed"
fi
rm -f "$TMP/sparse.img"

# A paused conversion, made from a real volume: state 3 -> 1 (decryption paused) with the watermark at 48 MiB in
# all three copies (CRC32 recomputed; the SHA-256 then fails: bdkit refuses such metadata, exit 5, unless
# --ignore-integrity). Below the watermark the data must decrypt exactly as before; above it the bytes on disk
# are returned as they are (plain).
if command -v python3 >/dev/null 2>&1; then
	cp --sparse=always bitlk-aes-xts-128.img "$TMP/paused.img"
	python3 - "$TMP/paused.img" <<'PY'
import struct, sys, zlib
f = open(sys.argv[1], 'r+b')
for off in (35213312, 46256128, 57909248):
    f.seek(off); blk = bytearray(f.read(65536))
    S = struct.unpack('<H', blk[8:10])[0] << 4
    struct.pack_into('<HHQ', blk, 12, 3, 1, 48 << 20)
    struct.pack_into('<I', blk, S + 4, zlib.crc32(bytes(blk[:S])) & 0xffffffff)
    f.seek(off); f.write(blk)
f.seek(80 << 20); f.write(b'plain text above the watermark' * 100)
PY
	printf anaconda >"$TMP/pw"
	"$BDKIT" -q decrypt "$TMP/paused.img" -o "$TMP/p.out" --password-file "$TMP/pw" 2>/dev/null
	[ $? = 5 ] && [ ! -e "$TMP/p.out" ] && pass "paused conversion made by editing the metadata: refused (exit 5)" ||
		fail "paused conversion: edited metadata not refused"
	"$BDKIT" -q decrypt "$TMP/paused.img" -o "$TMP/p.out" --password-file "$TMP/pw" --ignore-integrity 2>/dev/null
	"$BDKIT" -q decrypt bitlk-aes-xts-128.img -o "$TMP/n.out" --password-file "$TMP/pw" 2>/dev/null
	a=$(head -c $((48 << 20)) "$TMP/p.out" | sha256sum); b=$(head -c $((48 << 20)) "$TMP/n.out" | sha256sum)
	[ "$a" = "$b" ] && pass "paused conversion: below the watermark decrypts as before" ||
		fail "paused conversion: data below the watermark differs"
	[ "$(dd if="$TMP/p.out" bs=1M skip=80 count=1 2>/dev/null | head -c 30)" = "plain text above the watermark" ] &&
		pass "paused conversion: above the watermark read as plain" || fail "paused conversion: above the watermark not plain"
	"$BDKIT" -q info "$TMP/paused.img" 2>/dev/null | grep -q "decryption paused" && pass "paused conversion: state named" ||
		fail "paused conversion: state not named"
	rm -f "$TMP/paused.img" "$TMP/p.out" "$TMP/n.out"
fi
