#!/bin/sh
# bdkit format / bdkit encrypt, judged by independent readers: cryptsetup (bitlkDump,
# --test-passphrase), dislocker-file and libbde (pybde). Every volume bdkit writes must open
# with each of its protectors and decrypt to exactly the plaintext bdkit was given.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -x "$BDKIT" ]; then fail "t_format: $BDKIT not built"; exit 0; fi
find_judges
HAVE_NTFS=0; have mkntfs && have ntfscp && have ntfscat && HAVE_NTFS=1

rp_of() { sed -n 's/.*"recovery_password":"\([0-9-]*\)".*/\1/p' "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# sha256 of FILE padded with zeros (or cut) to N bytes
sha_padded() { { head -c "$2" "$1"; n=$(stat -c %s "$1"); [ "$n" -lt "$2" ] && head -c $(($2 - n)) /dev/zero; } | sha256sum | cut -d' ' -f1; }

# cs_test NAME IMG KEYFILE
cs_test() {
	[ $HAVE_CS = 1 ] || return 0
	if cryptsetup bitlkOpen --test-passphrase "$2" --key-file "$3" >"$TMP/cs.log" 2>&1; then
		pass "$1: cryptsetup accepts the key"
	else
		fail "$1: cryptsetup bitlkOpen --test-passphrase: $(tail -1 "$TMP/cs.log")"
	fi
}

# dis_test NAME IMG SS EXPECT_SHA DISLOCKER-ARGS... ; leaves the output in $TMP/dis.img
dis_test() {
	name=$1 img=$2 ss=$3 want=$4
	shift 4
	rm -f "$TMP/dis.img"
	[ $HAVE_DIS = 1 ] || return 1
	if [ "$ss" = 4096 ]; then
		skip "$name: dislocker 0.7 decrypts 4096-byte-sector volumes in 512-byte units (dislocker issue #335)"
		return 1
	fi
	if ! dislocker-file -V "$img" "$@" -- "$TMP/dis.img" >"$TMP/dis.log" 2>&1; then
		fail "$name: dislocker-file failed: $(grep -v '^$' "$TMP/dis.log" | tail -1)"
		return 1
	fi
	got=$(sha "$TMP/dis.img")
	if [ "$got" = "$want" ]; then
		pass "$name: dislocker output equals the plaintext"
	else
		fail "$name: dislocker output sha256 $got, plaintext $want"
		return 1
	fi
}

# bde_test NAME IMG METHOD PLAINFILE KIND SECRET : libbde reads the whole volume it sees
bde_test() {
	[ $HAVE_BDE = 1 ] || return 0
	if [ "$3" = xts-256 ]; then
		skip "$1: libbde 20190102 cannot use 64-byte XTS-AES-256 keys (libyal/libbde#31)"
		return 0
	fi
	out=$($PY - "$2" "$4" "$5" "$6" 2>&1 <<'EOF'
import hashlib, sys, pybde
img, plain, kind, secret = sys.argv[1:5]
v = pybde.volume()
if kind == "rp": v.set_recovery_password(secret)
elif kind == "pw": v.set_password(secret)
else: v.read_startup_key(secret)
v.open(img)
size = v.get_size()
h, p = hashlib.sha256(), hashlib.sha256()
f = open(plain, "rb")
done = 0
while done < size:
    n = min(1 << 20, size - done)
    h.update(v.read_buffer(n))
    d = f.read(n)
    p.update(d + bytes(n - len(d)))
    done += n
v.close()
print("ok" if h.digest() == p.digest() else "differ", size)
EOF
)
	case $out in
	ok*) pass "$1: libbde reads the plaintext (${out#ok })";;
	*) fail "$1: libbde: $(echo "$out" | tail -1)";;
	esac
}

# cskey_test NAME IMG KEYFILE PLAINFILE|- : where dislocker (4K sectors) and libbde (XTS-256, no file
# system) cannot judge, cryptsetup derives the FVEK from the metadata and python's OpenSSL-backed
# AES-XTS/CBC decrypts the volume by the spec (format.md §1.5, §6): it must equal the plaintext.
cskey_test() {
	[ $HAVE_CS = 1 ] || return 0
	if ! $PY -c 'import cryptography' 2>/dev/null; then
		skip "$1: python3-cryptography missing for the cryptsetup-key check"
		return 0
	fi
	rm -f "$TMP/vk.bin"
	if ! cryptsetup bitlkDump --dump-volume-key --volume-key-file "$TMP/vk.bin" --key-file "$3" "$2" \
		>"$TMP/dump" 2>&1; then
		fail "$1: cryptsetup --dump-volume-key: $(tail -1 "$TMP/dump")"
		return 0
	fi
	cryptsetup bitlkDump "$2" >>"$TMP/dump" 2>&1
	out=$($PY - "$2" "$TMP/vk.bin" "$TMP/dump" "$4" 2>&1 <<'EOF'
import hashlib, re, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
img, keyfile, dump, plain = sys.argv[1:5]
d = open(dump).read()
ss = int(re.search(r"Sector size:\s*(\d+)", d).group(1))
size = int(re.search(r"Volume size:\s*(\d+)", d).group(1))
mode = re.search(r"Cipher mode:\s*(\S+)", d).group(1)
offs = [int(x) for x in re.findall(r"Offset:\s*(\d+)", d)]
meta, voff = offs[:3], offs[3]
key = open(keyfile, "rb").read()
def reserved(o):
    return any(m <= o < m + 65536 for m in meta) or voff <= o < voff + 8192
def dec(buf, phys):
    if mode.startswith("xts"):
        c = Cipher(algorithms.AES(key), modes.XTS((phys // ss).to_bytes(16, "little")))
    else:
        e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        iv = e.update(phys.to_bytes(16, "little")) + e.finalize()
        c = Cipher(algorithms.AES(key), modes.CBC(iv))
    x = c.decryptor()
    return x.update(buf) + x.finalize()
f = open(img, "rb")
p = open(plain, "rb") if plain != "-" else None
h1, h2 = hashlib.sha256(), hashlib.sha256()
for off in range(0, size, ss):
    phys = voff + off if off < 8192 else off
    f.seek(phys)
    sec = bytes(ss) if reserved(off) else dec(f.read(ss), phys)
    h1.update(sec)
    q = p.read(ss) if p else b""
    h2.update(q + bytes(ss - len(q)))
print("ok" if h1.digest() == h2.digest() else "differ", mode, ss, size)
EOF
)
	case $out in
	ok*) pass "$1: cryptsetup's FVEK + AES ($(echo "$out" | cut -d' ' -f2)) decrypt to the plaintext";;
	*) fail "$1: cryptsetup-key check: $(echo "$out" | tail -1)";;
	esac
}

# ---- plaintext NTFS images (one per sector size) with a few files ----
mkplain() { # SS -> $TMP/plain-SS.img
	p="$TMP/plain-$1.img"
	truncate -s 16M "$p"
	mkntfs -q -F -Q -s "$1" -p 0 -H 255 -S 63 -L "plain$1" "$p" >/dev/null 2>&1 || return 1
	printf 'hello from bdkit\n' >"$TMP/hello.txt"
	head -c 200000 /dev/urandom >"$TMP/random.bin"
	seq 1 20000 >"$TMP/numbers.txt"
	for f in hello.txt random.bin numbers.txt; do
		ntfscp -q "$p" "$TMP/$f" "$f" >/dev/null 2>&1 || return 1
	done
}

ntfs_files_test() { # NAME DECRYPTED_IMG
	for f in hello.txt random.bin numbers.txt; do
		if ! ntfscat "$2" "$f" 2>/dev/null | cmp -s - "$TMP/$f"; then
			fail "$1: ntfscat $f from the decrypted volume differs"
			return
		fi
	done
	pass "$1: ntfscat reads every file back"
}

METHODS="xts-128 xts-256 cbc-128 cbc-256 cbc-elephant-128 cbc-elephant-256"
for ss in 512 4096; do
	if [ $HAVE_NTFS = 1 ] && ! mkplain $ss; then
		fail "t_format: mkntfs/ntfscp could not make the $ss-byte plaintext image"
	fi
	for m in $METHODS; do
		# 1. blank volume: the decrypted view is all zeros
		n="format $m/$ss"
		v="$TMP/f.img"
		rm -f "$v"
		if ! "$BDKIT" -q format "$v" --size 8M --method "$m" --sector-size $ss --json >"$TMP/out.json" 2>"$TMP/err"; then
			fail "$n: bdkit format failed: $(cat "$TMP/err")"
			continue
		fi
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		if [ $HAVE_CS = 1 ]; then
			cryptsetup bitlkDump "$v" >"$TMP/dump" 2>&1 &&
			grep -q "Sector size:.*$ss" "$TMP/dump" && grep -q "Volume size:.*8388608" "$TMP/dump" &&
			pass "$n: cryptsetup bitlkDump reads the metadata" || fail "$n: bitlkDump: $(tail -2 "$TMP/dump")"
		fi
		cs_test "$n" "$v" "$TMP/rp.txt"
		dis_test "$n" "$v" $ss "$(head -c 8388608 /dev/zero | sha256sum | cut -d' ' -f1)" -p"$rp"
		case $ss/$m in 4096/cbc-elephant*) ;; 4096/*) cskey_test "$n" "$v" "$TMP/rp.txt" -;; esac
		rm -f "$v" "$TMP/dis.img"

		# 2. encrypt an NTFS image: readers see the same file system
		[ $HAVE_NTFS = 1 ] || continue
		n="encrypt $m/$ss"
		p="$TMP/plain-$ss.img"
		v="$TMP/e.img"
		rm -f "$v"
		if ! "$BDKIT" -q encrypt "$p" -o "$v" --method "$m" --json >"$TMP/out.json" 2>"$TMP/err"; then
			fail "$n: bdkit encrypt failed: $(cat "$TMP/err")"
			continue
		fi
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		size=$(stat -c %s "$v")
		cs_test "$n" "$v" "$TMP/rp.txt"
		if dis_test "$n" "$v" $ss "$(sha_padded "$p" "$size")" -p"$rp"; then
			ntfs_files_test "$n" "$TMP/dis.img"
		fi
		bde_test "$n" "$v" $m "$p" rp "$rp"
		[ $ss/$m = 4096/xts-256 ] && cskey_test "$n" "$v" "$TMP/rp.txt" "$p"
		rm -f "$v" "$TMP/dis.img"
	done
done

# ---- every protector kind, with every reader ----
if [ $HAVE_NTFS = 1 ]; then
	for combo in "xts-128 512" "cbc-elephant-128 4096"; do
		set -- $combo
		m=$1 ss=$2 n="protectors $1/$2"
		p="$TMP/plain-$ss.img" v="$TMP/p.img" kd="$TMP/keys"
		rm -rf "$v" "$kd"
		mkdir -p "$kd"
		printf 'correct horse battery 42' >"$TMP/pw.txt"
		if ! "$BDKIT" -q encrypt "$p" -o "$v" --method $m --password-file "$TMP/pw.txt" --bek-dir "$kd" \
			--recovery-key-file "$kd" --description "bdkit test £" --json >"$TMP/out.json" 2>"$TMP/err"; then
			fail "$n: bdkit encrypt failed: $(cat "$TMP/err")"
			continue
		fi
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		bek=$(ls "$kd"/*.BEK 2>/dev/null | head -1)
		txt=$(ls "$kd"/BitLocker\ Recovery\ Key\ *.TXT 2>/dev/null | head -1)
		id=$(sed -n 's/.*"type":"recovery password","id":"\([0-9a-f-]*\)".*/\1/p' "$TMP/out.json" | tr a-f A-F)
		bid=$(sed -n 's/.*"type":"startup key","id":"\([0-9a-f-]*\)".*/\1/p' "$TMP/out.json" | tr a-f A-F)
		[ "$(basename "$bek")" = "$bid.BEK" ] && [ "$(stat -c %s "$bek")" = 156 ] &&
			pass "$n: startup key saved as <ID>.BEK, 156 bytes (Windows 10 layout)" ||
			fail "$n: BEK file '$bek' (want $bid.BEK, 156 bytes)"
		if [ -n "$txt" ] && [ "$(head -c 2 "$txt" | od -An -tx1 | tr -d ' ')" = fffe ] &&
			iconv -f UTF-16 -t UTF-8 "$txt" | grep -q "$rp" &&
			iconv -f UTF-16 -t UTF-8 "$txt" | grep -q "$id" &&
			[ "$(basename "$txt")" = "BitLocker Recovery Key $id.TXT" ]; then
			pass "$n: recovery key file is UTF-16LE with BOM, named by ID, holds ID and password"
		else
			fail "$n: recovery key file '$txt'"
		fi
		if [ $HAVE_CS = 1 ]; then
			cryptsetup bitlkDump "$v" 2>&1 | grep -q 'Description:.*bdkit test £' &&
				pass "$n: description round-trips (cryptsetup)" || fail "$n: description not shown by cryptsetup"
		fi
		cs_test "$n recovery password" "$v" "$TMP/rp.txt"
		cs_test "$n password" "$v" "$TMP/pw.txt"
		cs_test "$n startup key" "$v" "$bek"
		size=$(stat -c %s "$v")
		want=$(sha_padded "$p" "$size")
		dis_test "$n recovery password" "$v" $ss "$want" -p"$rp"
		dis_test "$n password" "$v" $ss "$want" -u"$(cat "$TMP/pw.txt")"
		dis_test "$n startup key" "$v" $ss "$want" -f "$bek"
		bde_test "$n recovery password" "$v" $m "$p" rp "$rp"
		bde_test "$n password" "$v" $m "$p" pw "$(cat "$TMP/pw.txt")"
		bde_test "$n startup key" "$v" $m "$p" bek "$bek"
		# bdkit's own reader (a consistency check, not an independent judge)
		if "$BDKIT" info --help >/dev/null 2>&1; then
			ok=1
			for a in "--recovery-password-file $TMP/rp.txt" "--password-file $TMP/pw.txt" "--bek $bek"; do
				rm -f "$TMP/self.img"
				"$BDKIT" -q decrypt $a "$v" -o "$TMP/self.img" >/dev/null 2>&1 &&
					[ "$(sha_padded "$TMP/self.img" "$size")" = "$want" ] || ok=0
			done
			"$BDKIT" info --recovery-password-file "$TMP/rp.txt" "$v" 2>/dev/null | grep -q 'SHA-256 verified' || ok=0
			[ $ok = 1 ] && pass "$n: bdkit's reader decrypts with each protector and verifies the SHA-256" ||
				fail "$n: bdkit's own reader disagrees"
			rm -f "$TMP/self.img"
		fi
		rm -rf "$v" "$kd" "$TMP/dis.img"
	done

	# a non-ASCII password (hashed as UTF-16LE): only libbde of the three readers handles it
	v="$TMP/u.img"
	printf 'anaconda£ пароль' >"$TMP/pwu.txt"
	if "$BDKIT" -q encrypt "$TMP/plain-512.img" -o "$v" --password-file "$TMP/pwu.txt" --no-recovery-password \
		--json >"$TMP/out.json" 2>"$TMP/err"; then
		skip "unicode password: cryptsetup 2.6.1 and dislocker 0.7 fail on non-ASCII passwords (images README)"
		bde_test "unicode password" "$v" xts-128 "$TMP/plain-512.img" pw "$(cat "$TMP/pwu.txt")"
	else
		fail "unicode password: bdkit encrypt: $(cat "$TMP/err")"
	fi
	rm -f "$v"

	# format --mkfs ntfs: an empty NTFS that ntfs-3g reads through dislocker
	v="$TMP/m.img"
	if "$BDKIT" -q format "$v" --size 12M --mkfs ntfs --label BDKIT --json >"$TMP/out.json" 2>"$TMP/err"; then
		rp=$(rp_of "$TMP/out.json")
		if [ $HAVE_DIS = 1 ] && dislocker-file -V "$v" -p"$rp" -- "$TMP/dis.img" >/dev/null 2>&1 &&
			ntfsinfo -m "$TMP/dis.img" 2>/dev/null | grep -q 'Volume Name:.*BDKIT'; then
			pass "format --mkfs ntfs: ntfs-3g reads the new file system through dislocker"
		elif [ $HAVE_DIS = 1 ]; then
			fail "format --mkfs ntfs: no readable NTFS in dislocker's output"
		fi
	else
		fail "format --mkfs ntfs: $(cat "$TMP/err")"
	fi
	rm -f "$v" "$TMP/dis.img"
else
	skip "encrypt tests: ntfs-3g (mkntfs, ntfscp, ntfscat) not installed"
fi

# ---- FAT and exFAT images ----
if have mkfs.vfat && have mcopy && have mtype; then
	p="$TMP/fat.img" v="$TMP/ef.img"
	truncate -s 16M "$p"
	mkfs.vfat -n BDFAT "$p" >/dev/null 2>&1 && mcopy -i "$p" "$TMP/random.bin" ::random.bin 2>/dev/null
	if "$BDKIT" -q encrypt "$p" -o "$v" --method cbc-elephant-256 --json >"$TMP/out.json" 2>"$TMP/err" &&
		grep -q '"file_system":"FAT"' "$TMP/out.json"; then
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		cs_test "encrypt FAT" "$v" "$TMP/rp.txt"
		if dis_test "encrypt FAT" "$v" 512 "$(sha_padded "$p" "$(stat -c %s "$v")")" -p"$rp"; then
			mtype -i "$TMP/dis.img" ::random.bin 2>/dev/null | cmp -s - "$TMP/random.bin" &&
				pass "encrypt FAT: mtools reads the file back" || fail "encrypt FAT: mtype differs"
		fi
		skip "encrypt FAT: libbde 20190102 finds the volume size only in NTFS headers behind -FVE-FS-"
	else
		fail "encrypt FAT: $(cat "$TMP/err")"
	fi
	rm -f "$v" "$TMP/dis.img"
else
	skip "encrypt FAT: dosfstools/mtools not installed"
fi
if have mkfs.exfat && have fsck.exfat; then
	p="$TMP/exfat.img" v="$TMP/ex.img"
	truncate -s 16M "$p"
	mkfs.exfat -L BDEX "$p" >/dev/null 2>&1
	if "$BDKIT" -q encrypt "$p" -o "$v" --method xts-256 --json >"$TMP/out.json" 2>"$TMP/err" &&
		grep -q '"file_system":"exFAT"' "$TMP/out.json"; then
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		cs_test "encrypt exFAT" "$v" "$TMP/rp.txt"
		if dis_test "encrypt exFAT" "$v" 512 "$(sha_padded "$p" "$(stat -c %s "$v")")" -p"$rp"; then
			fsck.exfat -n "$TMP/dis.img" >/dev/null 2>&1 && pass "encrypt exFAT: fsck.exfat finds it clean" ||
				fail "encrypt exFAT: fsck.exfat complains"
		fi
	else
		fail "encrypt exFAT: $(cat "$TMP/err")"
	fi
	rm -f "$v" "$TMP/dis.img"
else
	skip "encrypt exFAT: exfatprogs not installed"
fi

# ---- bad input: clear errors, nothing written ----
v="$TMP/small.img"
"$BDKIT" format "$v" --size 1M >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 2 ] && [ ! -e "$v" ] && grep -q 'too small' "$TMP/err" &&
	pass "bad input: a too small volume is refused (exit 2), no file left" ||
	fail "bad input: too small: exit $rc, $(cat "$TMP/err")"

"$BDKIT" format "$TMP/absent.img" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 2 ] && [ ! -e "$TMP/absent.img" ] && pass "bad input: missing TARGET without --size (exit 2)" ||
	fail "bad input: missing target: exit $rc"

if [ $HAVE_NTFS = 1 ]; then
	p="$TMP/plain-512.img"
	cp "$p" "$TMP/victim.img"
	before=$(sha "$TMP/victim.img")
	"$BDKIT" format "$TMP/victim.img" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 11 ] && [ "$(sha "$TMP/victim.img")" = "$before" ] && grep -q 'already holds NTFS' "$TMP/err" &&
		pass "bad input: format refuses a target holding NTFS without --force (exit 11, unchanged)" ||
		fail "bad input: existing NTFS: exit $rc, $(cat "$TMP/err")"
	"$BDKIT" -q format "$TMP/victim.img" --force --json >/dev/null 2>"$TMP/err" &&
		[ "$(head -c 11 "$TMP/victim.img" | tail -c 8)" = "-FVE-FS-" ] &&
		pass "bad input: --force overwrites" || fail "bad input: --force: $(cat "$TMP/err")"
	"$BDKIT" encrypt "$p" -o "$TMP/victim.img" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 11 ] && grep -q 'already holds a BitLocker volume' "$TMP/err" &&
		pass "bad input: encrypt refuses a non-empty TARGET (exit 11)" || fail "bad input: encrypt over data: exit $rc"
	rm -f "$TMP/victim.img"
	head -c 1048576 /dev/urandom >"$TMP/noise.img"
	"$BDKIT" encrypt "$TMP/noise.img" -o "$TMP/n.img" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 2 ] && [ ! -e "$TMP/n.img" ] && grep -q 'no NTFS, FAT or exFAT' "$TMP/err" &&
		pass "bad input: encrypt refuses an image without a file system (exit 2)" ||
		fail "bad input: encrypt of noise: exit $rc, $(cat "$TMP/err")"
	"$BDKIT" encrypt "$p" -o "$p" >/dev/null 2>&1
	[ $? = 2 ] && pass "bad input: encrypt refuses TARGET = PLAIN" || fail "bad input: TARGET = PLAIN accepted"
	"$BDKIT" encrypt "$p" -o "$TMP/ss.img" --sector-size 4096 >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 2 ] && [ ! -e "$TMP/ss.img" ] && pass "bad input: sector size other than the file system's (exit 2)" ||
		fail "bad input: sector-size mismatch: exit $rc"
fi

# a block device target (loop device): the whole device becomes the volume
truncate -s 6M "$TMP/dev.img"
if dev=$(losetup -f --show "$TMP/dev.img" 2>/dev/null); then
	"$BDKIT" -q format "$dev" --method cbc-128 --json >"$TMP/out.json" 2>"$TMP/err"
	rc=$?
	losetup -d "$dev"
	if [ $rc = 0 ] && grep -q '"size":6291456' "$TMP/out.json"; then
		rp=$(rp_of "$TMP/out.json")
		printf '%s' "$rp" >"$TMP/rp.txt"
		cs_test "format on a loop device" "$TMP/dev.img" "$TMP/rp.txt"
		dis_test "format on a loop device" "$TMP/dev.img" 512 "$(head -c 6291456 /dev/zero | sha256sum | cut -d' ' -f1)" -p"$rp"
	else
		fail "format on a loop device: exit $rc, $(cat "$TMP/err")"
	fi
	rm -f "$TMP/dev.img" "$TMP/dis.img"
else
	skip "format on a block device: losetup not available here"
fi

truncate -s 4M "$TMP/ro.img"
if ro=$(losetup -r -f --show "$TMP/ro.img" 2>/dev/null); then
	"$BDKIT" format "$ro" >/dev/null 2>"$TMP/err"
	rc=$?
	losetup -d "$ro"
	[ $rc = 11 ] && cmp -s "$TMP/ro.img" /dev/zero 2>/dev/null; cmprc=$?
	[ $rc = 11 ] && grep -q 'read-only' "$TMP/err" &&
		pass "bad input: a read-only device is refused (exit 11)" || fail "bad input: read-only: exit $rc, $(cat "$TMP/err")"
	[ -z "$(tr -d '\0' <"$TMP/ro.img" | head -c 1)" ] && pass "bad input: nothing written to the read-only device" ||
		fail "bad input: read-only device was modified"
	: $cmprc
else
	skip "bad input: read-only target: losetup -r not available here"
fi
exit 0
