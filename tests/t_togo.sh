#!/bin/sh
# bdkit encrypt/format --to-go: the BitLocker To Go layout (format.md §1.4). Judges are the
# independent readers that open the real Windows To Go images (checked first, with images.conf's
# password and sha256): cryptsetup, dislocker-file, libbde (pybde); a reader that cannot open the
# real images is not used (SKIP). The decrypted FAT32 must equal the plain image and list its
# files with mtools.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
have() { command -v "$1" >/dev/null 2>&1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# sha256 of FILE padded with zeros (or cut) to N bytes
sha_padded() { { head -c "$2" "$1"; n=$(stat -c %s "$1"); [ "$n" -lt "$2" ] && head -c $(($2 - n)) /dev/zero; } | sha256sum | cut -d' ' -f1; }

if [ ! -x "$BDKIT" ]; then fail "t_togo: $BDKIT not built"; exit 0; fi
for t in mkfs.vfat mcopy mdir mtype; do
	if ! have $t; then skip "t_togo: $t (dosfstools/mtools) not installed"; exit 0; fi
done

# pybde_sha IMG PASSWORD [BYTES]: sha256 of what libbde decrypts (the first BYTES, default all)
pybde_sha() {
	$PY - "$@" 2>/dev/null <<'EOF'
import hashlib, sys, pybde
v = pybde.volume()
v.set_password(sys.argv[2])
v.open(sys.argv[1])
n = int(sys.argv[3]) if len(sys.argv) > 3 else v.get_size()
h, off = hashlib.sha256(), 0
while off < n:
    d = v.read_buffer_at_offset(min(1 << 20, n - off), off)
    if not d:
        break
    h.update(d)
    off += len(d)
v.close()
print(h.hexdigest())
EOF
}

# ---- which readers open the real Windows To Go images ----
JCS=0 JDIS=0 JBDE=0
if need_images "t_togo real To Go images"; then
	real=bitlk-togo-aes-xts-128
	img="$IMGDIR/$real.img" pw=$(conf $real PW) want=$(conf $real SHA256SUM)
	printf %s "$pw" >"$TMP/realpw"
	if "$BDKIT" info "$img" | grep -q "To Go"; then
		pass "togo: bdkit info reports To Go for $real"
	else
		fail "togo: bdkit info does not say To Go for $real"
	fi
	if have cryptsetup && cryptsetup bitlkDump "$img" 2>/dev/null | grep -q "To Go" &&
	   cryptsetup bitlkOpen --test-passphrase "$img" --key-file "$TMP/realpw" >/dev/null 2>&1; then
		JCS=1
	else
		skip "togo: cryptsetup does not open $real; not used as a judge"
	fi
	if have dislocker-file && dislocker-file -V "$img" -u"$pw" -- "$TMP/real.dec" >/dev/null 2>&1 &&
	   [ "$(sha "$TMP/real.dec")" = "$want" ]; then
		JDIS=1
	else
		skip "togo: dislocker-file does not decrypt $real to its sha256; not used as a judge"
	fi
	rm -f "$TMP/real.dec"
	if $PY -c 'import pybde' 2>/dev/null && [ "$(pybde_sha "$img" "$pw")" = "$want" ]; then
		JBDE=1
	else
		skip "togo: libbde (pybde) does not decrypt $real to its sha256; not used as a judge"
	fi
else
	# without the real images, no reader has been shown to read To Go: trust none
	skip "togo: independent judges not established (no real To Go image)"
fi

# ---- bdkit encrypt --to-go of a FAT32 image ----
plain="$TMP/plain.img" vol="$TMP/togo.img"
truncate -s 40M "$plain"
mkfs.vfat -F 32 -n TOGOTEST "$plain" >/dev/null 2>&1
printf 'hello from bdkit To Go\n' >"$TMP/hello.txt"
head -c 300000 /dev/urandom >"$TMP/rand.bin"
mcopy -i "$plain" "$TMP/hello.txt" ::HELLO.TXT && mcopy -i "$plain" "$TMP/rand.bin" ::RAND.BIN
psize=$(stat -c %s "$plain")
pw=bdkit-togo-pw
printf %s "$pw" >"$TMP/pw"

if ! "$BDKIT" -q encrypt --to-go --password-file "$TMP/pw" --json "$plain" -o "$vol" >"$TMP/out.json" 2>"$TMP/err"; then
	fail "togo: bdkit encrypt --to-go failed: $(tail -1 "$TMP/err")"
	exit 0
fi
vsize=$(stat -c %s "$vol")
want=$(sha_padded "$plain" "$vsize")
if [ "$(dd if="$vol" bs=1 skip=3 count=8 2>/dev/null)" = "MSWIN4.1" ] &&
   [ "$(od -An -tx1 -j 424 -N 16 "$vol" | tr -d ' \n')" = 3bd66749292ed84a8399f6a339e3d001 ]; then
	pass "togo: header has OEM MSWIN4.1 and GUID_BITLOCKER at 0x1A8"
else
	fail "togo: header lacks MSWIN4.1 / GUID at 0x1A8"
fi
if "$BDKIT" info "$vol" | grep -q "To Go"; then pass "togo: bdkit info reports To Go"; else fail "togo: bdkit info does not say To Go"; fi

if [ $JCS = 1 ]; then
	if cryptsetup bitlkDump "$vol" 2>&1 | grep -q "To Go"; then
		pass "togo: cryptsetup bitlkDump sees a To Go device"
	else
		fail "togo: cryptsetup bitlkDump does not see To Go"
	fi
	if cryptsetup bitlkOpen --test-passphrase "$vol" --key-file "$TMP/pw" >"$TMP/cs.log" 2>&1; then
		pass "togo: cryptsetup accepts the password"
	else
		fail "togo: cryptsetup --test-passphrase: $(tail -1 "$TMP/cs.log")"
	fi
fi
if [ $JDIS = 1 ]; then
	if dislocker-file -V "$vol" -u"$pw" -- "$TMP/dis.img" >"$TMP/dis.log" 2>&1; then
		if [ "$(sha "$TMP/dis.img")" = "$want" ]; then
			pass "togo: dislocker output equals the plain FAT32 image"
		else
			fail "togo: dislocker output differs from the plain image"
		fi
		if mdir -i "$TMP/dis.img" :: 2>&1 | grep -q "RAND     BIN" &&
		   [ "$(mtype -i "$TMP/dis.img" ::HELLO.TXT)" = "hello from bdkit To Go" ]; then
			pass "togo: mdir/mtype read the files from dislocker's output"
		else
			fail "togo: mtools cannot read the files from dislocker's output"
		fi
	else
		fail "togo: dislocker-file failed: $(grep -v '^$' "$TMP/dis.log" | tail -1)"
	fi
	rm -f "$TMP/dis.img"
fi
if [ $JBDE = 1 ]; then
	if [ "$(pybde_sha "$vol" "$pw")" = "$want" ]; then
		pass "togo: libbde reads the plain FAT32 image"
	else
		fail "togo: libbde's plaintext differs from the plain image"
	fi
fi
if "$BDKIT" -q decrypt --password-file "$TMP/pw" "$vol" -o "$TMP/dec.img" 2>"$TMP/err" &&
   [ "$(sha_padded "$TMP/dec.img" "$vsize")" = "$want" ] &&
   [ "$(head -c "$psize" "$TMP/dec.img" | sha256sum | cut -d' ' -f1)" = "$(sha "$plain")" ]; then
	pass "togo: bdkit decrypt gives the plain image"
	if [ "$(mtype -i "$TMP/dec.img" ::HELLO.TXT)" = "hello from bdkit To Go" ] &&
	   mtype -i "$TMP/dec.img" ::RAND.BIN | cmp -s - "$TMP/rand.bin"; then
		pass "togo: mtype reads the files from bdkit's output"
	else
		fail "togo: mtype cannot read the files from bdkit's output"
	fi
else
	fail "togo: bdkit decrypt differs or failed: $(tail -1 "$TMP/err")"
fi
rm -f "$TMP/dec.img" "$vol"

# ---- exFAT, AES-CBC-128 ----
if have mkfs.exfat; then
	truncate -s 16M "$TMP/exfat.img"
	mkfs.exfat "$TMP/exfat.img" >/dev/null 2>&1
	if "$BDKIT" -q encrypt --to-go --method cbc-128 --no-recovery-password --password-file "$TMP/pw" \
		"$TMP/exfat.img" -o "$vol" >/dev/null 2>"$TMP/err"; then
		vsize=$(stat -c %s "$vol")
		want=$(sha_padded "$TMP/exfat.img" "$vsize")
		"$BDKIT" info "$vol" | grep -q "To Go" && pass "togo exFAT: bdkit info reports To Go" ||
			fail "togo exFAT: not To Go"
		if [ $JDIS = 1 ]; then
			dislocker-file -V "$vol" -u"$pw" -- "$TMP/dis.img" >/dev/null 2>&1
			[ "$(sha "$TMP/dis.img" 2>/dev/null)" = "$want" ] &&
				pass "togo exFAT: dislocker output equals the plain exFAT image" ||
				fail "togo exFAT: dislocker output differs from the plain image"
			rm -f "$TMP/dis.img"
		fi
		if [ $JBDE = 1 ]; then
			[ "$(pybde_sha "$vol" "$pw")" = "$want" ] && pass "togo exFAT: libbde reads the plain exFAT image" ||
				fail "togo exFAT: libbde's plaintext differs"
		fi
		"$BDKIT" -q decrypt --password-file "$TMP/pw" "$vol" -o "$TMP/dec.img" 2>/dev/null &&
		[ "$(sha_padded "$TMP/dec.img" "$vsize")" = "$want" ] &&
			pass "togo exFAT: bdkit decrypt gives the plain image" || fail "togo exFAT: bdkit decrypt differs"
	else
		fail "togo exFAT: bdkit encrypt --to-go failed: $(tail -1 "$TMP/err")"
	fi
	rm -f "$TMP/exfat.img" "$TMP/dec.img" "$vol"
else
	skip "togo exFAT: mkfs.exfat not installed"
fi

# ---- NTFS is refused ----
if have mkntfs; then
	truncate -s 8M "$TMP/ntfs.img"
	mkntfs -q -F -f "$TMP/ntfs.img" >/dev/null 2>&1
	if "$BDKIT" -q encrypt --to-go --password-file "$TMP/pw" "$TMP/ntfs.img" -o "$TMP/ntfs.bl" \
		>/dev/null 2>"$TMP/err"; then
		fail "togo: encrypt --to-go accepted an NTFS image"
	elif grep -q "To Go" "$TMP/err" && [ ! -e "$TMP/ntfs.bl" ]; then
		pass "togo: encrypt --to-go refuses NTFS ($(head -1 "$TMP/err" | cut -c1-60)...)"
	else
		fail "togo: NTFS refusal unclear or target left behind: $(tail -1 "$TMP/err")"
	fi
	rm -f "$TMP/ntfs.img" "$TMP/ntfs.bl"
else
	skip "togo: NTFS refusal: mkntfs not installed"
fi

# ---- bdkit format --to-go (blank volume) ----
if "$BDKIT" -q format --to-go --size 8M --password-file "$TMP/pw" "$TMP/blank.img" >/dev/null 2>"$TMP/err"; then
	"$BDKIT" info "$TMP/blank.img" | grep -q "To Go" && pass "togo: format --to-go: bdkit info says To Go" ||
		fail "togo: format --to-go: not To Go"
	if [ $JCS = 1 ]; then
		cryptsetup bitlkOpen --test-passphrase "$TMP/blank.img" --key-file "$TMP/pw" >/dev/null 2>&1 &&
			pass "togo: format --to-go: cryptsetup accepts the password" ||
			fail "togo: format --to-go: cryptsetup refuses the password"
	fi
	if [ $JBDE = 1 ]; then
		head -c 8M /dev/zero >"$TMP/zero"
		[ "$(pybde_sha "$TMP/blank.img" "$pw")" = "$(sha "$TMP/zero")" ] &&
			pass "togo: format --to-go: libbde reads zeros" || fail "togo: format --to-go: libbde does not read zeros"
	fi
else
	fail "togo: bdkit format --to-go failed: $(tail -1 "$TMP/err")"
fi
exit 0
