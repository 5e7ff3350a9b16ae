#!/bin/sh
# The README's examples run as written: every line of its Examples block that needs no device
# (/dev/sd*), mount point, USB stick or directory server runs, in order, in a directory holding files
# of the names it uses (made from the real Windows volumes; the plain NTFS by dislocker, the memory
# image from cryptsetup's dump of the FVEK), and must succeed.
. "$(dirname "$0")/lib.sh"
need_images readme || exit 0
for t in python3 ewfacquire cryptsetup dislocker-file mkntfs; do
	command -v $t >/dev/null || { skip "readme: $t is missing (scripts/install-deps.sh installs it)"; exit 0; }
done
W="$TMP/r"
mkdir -p "$W/bin" "$W/keys"
ln -s "$BDKIT" "$W/bin/bdkit"
SRC="$IMGDIR/bitlk-aes-xts-128.img"
RP=$(conf bitlk-aes-xts-128 RP)

# ---- the files the examples name ----
cp --sparse=always "$SRC" "$W/volume.img"
cp --sparse=always "$IMGDIR/bitlk-aes-xts-128-clearkey-only.img" "$W/suspended.img"
printf '%s\n' "$RP" >"$W/rp.txt"
printf 'anaconda\n' >"$W/pw.txt"
# damaged-rp.txt: block 2 misread (a 5 read as 6), so it fails its check digit
echo "$RP" | sed 's/^\([0-9]*\)-3579/\1-3679/' >"$W/damaged-rp.txt"
# Windows' recovery key file for volume.img (UTF-16LE with a BOM)
python3 - "$W/BitLocker Recovery Key 64311DEA-4587-4029-924A-BA299647998E.TXT" "$RP" <<'EOF'
import sys
t = ("BitLocker Drive Encryption recovery key\r\n\r\nTo verify that this is the correct recovery key, compare the start "
     "of the following identifier with the identifier value displayed on your PC.\r\n\r\nIdentifier:\r\n\r\n"
     "\t64311DEA-4587-4029-924A-BA299647998E\r\n\r\nIf the above identifier matches the one displayed by your PC, then "
     "use the following key to unlock your drive.\r\n\r\nRecovery Key:\r\n\r\n\t%s\r\n\r\n" % sys.argv[2])
open(sys.argv[1], 'wb').write(b'\xff\xfe' + t.encode('utf-16-le'))
EOF
# disk.img: a GPT disk holding the volume; evidence.E01: ewfacquire's image of that disk
python3 - "$W/disk.img" <<'EOF'
import struct, sys, zlib
with open(sys.argv[1], 'wb') as f:
    mbr = bytearray(512); mbr[446:462] = struct.pack('<BBBBBBBBII', 0, 0, 2, 0, 0xEE, 0xff, 0xff, 0xff, 1, 0xffffffff)
    mbr[510:512] = b'\x55\xaa'; f.write(mbr)
    ent = bytearray(128 * 128)
    ent[0:16] = b'\xa2\xa0\xd0\xeb\xe5\xb9\x33\x44\x87\xc0\x68\xb6\xb7\x26\x99\xc7'
    ent[32:48] = struct.pack('<QQ', 2048, 2048 + 204800 - 1)
    hdr = bytearray(92); hdr[0:8] = b'EFI PART'
    struct.pack_into('<IIIIQQQQ16sQIII', hdr, 8, 0x10000, 92, 0, 0, 1, 0, 34, 2048 + 204800, b'\x22' * 16, 2, 128, 128, zlib.crc32(ent))
    struct.pack_into('<I', hdr, 16, zlib.crc32(hdr))
    f.write(hdr + bytes(420)); f.write(ent)
    f.truncate((2048 + 204800 + 34) * 512)
EOF
dd if="$SRC" of="$W/disk.img" bs=1M seek=1 conv=sparse,notrunc 2>/dev/null
ewfacquire -u -q -t "$W/evidence" -c deflate:fast "$W/disk.img" >/dev/null 2>&1
# plain-ntfs.img: the decrypted volume, by dislocker
timeout 120 dislocker-file -V "$SRC" -p"$RP" -- "$W/plain-ntfs.img" >/dev/null 2>&1
# memory.lime: random memory holding the two AES-128 key schedules of the volume's FVEK (cryptsetup's dump),
# expanded here by a separate FIPS-197 implementation
printf '%s' "$RP" >"$TMP/rp"
cryptsetup bitlkDump --dump-volume-key --volume-key-file "$TMP/vk" --key-file "$TMP/rp" -q "$SRC" >/dev/null 2>&1
python3 - "$TMP/vk" "$W/memory.lime" <<'EOF'
import os, struct, sys
def sbox():
    s, p, q = [0] * 256, 1, 1
    while True:
        p = p ^ ((p << 1) & 0xff) ^ (0x1b if p & 0x80 else 0)
        q ^= q << 1; q ^= q << 2; q ^= q << 4; q &= 0xff
        if q & 0x80: q ^= 0x09
        x = q ^ ((q << 1 | q >> 7) & 0xff) ^ ((q << 2 | q >> 6) & 0xff) ^ ((q << 3 | q >> 5) & 0xff) ^ ((q << 4 | q >> 4) & 0xff)
        s[p] = x ^ 0x63
        if p == 1: break
    s[0] = 0x63
    return s
S = sbox()
def expand(key):
    w = [list(key[i:i + 4]) for i in range(0, 16, 4)]
    rcon = 1
    for i in range(4, 44):
        t = list(w[i - 1])
        if i % 4 == 0:
            t = [S[t[1]] ^ rcon, S[t[2]], S[t[3]], S[t[0]]]
            rcon = ((rcon << 1) ^ (0x1b if rcon & 0x80 else 0)) & 0xff
        w.append([a ^ b for a, b in zip(w[i - 4], t)])
    return bytes(b for word in w for b in word)
vk = open(sys.argv[1], 'rb').read()
mem = bytearray(os.urandom(2 << 20))
mem[300001:300001 + 176] = expand(vk[:16])
mem[1500007:1500007 + 176] = expand(vk[16:32])
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('<IIQQQ', 0x4C694D45, 1, 0x100000, 0x100000 + len(mem) - 1, 0) + mem)
EOF

# current.log, db-2023.auth, bootmgfw-2023.efi (diagnose predict): a real Windows boot log (HP, Secure
# Boot on), a db update signed here by sbvarsign, Debian's signed shim as the new boot application
ROMLOG="$SHARED/testdata/eventlogs/go-attestation/option_rom_eventlog"
SHIMEFI=/usr/lib/shim/shimx64.efi.signed
if [ -f "$ROMLOG" ] && [ -f "$SHIMEFI" ] && command -v sbvarsign >/dev/null && command -v sbsiglist >/dev/null; then
	cp "$ROMLOG" "$W/current.log"
	cp "$SHIMEFI" "$W/bootmgfw-2023.efi"
	openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=bdkit readme KEK" -keyout "$TMP/kek.key" \
		-out "$TMP/kek.crt" -days 3650 >/dev/null 2>&1
	openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=bdkit readme CA 2023" -keyout "$TMP/ca.key" \
		-out "$TMP/ca.crt" -days 3650 >/dev/null 2>&1
	openssl x509 -in "$TMP/ca.crt" -outform der -out "$TMP/ca.der"
	sbsiglist --owner 77fa9abd-0359-4d32-bd60-28f4e78f784b --type x509 --output "$TMP/ca.esl" "$TMP/ca.der" &&
		sbvarsign --key "$TMP/kek.key" --cert "$TMP/kek.crt" --output "$W/db-2023.auth" db "$TMP/ca.esl" \
			>/dev/null 2>&1 || fail "readme: sbvarsign could not make db-2023.auth"
else
	skip "readme: the predict example needs ../shared's event logs, shim-signed and sbsigntool (install-deps.sh)"
fi

# ---- the examples ----
sed -n '/^## Examples/,/^## Exit codes/p' "$TOP/README.md" | sed -n '/^```sh/,/^```/p' | sed '1d;$d' >"$TMP/examples"
n=0 ran=0 other=0
while IFS= read -r line; do
	case $line in ''|'#'*) continue ;; esac
	n=$((n + 1))
	if echo "$line" | grep -qE '/dev/sd|/mnt/|/media/|ldaps?://|^nbdkit' ||
		{ echo "$line" | grep -q 'current.log' && [ ! -f "$W/current.log" ]; }; then
		other=$((other + 1))
		continue
	fi
	ran=$((ran + 1))
	(cd "$W" && HOME="$W" PATH="$W/bin:$PATH" sh -c "$line" </dev/null >"$TMP/out" 2>"$TMP/err")
	rc=$?
	short=$(echo "$line" | sed 's/  *#.*//' | cut -c1-110)
	[ $rc = 0 ] && pass "README example runs: $short" || fail "README example exits $rc: $short: $(tail -2 "$TMP/err")"
done <"$TMP/examples"
[ $ran -ge 20 ] && pass "README: $ran of its $n examples run here ($other need a device, mount point or server)" ||
	fail "README: only $ran of $n examples could run"
# what the examples wrote is right
SUM=$(conf bitlk-aes-xts-128 SHA256SUM)
for f in plain.img evidence-plain.img memory-plain.img; do
	[ "$(sha256sum <"$W/$f" 2>/dev/null | cut -c1-64)" = "$SUM" ] && pass "README: $f equals the published sha256" ||
		fail "README: $f differs from the published sha256"
done
[ "$(sha256sum <"$W/suspended-plain.img" 2>/dev/null | cut -c1-64)" = "$(conf bitlk-aes-xts-128-clearkey-only SHA256SUM)" ] &&
	pass "README: suspended-plain.img equals the published sha256" || fail "README: suspended-plain.img differs"
