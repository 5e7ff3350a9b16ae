#!/bin/sh
# Build the fuzzers' seed inputs at run time (nothing from ../shared is copied into the repository):
# metadata blocks, .BEK files and key packages from small volumes that bdkit makes, plus, when
# ../shared is present, metadata blocks of the real Windows volumes, their .BEK files and the small
# measured-boot logs. Usage: fuzz/seeds.sh BUILD_DIR OUT_DIR  (OUT_DIR/<harness>/ is filled).
BUILD=${1:-build}
OUT=${2:-build-fuzz/seeds}
cd "$(dirname "$0")/.." || exit 1
BDKIT=$BUILD/bdkit
mkdir -p "$OUT/metadata" "$OUT/bek" "$OUT/keypackage" "$OUT/eventlog" "$OUT/pubkey"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# copy1_of IMG DEST: the first metadata copy (64 KiB) of a volume, located by bdkit info
copy1_of() {
	off=$("$BDKIT" info --json "$1" 2>/dev/null | sed -n 's/.*"copy": 1, "offset": \([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$off" ] && dd if="$1" of="$2" bs=65536 count=1 iflag=skip_bytes skip="$off" status=none
}

if [ -x "$BDKIT" ]; then
	printf 'seed-password\n' > "$T/pw"
	for m in xts-128 cbc-elephant-256; do
		v=$T/$m.img
		"$BDKIT" -q format "$v" --size 16M --method "$m" --password-file "$T/pw" --bek-dir "$T" \
			>/dev/null 2>&1 || continue
		copy1_of "$v" "$OUT/metadata/bdkit-$m"
		"$BDKIT" -q keypackage export "$v" --password-file "$T/pw" -o "$OUT/keypackage/bdkit-$m.kp" \
			>/dev/null 2>&1
	done
	for b in "$T"/*.BEK; do [ -f "$b" ] && cp "$b" "$OUT/bek/bdkit-$(basename "$b")"; done
fi

SH=../shared/testdata
if [ -f "$SH/bitlk/bitlk-images.tar.xz" ]; then
	(cd "$T" && tar xJf "$OLDPWD/$SH/bitlk/bitlk-images.tar.xz" --sparse 2>/dev/null)
	for i in bitlk-aes-xts-128 bitlk-aes-xts-128-clearkey-only bitlk-aes-xts-128-smart-card bitlk-aes-cbc-elephant-128; do
		[ -f "$T/bitlk-images/$i.img" ] && copy1_of "$T/bitlk-images/$i.img" "$OUT/metadata/$i"
	done
	cp "$T"/bitlk-images/*.BEK "$OUT/bek/" 2>/dev/null
	# the smart-card volume's public-key protector (doc/public-key-protector.md): the entry's children
	# and its CNG key blob, at their volume byte offsets
	sc=$T/bitlk-images/bitlk-aes-xts-128-smart-card.img
	if [ -f "$sc" ]; then
		dd if="$sc" of="$OUT/pubkey/smart-card-entry" iflag=skip_bytes,count_bytes skip=35213528 count=772 \
			status=none
		dd if="$sc" of="$OUT/pubkey/smart-card-blob" iflag=skip_bytes,count_bytes skip=35213800 count=283 \
			status=none
	fi
fi
if [ -d "$SH/eventlogs" ]; then
	for f in "$SH"/eventlogs/tpm2-tools/event*.bin "$SH"/eventlogs/go-attestation/*eventlog \
		 "$SH"/eventlogs/go-attestation/*.wbcl.bin; do
		[ -f "$f" ] && [ "$(stat -c %s "$f")" -le 80000 ] && cp "$f" "$OUT/eventlog/"
	done
fi
exit 0
