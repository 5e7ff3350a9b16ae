#!/bin/sh
# The inputs people bring, judged by independent parties:
#  - key files: Windows' recovery key .TXT (as bdkit format writes it, re-encoded by iconv to
#    UTF-16BE/UTF-8, Windows 7's wording) against the real volumes' published sha256; a file whose
#    identifier names another volume is refused; --bek-dir against the real startup-key volumes;
#  - a fully decrypted volume that still carries metadata opens with no secret in decrypt, mount
#    and the nbdkit plugin (published sha256);
#  - FVEK export: byte-identical to cryptsetup's own volume-key dump, and dislocker opens the volume
#    with the dislocker-format file (published sha256);
#  - --audit records: the output hash equals sha256sum of the output, the protector is the one
#    images.conf names, no secret inside, unreadable ranges listed.
. "$(dirname "$0")/lib.sh"
need_images inputs || exit 0
IMG=bitlk-aes-xts-128
SRC="$IMGDIR/$IMG.img"
SUM=$(conf $IMG SHA256SUM)
RP=$(conf $IMG RP)
W="$TMP/i"
mkdir -p "$W"

# sum_of ARGS: "rc sha256" of bdkit decrypt -o - ARGS
sum_of() {
	{ "$BDKIT" -q decrypt -o - --no-prompt "$@" 2>"$W/err" </dev/null; echo $? >"$W/rc"; } | sha256sum | cut -c1-64 >"$W/sum"
	echo "$(cat "$W/rc") $(cat "$W/sum")"
}
expect() { # NAME CODE PATTERN -- ARGS
	name=$1 code=$2 pat=$3
	shift 4
	"$BDKIT" -q "$@" --no-prompt </dev/null >"$W/out" 2>"$W/err"
	rc=$?
	if [ $rc -ge 128 ]; then fail "$name: crashed (exit $rc)"; return; fi
	if [ $rc != "$code" ]; then fail "$name: exit $rc, expected $code: $(head -2 "$W/err")"; return; fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$W/err"; then fail "$name: message lacks '$pat': $(head -2 "$W/err")"; return; fi
	pass "$name (exit $code)"
}

# ---- 1. Windows' recovery key file ----
mkdir -p "$W/keys"
printf 'inputs-test-pw\n' >"$W/pw"
"$BDKIT" -q format "$W/fmt.img" --size 16M --recovery-key-file "$W/keys" --password-file "$W/pw" >/dev/null 2>&1
TXT=$(ls "$W"/keys/*.TXT 2>/dev/null | head -1)
if [ -z "$TXT" ]; then
	fail "key file: bdkit format wrote no .TXT"
else
	head -c 2 "$TXT" | od -An -tx1 | grep -q "ff fe" && pass "format writes the .TXT as UTF-16LE with a BOM (as Windows)" ||
		fail "format .TXT encoding: $(head -c 4 "$TXT" | od -An -tx1)"
	iconv -f UTF-16 -t UTF-8 "$TXT" >"$W/utf8.txt"
	{ printf '\357\273\277'; cat "$W/utf8.txt"; } >"$W/utf8bom.txt"
	iconv -f UTF-16 -t UTF-16BE "$TXT" >"$W/be-nobom.txt"
	{ printf '\376\377'; cat "$W/be-nobom.txt"; } >"$W/be.txt"
	iconv -f UTF-16 -t UTF-16LE "$TXT" >"$W/le-nobom.txt"
	for f in "$TXT" "$W/utf8.txt" "$W/utf8bom.txt" "$W/be.txt" "$W/be-nobom.txt" "$W/le-nobom.txt"; do
		"$BDKIT" -q decrypt "$W/fmt.img" --test --recovery-password-file "$f" --no-prompt >/dev/null 2>"$W/err" &&
			pass "recovery key file $(basename "$f"): unlocks" || fail "recovery key file $(basename "$f"): $(head -2 "$W/err")"
	done
	"$BDKIT" -q decrypt "$W/fmt.img" --test --recovery-password-file - --no-prompt <"$TXT" >/dev/null 2>"$W/err" &&
		pass "recovery key file on stdin (UTF-16): unlocks" || fail "key file on stdin: $(head -2 "$W/err")"
	expect "a recovery key file of another volume: refused before any key is tried" 4 "belongs to another volume" -- \
		decrypt "$SRC" -o "$W/x" --recovery-password-file "$TXT"
	[ ! -e "$W/x" ] && pass "nothing written for a foreign key file" || fail "a foreign key file wrote output"
fi
# the real volume's recovery key in the Windows 10 and Windows 7 wordings, built from images.conf
ID=$(conf $IMG RP_VMK_GUID | tr a-f A-F)
python3 - "$W/win10.txt" "$W/win7.txt" "$ID" "$RP" <<'EOF'
import sys
w10 = ("BitLocker Drive Encryption recovery key\r\n\r\nTo verify that this is the correct recovery key, compare the start "
       "of the following identifier with the identifier value displayed on your PC.\r\n\r\nIdentifier:\r\n\r\n\t%s\r\n\r\n"
       "If the above identifier matches the one displayed by your PC, then use the following key to unlock your drive."
       "\r\n\r\nRecovery Key:\r\n\r\n\t%s\r\n\r\n" % (sys.argv[3], sys.argv[4]))
open(sys.argv[1], 'wb').write(b'\xff\xfe' + w10.encode('utf-16-le'))
w7 = ("BitLocker Drive Encryption Recovery Key\r\n\r\nThe recovery key is used to recover the data on a BitLocker protected "
      "drive.\r\n\r\nTo verify that this is the correct recovery key compare the identification with what is presented on "
      "the recovery screen.\r\n\r\nRecovery key identification: %s\r\nFull recovery key identification: %s\r\n\r\n"
      "BitLocker Recovery Key:\r\n%s\r\n" % (sys.argv[3][:16], sys.argv[3], sys.argv[4]))
open(sys.argv[2], 'wb').write(b'\xff\xfe' + w7.encode('utf-16-le'))
w7short = w7.replace("Full recovery key identification: %s\r\n" % sys.argv[3], "")
open(sys.argv[2] + '.short', 'wb').write(w7short.encode('utf-8'))
bad = w7short.replace(sys.argv[3][:8], "0BADBAD0")
open(sys.argv[2] + '.bad', 'wb').write(bad.encode('utf-8'))
EOF
for f in win10.txt win7.txt win7.txt.short; do
	set -- $(sum_of "$SRC" --recovery-password-file "$W/$f")
	[ "$1" = 0 ] && [ "$2" = "$SUM" ] && pass "Windows key file ($f) on $IMG: published sha256" || fail "$f: exit $1: $(head -2 "$W/err")"
done
expect "Windows 7 key file naming another key ID: refused" 4 "0BADBAD0" -- info "$SRC" --recovery-password-file "$W/win7.txt.bad"
printf '\377\376' >"$W/empty-utf16.txt"; printf 'n\0o\0 \0k\0e\0y\0' >>"$W/empty-utf16.txt"
expect "UTF-16 file without a recovery password" 10 "no 48-digit" -- info "$SRC" --recovery-password-file "$W/empty-utf16.txt"
PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
# nbdkit_run ARGS: nbdkit with the plugin; an ASan-instrumented plugin needs the ASan runtime preloaded
nbdkit_run() {
	if nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
		LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 nbdkit "$@"
	else
		nbdkit "$@"
	fi
}
if command -v nbdkit >/dev/null && [ -f "$PLUGIN" ]; then
	got=$(nbdkit_run -U - "$PLUGIN" volume="$SRC" recovery-password-file="$W/win10.txt" --run 'nbdcopy "$uri" - | sha256sum' 2>"$W/err" | cut -c1-64)
	[ "$got" = "$SUM" ] && pass "nbdkit plugin: recovery-password-file= takes Windows' UTF-16 key file" || fail "plugin key file: $got $(head -2 "$W/err")"
fi

# ---- --bek-dir ----
for img in bitlk-aes-xts-128-startup-key bitlk-aes-xts-128-startup-key-win11; do
	set -- $(sum_of "$IMGDIR/$img.img" --bek-dir "$IMGDIR")
	[ "$1" = 0 ] && [ "$2" = "$(conf $img SHA256SUM)" ] && pass "--bek-dir picks $img's .BEK by protector ID: published sha256" ||
		fail "--bek-dir $img: exit $1: $(head -2 "$W/err")"
done
mkdir -p "$W/usb"
for b in "$IMGDIR"/*.BEK; do cp "$b" "$W/usb/$(basename "$b" | tr A-Z a-z)"; done
set -- $(sum_of "$IMGDIR/bitlk-aes-xts-128-startup-key.img" --bek-dir "$W/usb")
[ "$1" = 0 ] && [ "$2" = "$(conf bitlk-aes-xts-128-startup-key SHA256SUM)" ] && pass "--bek-dir: lower-case names (a FAT stick) match" ||
	fail "--bek-dir lower case: exit $1"
mkdir -p "$W/emptydir"
expect "--bek-dir without a matching file" 9 "holds no .BEK" -- info "$IMGDIR/bitlk-aes-xts-128-startup-key.img" --bek-dir "$W/emptydir"
expect "--bek-dir on a volume without key protector" 9 "no startup or recovery key" -- info "$SRC" --bek-dir "$IMGDIR"

# ---- 2. a fully decrypted volume that still carries metadata ----
"$BDKIT" -q decrypt "$SRC" --recovery-password-file "$W/win10.txt" -o "$W/plain.img" 2>/dev/null
"$BDKIT" -q info --json "$SRC" >"$W/info.json" 2>/dev/null
python3 - "$SRC" "$W/plain.img" "$W/info.json" "$W/decrypted.img" <<'EOF'
import json, shutil, struct, sys, zlib
src, plain, info, out = sys.argv[1:5]
d = json.load(open(info))
shutil.copyfile(plain, out)
with open(src, 'rb') as s, open(out, 'r+b') as o:
    vo, vs = d['virtualized_offset'], d['virtualized_size']
    o.seek(vo); o.write(open(plain, 'rb').read(vs))          # the boot sectors in the clear at their relocated place
    s.seek(0); o.seek(0); o.write(s.read(512))               # the BitLocker header stays at sector 0
    for c in d['metadata_copies']:                           # metadata: state decrypted, method none, CRC renewed
        s.seek(c['offset']); blk = bytearray(s.read(65536))
        struct.pack_into('<HH', blk, 0x0C, 1, 1)
        struct.pack_into('<HH', blk, 0x40 + 0x24, 0, 0)
        S = struct.unpack_from('<H', blk, 8)[0] << 4
        struct.pack_into('<I', blk, S + 4, zlib.crc32(bytes(blk[:S])) & 0xffffffff)
        o.seek(c['offset']); o.write(blk)
EOF
rm -f "$W/plain.img"
"$BDKIT" -q info "$W/decrypted.img" >"$W/out" 2>&1 && grep -q "State: *decrypted" "$W/out" &&
	pass "decrypted volume with metadata: info says decrypted" || fail "decrypted volume info: $(head -5 "$W/out")"
set -- $(sum_of "$W/decrypted.img")
[ "$1" = 0 ] && [ "$2" = "$SUM" ] && pass "decrypted volume: decrypt with no secret gives the published sha256" ||
	fail "decrypted volume decrypt: exit $1: $(head -2 "$W/err")"
if command -v nbdkit >/dev/null && [ -f "$PLUGIN" ]; then
	got=$(nbdkit_run -U - "$PLUGIN" volume="$W/decrypted.img" --run 'nbdcopy "$uri" - | sha256sum' 2>"$W/err" | cut -c1-64)
	[ "$got" = "$SUM" ] && pass "decrypted volume: nbdkit plugin with no secret: published sha256" ||
		fail "decrypted volume nbdkit: $got $(head -2 "$W/err")"
fi
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir -p "$W/mnt"
	if "$BDKIT" -q mount "$W/decrypted.img" "$W/mnt" --no-prompt </dev/null >"$W/out" 2>&1; then
		got=$(sha256sum <"$W/mnt/bitlocker-volume" | cut -c1-64)
		"$BDKIT" -q umount "$W/mnt" 2>/dev/null || fusermount3 -u -z "$W/mnt"
		[ "$got" = "$SUM" ] && pass "decrypted volume: mount with no secret: published sha256" || fail "decrypted mount: $got"
	else
		fail "decrypted volume: mount with no secret failed: $(head -2 "$W/out")"
	fi
fi
rm -f "$W/decrypted.img"

# ---- 3. FVEK export for cryptsetup and dislocker ----
for img in bitlk-aes-xts-128 bitlk-aes-xts-256 bitlk-aes-cbc-128 bitlk-aes-cbc-256 bitlk-aes-cbc-elephant-128 bitlk-aes-cbc-elephant-256; do
	conf $img RP | tr -d '\n' >"$W/rp"
	"$BDKIT" -q keypackage export "$IMGDIR/$img.img" --recovery-password-file "$W/rp" --fvek-out "$W/$img.cs" >/dev/null 2>"$W/err" ||
		{ fail "FVEK export $img: $(head -2 "$W/err")"; continue; }
	[ "$(stat -c %a "$W/$img.cs")" = 600 ] || fail "FVEK export $img: mode $(stat -c %a "$W/$img.cs")"
	if command -v cryptsetup >/dev/null; then
		cryptsetup bitlkDump --dump-volume-key --volume-key-file "$W/$img.ref" --key-file "$W/rp" -q "$IMGDIR/$img.img" >/dev/null 2>&1
		cmp -s "$W/$img.cs" "$W/$img.ref" && pass "FVEK export $img: byte-identical to cryptsetup's own volume key dump" ||
			fail "FVEK export $img: differs from cryptsetup bitlkDump --dump-volume-key ($(stat -c %s "$W/$img.cs") vs $(stat -c %s "$W/$img.ref" 2>/dev/null) bytes)"
	fi
	"$BDKIT" -q keypackage export "$IMGDIR/$img.img" --recovery-password-file "$W/rp" --fvek-out "$W/$img.dl" --fvek-format dislocker >/dev/null 2>&1
	[ "$(stat -c %s "$W/$img.dl")" = 66 ] || fail "FVEK export $img for dislocker: $(stat -c %s "$W/$img.dl") bytes, not 66"
	# dislocker reading the whole volume judges the file format, not bdkit's memory use: once, in the normal build
	case $BUILD in *asan*) continue ;; esac
	rm -f "$W/dl.out"
	timeout 120 dislocker-file -V "$IMGDIR/$img.img" -k "$W/$img.dl" -- "$W/dl.out" >/dev/null 2>&1
	got=$(sha256sum <"$W/dl.out" 2>/dev/null | cut -c1-64)
	[ "$got" = "$(conf $img SHA256SUM)" ] && pass "FVEK export $img: dislocker -k opens the volume: published sha256" ||
		fail "FVEK export $img for dislocker: sha $got"
	rm -f "$W/dl.out"
done
# cryptsetup opening the volume with the file needs device-mapper (absent in most containers)
if command -v cryptsetup >/dev/null && [ -e /dev/mapper/control ] && command -v losetup >/dev/null && loop=$(losetup -f --show -r "$SRC" 2>/dev/null); then
	name=bdkit-test-$$
	if cryptsetup open --type bitlk --readonly --volume-key-file "$W/$IMG.cs" "$loop" $name 2>"$W/err"; then
		got=$(sha256sum </dev/mapper/$name | cut -c1-64)
		cryptsetup close $name
		[ "$got" != "" ] && pass "cryptsetup open --volume-key-file (bdkit's export) maps the volume" || fail "cryptsetup open: $got"
	fi   # no device-mapper in this kernel or container: the byte comparison above is the judge
	losetup -d "$loop"
fi

# ---- 4. audit records ----
"$BDKIT" -q decrypt "$SRC" --recovery-password "$RP" -o "$W/out.img" --audit "$W/a.json" 2>/dev/null
rc=$?
python3 - "$W/a.json" "$SUM" "$(sha256sum <"$W/out.img" | cut -c1-64)" "$(conf $IMG RP_VMK_GUID)" "$RP" <<'EOF' 2>"$W/err"
import json, sys
path, published, actual, rp_guid, rp = sys.argv[1:6]
text = open(path).read()
assert rp not in text and rp.replace('-', '') not in text, 'secret in the record'
d = json.load(open(path))
assert d['tool'] == 'bdkit' and d['command'] == 'decrypt' and d['result'] == 'success', d
assert d['output']['sha256'] == published == actual, (d['output'], published, actual)
assert d['output']['size'] == 104857600
assert d['unlock']['with'] == 'protector' and d['unlock']['protector_id'] == rp_guid and d['unlock']['kind'] == 'recovery password', d['unlock']
assert d['input']['container'] == 'raw file' and d['input']['volume_offset'] == 0 and d['metadata']['copy_used'] == 1
assert '(secret)' in d['arguments']
assert d['start'] <= d['end']
EOF
[ $rc = 0 ] && [ ! -s "$W/err" ] && pass "decrypt --audit: output sha256 and size, protector ID and kind, no secret" ||
	fail "decrypt --audit: $(tail -2 "$W/err")"
# to stdout, the record holds the SHA-256 of the stream as written (several workers write it in turn)
got=$("$BDKIT" -q decrypt "$SRC" --recovery-password "$RP" -o - -j 3 --audit "$W/b.json" 2>"$W/err" | sha256sum | cut -c1-64)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["output"]["sha256"] == sys.argv[2] == sys.argv[3], d["output"]' \
	"$W/b.json" "$SUM" "$got" 2>>"$W/err" && pass "decrypt -o - --audit: the record's sha256 is the stream's, the published one" ||
	fail "decrypt -o - --audit: $(tail -2 "$W/err")"
[ "$(stat -c %a "$W/a.json")" = 600 ] && pass "audit record is mode 0600" || fail "audit mode $(stat -c %a "$W/a.json")"
expect "an existing audit record is never replaced" 11 "never replaced" -- decrypt "$SRC" --recovery-password "$RP" -o "$W/out2.img" --audit "$W/a.json"
rm -f "$W/out.img" "$W/out2.img"
printf '%s' "$RP" >"$W/rp"
BDKIT_FAULT_RANGES=40000000:65536 "$BDKIT_HOOKS" -q repair "$SRC" -o "$W/rep.img" --recovery-password-file "$W/rp" --audit "$W/r.json" >/dev/null 2>&1
python3 - "$W/r.json" "$(sha256sum <"$W/rep.img" | cut -c1-64)" <<'EOF' 2>"$W/err"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['command'] == 'repair' and d['output']['sha256'] == sys.argv[2], d.get('output')
bad = d['unreadable']
assert bad and bad[0]['offset'] <= 40000000 < bad[0]['offset'] + bad[0]['length'], bad
assert d['unlock']['kind'] == 'recovery password'
EOF
[ ! -s "$W/err" ] && pass "repair --audit: unreadable ranges listed, output sha256 equals the file's" || fail "repair --audit: $(tail -2 "$W/err")"
rm -f "$W/rep.img" "$W/rep.img.map"
