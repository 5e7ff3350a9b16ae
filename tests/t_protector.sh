#!/bin/sh
# bdkit protector / suspend / resume on copies of real Windows volumes, judged by independent readers:
# cryptsetup (bitlkOpen --test-passphrase), dislocker-file and libbde (pybde) must open every volume
# bdkit changed with each of its protectors, and decrypt it to the sha256 published in images.conf.
# Also: reveal prints the recovery passwords of images.conf; crashes at each write leave a volume that
# cryptsetup opens with the old or the new recovery password; refusals write nothing.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -x "$BDKIT" ]; then fail "t_protector: $BDKIT not built"; exit 0; fi
need_images t_protector || exit 0
find_judges

I=$IMGDIR
sha() { sha256sum "$1" | cut -c1-64; }
# put IMAGE -> $TMP/IMAGE.img, a sparse copy (the shared files and the cache are never modified)
put() { rm -f "$TMP/$1.img" "$TMP/$1.img".bdkit-backup-*; cp --sparse=always "$I/$1.img" "$TMP/$1.img"; }
secret() { printf %s "$2" >"$TMP/$1"; }  # secret FILE VALUE

# ---- the judges: KIND pw|rp (FILE holds the secret), bek (FILE is the .BEK), clear ----
cs() { # NAME IMG KIND FILE
	[ $HAVE_CS = 1 ] || return 0
	if cryptsetup bitlkOpen --test-passphrase "$2" --key-file "$4" >"$TMP/cs.log" 2>&1; then
		pass "$1: cryptsetup opens it"
	else
		fail "$1: cryptsetup bitlkOpen --test-passphrase: $(tail -1 "$TMP/cs.log")"
	fi
}
dis() { # NAME IMG KIND FILE WANT
	[ $HAVE_DIS = 1 ] || return 0
	case $3 in
	pw) set -- "$1" "$2" "$5" -u"$(cat "$4")";;
	rp) set -- "$1" "$2" "$5" -p"$(cat "$4")";;
	bek) set -- "$1" "$2" "$5" -f "$4";;
	clear) set -- "$1" "$2" "$5" -c;;
	esac
	n=$1 img=$2 want=$3
	shift 3
	rm -f "$TMP/dis.img"
	if ! dislocker-file -V "$img" "$@" -- "$TMP/dis.img" >"$TMP/dis.log" 2>&1; then
		fail "$n: dislocker-file failed: $(grep -v '^$' "$TMP/dis.log" | tail -1)"
	elif [ "$(sha "$TMP/dis.img")" = "$want" ]; then
		pass "$n: dislocker decrypts it to the published sha256"
	else
		fail "$n: dislocker output sha256 $(sha "$TMP/dis.img"), published $want"
	fi
	rm -f "$TMP/dis.img"
}
bde_out() { # IMG KIND FILE -> "sha" or "error: ..."
	$PY - "$1" "$2" "$3" 2>&1 <<'EOF'
import hashlib, sys, pybde
img, kind, f = sys.argv[1:4]
v = pybde.volume()
if kind == "rp": v.set_recovery_password(open(f).read().strip())
elif kind == "pw": v.set_password(open(f).read())
else: v.read_startup_key(f)
try:
    v.open(img)
except OSError as e:
    print("error:", str(e).split(". ")[1] if ". " in str(e) else e); sys.exit(0)
h, size, done = hashlib.sha256(), v.get_size(), 0
while done < size:
    n = min(1 << 22, size - done); h.update(v.read_buffer(n)); done += n
print(h.hexdigest())
EOF
}
bde() { # NAME IMG KIND FILE WANT
	[ $HAVE_BDE = 1 ] || return 0
	got=$(bde_out "$2" "$3" "$4")
	if [ "$got" = "$5" ]; then pass "$1: libbde decrypts it to the published sha256"
	else fail "$1: libbde: $got"; fi
}
judge() { # NAME IMG KIND FILE WANT: all three readers
	cs "$@"
	dis "$@"
	bde "$@"
}
# The same secret must be refused by cryptsetup (a removed or replaced protector).
cs_refuses() { # NAME IMG FILE
	[ $HAVE_CS = 1 ] || return 0
	if cryptsetup bitlkOpen --test-passphrase "$2" --key-file "$3" >/dev/null 2>&1; then
		fail "$1: cryptsetup still opens the volume with it"
	else
		pass "$1: cryptsetup no longer opens the volume with it"
	fi
}
# Every top-level datum of the old copy-in-use that the change did not touch is in the new one, byte for byte.
datums() { # IMG -> one hex line per top-level datum of copy 1
	$PY - "$1" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb"); hdr = f.read(512)
f.seek(struct.unpack_from("<Q", hdr, 0xb0)[0]); b = f.read(65536)
st, en = struct.unpack_from("<II", b, 0x48)
o, e = 0x40 + st, 0x40 + en
while o + 8 <= e:
    s = struct.unpack_from("<H", b, o)[0]
    if s < 8: break
    print(b[o:o + s].hex()); o += s
EOF
}
kept() { # NAME OLD-LIST NEW-LIST EXPECTED-DROPPED
	missing=$(grep -vxFf "$3" "$2" | wc -l)
	if [ "$missing" = "$4" ]; then pass "$1: every other datum is kept byte for byte"
	else fail "$1: $missing datums of the old metadata are missing or changed (expected $4)"; fi
}
unchanged() { # NAME FILE SHA-BEFORE
	if [ "$(sha "$2")" = "$3" ]; then pass "$1: nothing was written"; else fail "$1: the image changed"; fi
}

# ===== 1. bitlk-aes-xts-128: add, reveal, rotate, remove, startup key, suspend, resume, restore =====
IMG=bitlk-aes-xts-128
put $IMG
V="$TMP/$IMG.img"
S=$(conf $IMG SHA256SUM)
secret pw "$(conf $IMG PW)"
secret rp0 "$(conf $IMG RP)"
orig=$(sha "$V")
datums "$V" >"$TMP/d0"

# add a recovery password (unlocked with the password)
if "$BDKIT" -q protector add recovery-password "$V" --password-file "$TMP/pw" --backup "$TMP/b1.bdkp" \
	--recovery-key-file "$TMP" >"$TMP/add.out" 2>"$TMP/err"; then
	pass "add: recovery password added"
else
	fail "add: $(cat "$TMP/err")"
fi
RP1=$(sed -n 's/^Recovery password: *//p' "$TMP/add.out")
ID1=$(sed -n 's/^Protector ID: *//p' "$TMP/add.out")
secret rp1 "$RP1"
datums "$V" >"$TMP/d1"
kept "add" "$TMP/d0" "$TMP/d1" 0
cs "add: new recovery password" "$V" rp "$TMP/rp1"
# dislocker 0.7 and libbde 20190102 only try the first recovery-password protector: the same happens
# with the second password of Windows' own two-recovery image, so they judge the new one after rotate.
if [ $HAVE_BDE = 1 ]; then
	secret rp2w "$(conf bitlk-aes-xts-128-two-recovery RP2)"
	case $(bde_out "$I/bitlk-aes-xts-128-two-recovery.img" rp "$TMP/rp2w") in
	error*) skip "add: libbde/dislocker use only the first recovery protector (also on Windows' two-recovery image); judged after rotate";;
	*) bde "add: new recovery password" "$V" rp "$TMP/rp1" "$S";;
	esac
fi
judge "add: old password" "$V" pw "$TMP/pw" "$S"
judge "add: old recovery password" "$V" rp "$TMP/rp0" "$S"
# the recovery key text file: UTF-16LE, names the ID and the password
txt="$TMP/BitLocker Recovery Key $(echo "$ID1" | tr -d '{}').TXT"
if [ -f "$txt" ] && iconv -f UTF-16 -t UTF-8 "$txt" 2>/dev/null | grep -q "$RP1"; then
	pass "add: --recovery-key-file wrote Windows' text file with the new password"
else
	fail "add: no recovery key text file $txt"
fi

# reveal: the original password (images.conf) and the new one
"$BDKIT" -q protector reveal "$V" --password-file "$TMP/pw" >"$TMP/rev" 2>"$TMP/err"
if grep -q "$(conf $IMG RP_VMK_GUID | tr a-f A-F)}  $(conf $IMG RP)\$" "$TMP/rev" && grep -q "$ID1  $RP1\$" "$TMP/rev"; then
	pass "reveal: prints the published recovery password and the added one with their IDs"
else
	fail "reveal: $(cat "$TMP/rev" "$TMP/err")"
fi

# rotate the original recovery password (the one we unlock with): the new one takes its place (first)
if "$BDKIT" -q protector rotate "$V" --recovery-password-file "$TMP/rp0" --backup "$TMP/b2.bdkp" \
	>"$TMP/rot.out" 2>"$TMP/err"; then
	pass "rotate: the used recovery password was replaced"
else
	fail "rotate: $(cat "$TMP/err")"
fi
secret rp2 "$(sed -n 's/^Recovery password: *//p' "$TMP/rot.out")"
ID2=$(sed -n 's/^Protector ID: *//p' "$TMP/rot.out")
datums "$V" >"$TMP/d2"
kept "rotate" "$TMP/d1" "$TMP/d2" 1
judge "rotate: new recovery password" "$V" rp "$TMP/rp2" "$S"
cs_refuses "rotate: the old recovery password" "$V" "$TMP/rp0"
judge "rotate: password" "$V" pw "$TMP/pw" "$S"

# remove the recovery password added first, by its ID
if "$BDKIT" -q protector remove "$V" --id "$ID1" --password-file "$TMP/pw" --backup "$TMP/b3.bdkp" 2>"$TMP/err"; then
	pass "remove: protector $ID1 removed"
else
	fail "remove: $(cat "$TMP/err")"
fi
datums "$V" >"$TMP/d3"
kept "remove" "$TMP/d2" "$TMP/d3" 1
cs_refuses "remove: the removed recovery password" "$V" "$TMP/rp1"
n=$("$BDKIT" protector list "$V" --json | grep -o '"number"' | wc -l)
[ "$n" = 2 ] && pass "remove: two protectors left" || fail "remove: $n protectors listed"

# a startup key (.BEK)
mkdir -p "$TMP/bek"
if "$BDKIT" -q protector add startup-key "$V" --password-file "$TMP/pw" --bek-dir "$TMP/bek" \
	--backup "$TMP/b4.bdkp" >"$TMP/bek.out" 2>"$TMP/err"; then
	pass "add: startup key added"
else
	fail "add startup key: $(cat "$TMP/err")"
fi
BEK=$(ls "$TMP"/bek/*.BEK 2>/dev/null | head -1)
judge "add: new startup key" "$V" bek "$BEK" "$S"

# suspend: a clear key shaped as Windows writes it (bitlk-aes-xts-128-clearkey-only, format.md §4.7)
cs_before=$(sha "$V")
if "$BDKIT" -q suspend "$V" --password-file "$TMP/pw" --backup "$TMP/b5.bdkp" 2>"$TMP/err"; then
	pass "suspend: clear key added"
else
	fail "suspend: $(cat "$TMP/err")"
fi
shape() { # IMG: the clear-key VMK entry's shape: datum versions, types, key types, sizes
	$PY - "$1" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb"); hdr = f.read(512)
f.seek(struct.unpack_from("<Q", hdr, 0xb0)[0]); b = f.read(65536)
st, en = struct.unpack_from("<II", b, 0x48)
o, e = 0x40 + st, 0x40 + en
while o + 8 <= e:
    s, role, t, ver = struct.unpack_from("<HHHH", b, o)
    if s < 8: break
    if t == 8 and struct.unpack_from("<H", b, o + 0x22)[0] == 0:
        out = ["vmk size %x version %d" % (s, ver)]
        c = o + 0x24
        while c + 8 <= o + s:
            cs, cr, ct, cv = struct.unpack_from("<HHHH", b, c)
            out.append("child size %x role %x type %x version %d keytype %x" % (cs, cr, ct, cv, struct.unpack_from("<H", b, c + 8)[0] if ct == 1 else 0))
            c += cs
        print("; ".join(out))
    o += s
EOF
}
win=$(shape "$I/bitlk-aes-xts-128-clearkey-only.img")
ours=$(shape "$V")
if [ -n "$win" ] && [ "$win" = "$ours" ]; then
	pass "suspend: the clear-key entry has Windows' shape ($ours)"
else
	fail "suspend: clear-key entry '$ours', Windows writes '$win'"
fi
dis "suspend: clear key" "$V" clear - "$S"
if [ "$("$BDKIT" -q decrypt "$V" -o - --no-prompt </dev/null 2>/dev/null | sha256sum | cut -c1-64)" = "$S" ]; then
	pass "suspend: bdkit opens it without a secret"
else
	fail "suspend: bdkit cannot open it without a secret"
fi
# cryptsetup 2.6 and libbde 20190102 refuse clear-key volumes: they must refuse ours as they refuse Windows'
if [ $HAVE_CS = 1 ]; then
	cryptsetup bitlkOpen --test-passphrase "$I/bitlk-aes-xts-128-clearkey-only.img" --key-file "$TMP/pw" >"$TMP/cw" 2>&1
	cryptsetup bitlkOpen --test-passphrase "$V" --key-file "$TMP/pw" >"$TMP/co" 2>&1
	if [ "$(tail -1 "$TMP/cw")" = "$(tail -1 "$TMP/co")" ]; then
		pass "suspend: cryptsetup treats it as Windows' suspended volume ($(tail -1 "$TMP/co"))"
	else
		fail "suspend: cryptsetup says '$(tail -1 "$TMP/co")', on Windows' suspended volume '$(tail -1 "$TMP/cw")'"
	fi
fi
if [ $HAVE_BDE = 1 ]; then
	w=$(bde_out "$I/bitlk-aes-xts-128-clearkey-only.img" pw "$TMP/pw")
	o=$(bde_out "$V" pw "$TMP/pw")
	case $w in
	error*) [ "$w" = "$o" ] && skip "suspend: libbde 20190102 cannot read clear-key entries (version 3), same on Windows' suspended volume" ||
		fail "suspend: libbde says '$o', on Windows' suspended volume '$w'";;
	*) bde "suspend: password" "$V" pw "$TMP/pw" "$S";;
	esac
fi

# resume: the clear key goes, no secret needed (the clear key opens it)
if "$BDKIT" -q resume "$V" --backup "$TMP/b6.bdkp" </dev/null 2>"$TMP/err"; then
	pass "resume: clear key removed"
else
	fail "resume: $(cat "$TMP/err")"
fi
judge "resume: password" "$V" pw "$TMP/pw" "$S"
judge "resume: recovery password" "$V" rp "$TMP/rp2" "$S"
judge "resume: startup key" "$V" bek "$BEK" "$S"
# outside the three metadata areas not a byte changed
$PY - "$V" "$I/$IMG.img" <<'EOF' >"$TMP/diff"
import struct, sys
a, b = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
hdr = b.read(512); offs = struct.unpack_from("<QQQ", hdr, 0xb0); b.seek(0)
n = 0
while True:
    x, y = a.read(4096), b.read(4096)
    if not x and not y: break
    pos = a.tell() - len(x)
    if x != y and not any(o <= pos < o + 65536 for o in offs): n += 1
print(n)
EOF
[ "$(cat "$TMP/diff")" = 0 ] && pass "all changes: nothing outside the three metadata areas changed" ||
	fail "all changes: $(cat "$TMP/diff") 4 KiB blocks outside the metadata areas differ"

# restore the first backup: the image is Windows' original again, byte for byte
if "$BDKIT" -q metadata restore "$V" "$TMP/b1.bdkp" 2>"$TMP/err" && [ "$(sha "$V")" = "$orig" ]; then
	pass "restore: the first backup gives back the original image byte for byte"
else
	fail "restore: $(cat "$TMP/err")"
fi
rm -f "$V"

# ===== 2. reveal on Windows' two-recovery image: both passwords of images.conf =====
IMG=bitlk-aes-xts-128-two-recovery
"$BDKIT" -q protector reveal "$I/$IMG.img" --password-file "$TMP/pw" >"$TMP/rev" 2>"$TMP/err"
for k in RP RP2; do
	g=$(conf $IMG ${k}_VMK_GUID | tr a-f A-F)
	if grep -qx "{$g}  $(conf $IMG $k)" "$TMP/rev"; then pass "reveal $IMG: $k"; else fail "reveal $IMG: $k not printed: $(cat "$TMP/rev" "$TMP/err")"; fi
done
got=$("$BDKIT" -q protector reveal "$I/$IMG.img" --password-file "$TMP/pw" --id "$(conf $IMG RP2_VMK_GUID)" 2>&1)
[ "$got" = "$(conf $IMG RP2)" ] && pass "reveal $IMG --id: only that password" || fail "reveal --id: $got"
for img in bitlk-aes-cbc-128 bitlk-aes-cbc-elephant-256 bitlk-togo-aes-xts-128 bitlk-aes-xts-128-4k; do
	got=$("$BDKIT" -q protector reveal "$I/$img.img" --password-file "$TMP/pw" 2>&1 | cut -d' ' -f3)
	[ "$got" = "$(conf $img RP)" ] && pass "reveal $img" || fail "reveal $img: $got"
done

# ===== 3. Windows' suspended volume: add a password with the clear key, then resume =====
IMG=bitlk-aes-xts-128-clearkey-only
put $IMG
V="$TMP/$IMG.img"
S=$(conf $IMG SHA256SUM)
before=$(sha "$V")
"$BDKIT" -q resume "$V" </dev/null 2>"$TMP/err"
rc=$?
[ $rc = 11 ] && grep -q refused "$TMP/err" && pass "clearkey-only: resume refused (no other protector), exit 11" ||
	fail "clearkey-only: resume: exit $rc: $(cat "$TMP/err")"
unchanged "clearkey-only: refused resume" "$V" "$before"
ls "$V".bdkit-backup-* >/dev/null 2>&1 && fail "clearkey-only: refused resume left a backup" || pass "clearkey-only: refused resume: no backup left"
"$BDKIT" -q protector reveal "$V" </dev/null >/dev/null 2>&1
[ $? = 9 ] && pass "clearkey-only: reveal: no recovery password (exit 9)" || fail "clearkey-only: reveal exit $?"
secret newpw "correct horse battery"
"$BDKIT" -q protector add password "$V" --new-password-file "$TMP/newpw" --clear-key >/dev/null 2>"$TMP/err" &&
	"$BDKIT" -q resume "$V" </dev/null 2>>"$TMP/err" && pass "clearkey-only: password added, resumed" ||
	fail "clearkey-only: $(cat "$TMP/err")"
judge "clearkey-only resumed: new password" "$V" pw "$TMP/newpw" "$S"
rm -f "$V" "$V".bdkit-backup-*

# ===== 4. smart card: its public-key protector is kept byte for byte; refusing to leave only it =====
IMG=bitlk-aes-xts-128-smart-card
put $IMG
V="$TMP/$IMG.img"
S=$(conf $IMG SHA256SUM)
secret rp "$(conf $IMG RP)"
datums "$V" >"$TMP/d0"
before=$(sha "$V")
"$BDKIT" -q protector remove "$V" --id "$(conf $IMG RP_VMK_GUID)" --recovery-password-file "$TMP/rp" 2>"$TMP/err"
rc=$?
[ $rc = 11 ] && pass "smart-card: removing the recovery password (only the smart card would remain) refused" ||
	fail "smart-card: remove: exit $rc: $(cat "$TMP/err")"
unchanged "smart-card: refused remove" "$V" "$before"
"$BDKIT" -q protector add password "$V" --new-password-file "$TMP/newpw" --recovery-password-file "$TMP/rp" \
	>/dev/null 2>"$TMP/err" || fail "smart-card: add password: $(cat "$TMP/err")"
datums "$V" >"$TMP/d1"
kept "smart-card add" "$TMP/d0" "$TMP/d1" 0
judge "smart-card: new password" "$V" pw "$TMP/newpw" "$S"
judge "smart-card: recovery password" "$V" rp "$TMP/rp" "$S"
rm -f "$V" "$V".bdkit-backup-*

# ===== 4b. other layouts: rotate on To Go, Elephant, 4096-byte sectors; the -crc image gets its copies back =====
for IMG in bitlk-togo-aes-cbc-128 bitlk-aes-cbc-elephant-128 bitlk-aes-xts-128-4k bitlk-aes-xts-128-crc; do
	put $IMG
	V="$TMP/$IMG.img"
	S=$(conf $IMG SHA256SUM)
	secret rp "$(conf $IMG RP)"
	if ! "$BDKIT" -q protector rotate "$V" --recovery-password-file "$TMP/rp" >"$TMP/rot.out" 2>"$TMP/err"; then
		fail "$IMG: rotate: $(cat "$TMP/err")"
		continue
	fi
	secret rpn "$(sed -n 's/^Recovery password: *//p' "$TMP/rot.out")"
	cs "$IMG rotated: new recovery password" "$V" rp "$TMP/rpn"
	cs_refuses "$IMG rotated: old recovery password" "$V" "$TMP/rp"
	case $IMG in
	*-4k) skip "$IMG: dislocker 0.7 decrypts 4096-byte-sector volumes in 512-byte units (dislocker issue #335)";;
	*) dis "$IMG rotated: new recovery password" "$V" rp "$TMP/rpn" "$S";;
	esac
	bde "$IMG rotated: new recovery password" "$V" rp "$TMP/rpn" "$S"
	if [ $IMG = bitlk-aes-xts-128-crc ]; then
		"$BDKIT" -q metadata check "$V" >"$TMP/chk" 2>&1 && pass "$IMG: all three copies valid again after the rewrite" ||
			fail "$IMG: metadata check after the rewrite: $(cat "$TMP/chk")"
	fi
	rm -f "$V" "$V".bdkit-backup-*
done

# ===== 5. crash at each write: cryptsetup opens the result with the old or the new password =====
IMG=bitlk-aes-xts-128
put $IMG
V="$TMP/$IMG.img"
orig=$(sha "$V")
for k in 0 1 2 3 4; do
	rm -f "$TMP/crash.bdkp"
	BDKIT_FAIL_WRITES_AFTER=$k "$BDKIT_HOOKS" -q protector rotate "$V" --recovery-password-file "$TMP/rp0" \
		--backup "$TMP/crash.bdkp" >"$TMP/crash.out" 2>"$TMP/err"
	rc=$?
	secret rpn "$(sed -n 's/^Recovery password: *//p' "$TMP/crash.out")"
	if [ $HAVE_CS = 1 ]; then
		o=0; n=0
		cryptsetup bitlkOpen --test-passphrase "$V" --key-file "$TMP/rp0" >/dev/null 2>&1 && o=1
		[ -s "$TMP/rpn" ] && cryptsetup bitlkOpen --test-passphrase "$V" --key-file "$TMP/rpn" >/dev/null 2>&1 && n=1
		if [ $((o + n)) = 1 ]; then
			pass "crash after $k writes (exit $rc): cryptsetup opens it with the $([ $o = 1 ] && echo old || echo new) recovery password"
		else
			fail "crash after $k writes (exit $rc): old opens: $o, new opens: $n"
		fi
	fi
	[ $k = 4 ] && { [ $rc = 0 ] && pass "crash test: with 4 writes allowed the rotation completes" ||
		fail "crash test: 4 writes allowed: exit $rc: $(cat "$TMP/err")"; }
	if [ $rc != 0 ] && ! grep -q "metadata restore" "$TMP/err" && [ $k -gt 0 ]; then
		fail "crash after $k writes: the error does not say how to restore: $(cat "$TMP/err")"
	fi
	"$BDKIT" -q metadata restore "$V" "$TMP/crash.bdkp" 2>/dev/null
	[ "$(sha "$V")" = "$orig" ] && pass "crash after $k writes: the backup restores the image byte for byte" ||
		fail "crash after $k writes: restore did not give back the original"
done

# ===== 6. refusals write nothing =====
before=$(sha "$V")
secret bad "wrong password"
"$BDKIT" -q protector add recovery-password "$V" --password-file "$TMP/bad" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 4 ] && pass "wrong password: exit 4" || fail "wrong password: exit $rc"
unchanged "wrong password" "$V" "$before"
secret badrp "111111-222222-333333-444444-555555-666666-111112-222222"
"$BDKIT" -q protector rotate "$V" --recovery-password-file "$TMP/badrp" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc = 10 ] && grep -q 'not divisible by 11' "$TMP/err" && pass "mistyped recovery password: exit 10, blocks named" ||
	fail "mistyped recovery password: exit $rc: $(cat "$TMP/err")"
unchanged "mistyped recovery password" "$V" "$before"
if [ $HAVE_CS = 1 ] && printf %s "$(conf $IMG PW)" | cryptsetup bitlkDump --dump-volume-key \
	--volume-key-file "$TMP/fvek" -q "$V" >/dev/null 2>&1; then
	"$BDKIT" -q protector add recovery-password "$V" --fvek "$TMP/fvek" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 11 ] && grep -q 'volume master key' "$TMP/err" && pass "FVEK only: refused (needs the VMK), exit 11" ||
		fail "FVEK only: exit $rc: $(cat "$TMP/err")"
	unchanged "FVEK only" "$V" "$before"
fi
"$BDKIT" -q protector remove "$V" --id 3E55195C --password-file "$TMP/pw" --backup "$TMP/r.bdkp" 2>/dev/null &&
	"$BDKIT" -q protector remove "$V" --id 64311DEA --recovery-password-file "$TMP/rp0" 2>"$TMP/err"
rc=$?
[ $rc = 11 ] && grep -q "without any protector" "$TMP/err" && pass "removing the last protector: refused, exit 11" ||
	fail "removing the last protector: exit $rc: $(cat "$TMP/err")"
cs "after the refusal: recovery password" "$V" rp "$TMP/rp0"
"$BDKIT" -q metadata restore "$V" "$TMP/r.bdkp" 2>/dev/null
before=$(sha "$V")
# read-only medium: a read-only bind mount in a private mount namespace
if unshare -m sh -c "mkdir -p '$TMP/ro' && mount --bind -o ro '$TMP' '$TMP/ro'" 2>/dev/null; then
	unshare -m sh -c "mount --bind -o ro '$TMP' '$TMP/ro' && '$BDKIT' -q protector add recovery-password \
		'$TMP/ro/$IMG.img' --password-file '$TMP/pw' --backup '$TMP/rob.bdkp'" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc = 11 ] || [ $rc = 6 ] && grep -qi 'read-only' "$TMP/err" && pass "read-only medium: refused (exit $rc): $(head -1 "$TMP/err")" ||
		fail "read-only medium: exit $rc: $(cat "$TMP/err")"
	unchanged "read-only medium" "$V" "$before"
	# the image is writable but its directory is not: the backup goes to the working directory
	mkdir -p "$TMP/rod" "$TMP/cwd"
	: >"$TMP/rod/$IMG.img"
	unshare -m sh -c "mount --bind -o ro '$TMP/rod' '$TMP/rod' && mount --bind '$V' '$TMP/rod/$IMG.img' && \
		cd '$TMP/cwd' && '$BDKIT' -q protector add password '$TMP/rod/$IMG.img' --password-file '$TMP/pw' \
		--new-password-file '$TMP/newpw'" >/dev/null 2>"$TMP/err"
	rc=$?
	b=$(ls "$TMP/cwd/$IMG.img".bdkit-backup-*.bdkp 2>/dev/null | head -1)
	[ $rc = 0 ] && [ -n "$b" ] && pass "read-only directory: the backup went to the working directory" ||
		fail "read-only directory: exit $rc, backup '$b': $(cat "$TMP/err")"
	"$BDKIT" -q metadata restore "$V" "$b" 2>/dev/null
	[ "$(sha "$V")" = "$before" ] && pass "read-only directory: that backup restores the image byte for byte" ||
		fail "read-only directory: restore from $b did not give back the image"
else
	skip "read-only medium: cannot make a read-only bind mount here (needs unshare -m and mount)"
fi
rm -f "$V"
