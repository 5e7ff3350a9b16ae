#!/bin/sh
# Build the fuzzers' seed inputs at run time (nothing from ../shared is copied into the repository):
# metadata blocks, .BEK files, key packages and whole (sparse) volumes from small volumes that bdkit
# makes, plus, when ../shared is present, metadata blocks and whole volumes of the real Windows
# volumes of every kind, the hostile images of ../shared/security, their .BEK files and the small
# measured-boot logs. Usage: fuzz/seeds.sh BUILD_DIR OUT_DIR  (OUT_DIR/<harness>/ is filled).
BUILD=${1:-build}
OUT=${2:-build-fuzz/seeds}
cd "$(dirname "$0")/.." || exit 1
BDKIT=$BUILD/bdkit
mkdir -p "$OUT/metadata" "$OUT/bek" "$OUT/keypackage" "$OUT/eventlog" "$OUT/pubkey" "$OUT/volume" "$OUT/pe" "$OUT/siglist" "$OUT/quote" "$OUT/memimage" "$OUT/keyfile" "$OUT/fsprobe"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# vseed IMAGE KIND SECRET NAME: a whole volume as a sparse fuzz_volume seed with its VMK and FVEK,
# written by the harness itself (KIND: rp, pw, clear, bek; see fuzz/fuzz_volume.c)
FV=build-fuzz/fuzz_volume
vseed() {
	[ -x "$FV" ] && BDKIT_FUZZ_VOLUME_SEED="$1 $2 $3 $OUT/volume/$4" "$FV" >/dev/null 2>&1
}

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
		vseed "$v" pw "$T/pw" "bdkit-$m"
	done
	for b in "$T"/*.BEK; do [ -f "$b" ] && cp "$b" "$OUT/bek/bdkit-$(basename "$b")"; done
	# Windows-style recovery key files (UTF-16LE with BOM) as format writes them, and re-encoded
	if "$BDKIT" -q format "$T/rk.img" --size 16M --recovery-key-file "$T" --password-file "$T/pw" >/dev/null 2>&1; then
		for k in "$T"/*.TXT; do
			[ -f "$k" ] || continue
			cp "$k" "$OUT/keyfile/utf16le.txt"
			iconv -f UTF-16 -t UTF-8 "$k" >"$OUT/keyfile/utf8.txt" 2>/dev/null
			iconv -f UTF-16 -t UTF-16BE "$k" >"$OUT/keyfile/utf16be-nobom.txt" 2>/dev/null
		done
	fi
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
	# every kind of volume for fuzz_volume: XTS, CBC, Elephant, 4K sectors, To Go, encrypt-on-write,
	# clear key, paused conversion
	I=$T/bitlk-images
	rp_of() { awk -v s="[$1]" '$0 == s { on = 1; next } /^\[/ { on = 0 } on && /^RP=/ { print substr($0, 4); exit }' \
		"$I/images.conf" >"$T/$1.rp"; echo "$T/$1.rp"; }
	for i in bitlk-aes-xts-128 bitlk-aes-cbc-128 bitlk-aes-cbc-elephant-128 bitlk-aes-xts-128-4k \
		 bitlk-togo-aes-xts-128 bitlk-aes-xts-128-eow bitlk-partially-encrypted-aes-cbc-128; do
		[ -f "$I/$i.img" ] && vseed "$I/$i.img" rp "$(rp_of $i)" "$i"
	done
	# boot sectors for fuzz_fsprobe: the BitLocker volume header of each kind (an "-FVE-FS-" FAT-like BPB)
	for i in bitlk-aes-xts-128 bitlk-aes-cbc-elephant-128 bitlk-aes-xts-128-4k bitlk-togo-aes-xts-128; do
		[ -f "$I/$i.img" ] && head -c 4096 "$I/$i.img" >"$OUT/fsprobe/$i-header"
	done
	[ -f "$I/bitlk-aes-xts-128-clearkey-only.img" ] && vseed "$I/bitlk-aes-xts-128-clearkey-only.img" clear - clearkey
	# the hostile images of the hardening audit, made by ../shared/security's generators
	if [ -f ../shared/security/make_repros.py ] && command -v python3 >/dev/null &&
	   BITLK_IMAGES="$I" python3 ../shared/security/make_repros.py "$T" >/dev/null 2>&1; then
		vseed "$T/f1-cbc-eow-unaligned.img" rp "$(rp_of bitlk-aes-cbc-128)" f1
		vseed "$T/f2-eow-nbits.img" rp "$(rp_of bitlk-aes-xts-128-eow)" f2
		for f in f6-inject f8-bigwatermark f10-novirt; do
			vseed "$T/$f.img" rp "$(rp_of bitlk-aes-xts-128)" "$f"
		done
		rm -f "$T"/f*.img
	fi
fi
if [ -d "$SH/eventlogs" ]; then
	for f in "$SH"/eventlogs/tpm2-tools/event*.bin "$SH"/eventlogs/go-attestation/*eventlog \
		 "$SH"/eventlogs/go-attestation/*.wbcl.bin; do
		[ -f "$f" ] && [ "$(stat -c %s "$f")" -le 80000 ] && cp "$f" "$OUT/eventlog/"
	done
fi
# boot sectors made by the file-system tools (fuzz_fsprobe)
for fs in "ntfs:mkntfs -F -Q -q" "fat12:mkfs.vfat -F 12" "fat16:mkfs.vfat -F 16" "fat32:mkfs.vfat -F 32" "exfat:mkfs.exfat"; do
	name=${fs%%:*} cmd=${fs#*:}
	command -v "${cmd%% *}" >/dev/null || continue
	truncate -s 0 "$T/fs.img" && truncate -s 64M "$T/fs.img"
	$cmd "$T/fs.img" >/dev/null 2>&1 && head -c 4096 "$T/fs.img" >"$OUT/fsprobe/$name"
done
rm -f "$T/fs.img"
# PE/EFI images: a minimal PE32+ EFI application made here, signed with sbsign when it is installed,
# and the first 64 KiB of the Debian EFI binaries (headers, section table, start of the code)
python3 - "$OUT/pe/tiny.efi" <<'EOF'
import struct, sys
opt = struct.pack("<HBBIIIIIQIIHHHHHHIIIIHHQQQQII", 0x20b, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0, 0x1000, 0x200,
                  0, 0, 0, 0, 0, 0, 0, 0x2000, 0x200, 0, 10, 0, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16) + bytes(16 * 8)
coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, len(opt), 0x22)
sec = b".text\0\0\0" + struct.pack("<IIIIIIHHI", 0x200, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
hdr = b"MZ" + bytes(0x3a) + struct.pack("<I", 0x40) + b"PE\0\0" + coff + opt + sec
open(sys.argv[1], "wb").write(hdr + bytes(0x200 - len(hdr)) + b"\xc3" * 0x200)
EOF
if command -v sbsign >/dev/null && command -v openssl >/dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=bdkit seed" -keyout "$T/seed.key" -out "$T/seed.crt" \
		-days 3650 >/dev/null 2>&1
	sbsign --key "$T/seed.key" --cert "$T/seed.crt" --output "$OUT/pe/tiny-signed.efi" "$OUT/pe/tiny.efi" >/dev/null 2>&1
	openssl x509 -in "$T/seed.crt" -outform der -out "$T/seed.der" 2>/dev/null
	if command -v sbsiglist >/dev/null && command -v sbvarsign >/dev/null; then
		printf 'seed hash' | openssl dgst -sha256 -binary >"$T/h"
		sbsiglist --owner 77fa9abd-0359-4d32-bd60-28f4e78f784b --type sha256 --output "$OUT/siglist/hash.esl" "$T/h"
		sbsiglist --owner 77fa9abd-0359-4d32-bd60-28f4e78f784b --type x509 --output "$OUT/siglist/cert.esl" "$T/seed.der"
		sbvarsign --key "$T/seed.key" --cert "$T/seed.crt" --output "$OUT/siglist/dbx.auth" dbx "$OUT/siglist/hash.esl" >/dev/null 2>&1
		sbvarsign --key "$T/seed.key" --cert "$T/seed.crt" --output "$OUT/siglist/kek.auth" KEK "$OUT/siglist/cert.esl" >/dev/null 2>&1
	fi
fi
cp "$OUT/pe/tiny.efi" "$OUT/siglist/" 2>/dev/null
for f in /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed \
	 /usr/lib/systemd/boot/efi/systemd-bootx64.efi; do
	[ -f "$f" ] && head -c 65536 "$f" >"$OUT/pe/$(basename "$f").head"
done
# signature lists and the trust point cut out of the real logs; TPM quote structures made here
if [ -d "$SH/eventlogs" ]; then
	python3 - "$SH/eventlogs" "$OUT" <<'EOF'
import os, struct, sys
sys.path.insert(0, "tests")   # the tests' own reader of the format (seeds.sh runs from the repository root)
import eventlog_edit as ee
src, out = sys.argv[1], sys.argv[2]
for name in ("go-attestation/option_rom_eventlog", "go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog"):
    log = ee.Log(open(os.path.join(src, name), "rb").read())
    for var in ("PK", "KEK", "db", "dbx"):
        _, val = ee.var_parts(log.events[ee.pcr7_var(log, var)]["data"])
        if val:
            open(os.path.join(out, "siglist", "%s-%s" % (os.path.basename(name), var)), "wb").write(val)
    for e in log.events:
        if e["pcr"] == 0xFFFFFFFF:
            open(os.path.join(out, "quote", "trustpoint-" + os.path.basename(name)), "wb").write(e["data"])
            k = e["data"].find(struct.pack("<I", 0x80080001))
            n = struct.unpack_from("<I", e["data"], k + 4)[0]
            open(os.path.join(out, "quote", "quote-info2"), "wb").write(e["data"][k + 8:k + 8 + n])
# TPMS_ATTEST of a quote (big-endian): magic, type, signer name, extraData, clock info, firmware, selection, digest
sel = struct.pack(">IHB", 1, 0x000B, 3) + bytes([0x83, 0x00, 0x00])
att = struct.pack(">IH", 0xff544347, 0x8018) + struct.pack(">H", 4) + b"\0\x0b\xaa\xbb" + struct.pack(">H", 4) + b"\x0b\xad\xc0\xde"
att += struct.pack(">QIIB", 12345, 1, 0, 1) + struct.pack(">Q", 0x2000) + sel + struct.pack(">H", 32) + bytes(range(32))
open(os.path.join(out, "quote", "tpms-attest"), "wb").write(att)
sig = struct.pack(">HHH", 0x0018, 0x000B, 32) + bytes(32) + struct.pack(">H", 32) + bytes(32)
def sipa(t, d):
    return struct.pack("<II", t, len(d)) + d
tp = sipa(0x80080003, "Windows AIK".encode("utf-16-le") + b"\0\0") + sipa(0x80080001, att) + sipa(0x80080002, sig)
open(os.path.join(out, "quote", "trustpoint-tpm2"), "wb").write(sipa(0xC0010004, tp))
EOF
fi
# memory image framing: small LiME, ELF core and crash dump files
command -v python3 >/dev/null && python3 - "$OUT/memimage" <<'EOF'
import os, struct, sys
d = sys.argv[1]
lime = b''.join(struct.pack('<IIQQQ', 0x4C694D45, 1, a, a + n - 1, 0) + os.urandom(n) for a, n in ((0x1000, 256), (0x200000, 64)))
open(d + '/lime', 'wb').write(lime)
elf = bytearray(64 + 2 * 56); elf[0:6] = b'\x7fELF\x02\x01'
struct.pack_into('<HHIQQQIHHHHHH', elf, 16, 4, 62, 1, 0, 64, 0, 0, 64, 56, 2, 0, 0, 0)
struct.pack_into('<IIQQQQQQ', elf, 64, 4, 0, 176, 0, 0, 16, 16, 1)
struct.pack_into('<IIQQQQQQ', elf, 120, 1, 5, 192, 0x400000, 0, 64, 64, 4096)
open(d + '/elf', 'wb').write(bytes(elf) + bytes(16) + os.urandom(64))
h = bytearray(0x2000); h[0:8] = b'PAGEDU64'; struct.pack_into('<I', h, 0xF98, 1)
struct.pack_into('<IIQQQ', h, 0x88, 1, 0, 1, 0x10, 1)
open(d + '/fulldump', 'wb').write(bytes(h) + os.urandom(4096))
h = bytearray(0x2000); h[0:8] = b'PAGEDU64'; struct.pack_into('<I', h, 0xF98, 5)
b = bytearray(0x38 + 8); b[0:8] = b'SDMPDUMP'; struct.pack_into('<QQQ', b, 0x20, 0x2040, 2, 64); b[0x38] = 0x81
open(d + '/bitmapdump', 'wb').write(bytes(h) + bytes(b) + bytes(0x2040 - 0x2000 - len(b)) + os.urandom(8192))
EOF
exit 0
