#!/bin/sh
# Certificate (public-key) protectors written by bdkit, and unlocking with the certificate's private key
# (issue 11, items 3-5). Judged independently:
#  - keys, certificates and PKCS#12 files are made by the openssl command; a SoftHSM2 token (its own
#    configuration and token directory in $TMP) gets the key through pkcs11-tool;
#  - a volume opened with the private key decrypts to the sha256 published with the real Windows volume
#    (images.conf), or, for a bdkit-made volume, to what dislocker decrypts it to with the password;
#  - after the protector is added and after it is removed, cryptsetup, dislocker and libbde still open the
#    volume with its other protectors, to the published sha256;
#  - the datum tree bdkit writes is compared, by a Python reader of the raw bytes, with the one in the real
#    Windows smart-card volume (types, roles, versions, sizes, order);
#  - refusals (wrong key, wrong PIN, encrypted key without its password, certificate without key
#    encipherment) have their exit codes and messages, and the image's sha256 does not change.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
# never leave a mount behind, whatever fails
trap 'grep -q " $TMP/mnt " /proc/self/mounts 2>/dev/null && fusermount3 -u -z "$TMP/mnt"; rm -rf "$TMP"' EXIT
if [ ! -x "$BDKIT" ]; then fail "t_certificate: $BDKIT not built"; exit 0; fi
need_images t_certificate || exit 0
have() { command -v "$1" >/dev/null 2>&1; }
if ! have openssl; then fail "t_certificate: openssl missing (scripts/install-deps.sh installs it)"; exit 0; fi
find_judges

I=$IMGDIR
sha() { sha256sum "$1" | cut -c1-64; }
put() { rm -f "$TMP/$1.img"; cp --sparse=always "$I/$1.img" "$TMP/$1.img"; }
secret() { printf %s "$2" >"$TMP/$1"; }

# ---- the judges (KIND pw|rp, FILE holds the secret) ----
cs() { # NAME IMG KIND FILE WANT
	[ $HAVE_CS = 1 ] || return 0
	if cryptsetup bitlkOpen --test-passphrase "$2" --key-file "$4" >"$TMP/cs.log" 2>&1; then
		pass "$1: cryptsetup opens it"
	else
		fail "$1: cryptsetup bitlkOpen --test-passphrase: $(tail -1 "$TMP/cs.log")"
	fi
}
dis() { # NAME IMG KIND FILE WANT
	[ $HAVE_DIS = 1 ] || return 0
	case $3 in pw) o=-u;; rp) o=-p;; esac
	rm -f "$TMP/dis.img"
	if ! dislocker-file -V "$2" "$o$(cat "$4")" -- "$TMP/dis.img" >"$TMP/dis.log" 2>&1; then
		fail "$1: dislocker-file failed: $(grep -v '^$' "$TMP/dis.log" | tail -1)"
	elif [ "$(sha "$TMP/dis.img")" = "$5" ]; then
		pass "$1: dislocker decrypts it to the published sha256"
	else
		fail "$1: dislocker output sha256 $(sha "$TMP/dis.img"), want $5"
	fi
	rm -f "$TMP/dis.img"
}
bde() { # NAME IMG KIND FILE WANT
	[ $HAVE_BDE = 1 ] || return 0
	got=$($PY - "$2" "$3" "$4" 2>&1 <<'PY'
import hashlib, sys, pybde
img, kind, f = sys.argv[1:4]
v = pybde.volume()
if kind == "rp": v.set_recovery_password(open(f).read().strip())
else: v.set_password(open(f).read())
try:
    v.open(img)
except OSError as e:
    print("error:", e); sys.exit(0)
h, size, done = hashlib.sha256(), v.get_size(), 0
while done < size:
    n = min(1 << 22, size - done); h.update(v.read_buffer(n)); done += n
print(h.hexdigest())
PY
)
	if [ "$got" = "$5" ]; then pass "$1: libbde decrypts it to the published sha256"
	else fail "$1: libbde: $got"; fi
}
judge() { cs "$@"; dis "$@"; bde "$@"; }
unchanged() { # NAME FILE SHA-BEFORE
	if [ "$(sha "$2")" = "$3" ]; then pass "$1: nothing was written"; else fail "$1: the image changed"; fi
}
expect() { # NAME RC WANT-RC FILE PATTERN
	if [ "$2" = "$3" ] && grep -q "$5" "$4"; then pass "$1: exit $2, '$5'"
	else fail "$1: exit $2 (want $3): $(head -3 "$4")"; fi
}
# bdkit decrypt VOLUME with the key options given -> sha256 of the output (or "" and the error in $TMP/dec.err)
dec() { # IMG OPTIONS...
	img=$1; shift
	rm -f "$TMP/dec.img"
	if "$BDKIT" -v decrypt "$img" --no-prompt "$@" -o "$TMP/dec.img" </dev/null >/dev/null 2>"$TMP/dec.err"; then
		sha "$TMP/dec.img"
	fi
	rm -f "$TMP/dec.img"
}

# ---- keys and certificates, by openssl ----
K=$TMP/k
mkdir -p "$K"
if ! (cd "$K" && set -e; exec >log 2>&1
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem
	openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout pass:key-pw -out key-enc.pem
	openssl pkey -in key.pem -outform DER -out key.der
	req() { k=$1; o=$2; shift 2; openssl req -x509 -new -key "$k" -subj /CN=bdkit-cert-test -days 30 "$@" -out "$o"; }
	req key.pem cert.pem -addext keyUsage=keyEncipherment -addext extendedKeyUsage=1.3.6.1.4.1.311.67.1.1
	req key.pem cert-dra.pem -addext keyUsage=keyEncipherment -addext extendedKeyUsage=1.3.6.1.4.1.311.67.1.2
	req key.pem cert-sign.pem -addext keyUsage=digitalSignature
	openssl x509 -in cert.pem -outform DER -out cert.der
	openssl pkcs12 -export -inkey key.pem -in cert.pem -passout pass:p12-pw -out key.p12
	openssl x509 -in cert.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' > fp
	printf 'p12-pw\n' > p12pw; printf 'key-pw\n' > keypw); then
	fail "openssl: making keys failed: $(tail -3 "$K/log")"; exit 0
fi
FP=$(cat "$K/fp")

# ---- a SoftHSM2 token with its own configuration, the key imported by pkcs11-tool ----
HSM=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so; do
	[ -r "$m" ] && HSM=$m && break
done
if [ -n "$HSM" ] && have softhsm2-util && have pkcs11-tool; then
	mkdir -p "$TMP/hsm/tokens"
	printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP" >"$TMP/hsm/conf"
	export SOFTHSM2_CONF="$TMP/hsm/conf"
	if (exec >"$TMP/hsm/log" 2>&1; set -e
		softhsm2-util --init-token --free --label bdkit-cert --so-pin 87654321 --pin 123456
		pkcs11-tool --module "$HSM" --token-label bdkit-cert --login --pin 123456 --write-object "$K/key.der" \
			--type privkey --id 4242 --label card-key
		pkcs11-tool --module "$HSM" --token-label bdkit-cert --login --pin 123456 --write-object "$K/cert.der" \
			--type cert --id 4242 --label card-key); then
		printf '123456\n' >"$TMP/pin"; printf '999999\n' >"$TMP/badpin"
		URI="pkcs11:token=bdkit-cert;object=card-key"
	else
		fail "SoftHSM2 token setup: $(tail -2 "$TMP/hsm/log")"; HSM=
	fi
else
	skip "SoftHSM2 checks: softhsm2 or opensc (pkcs11-tool) not installed"; HSM=
fi

# ===== 1. a copy of the real Windows volume bitlk-aes-xts-128 (password + recovery password) =====
IMG=bitlk-aes-xts-128
put $IMG
V="$TMP/$IMG.img"
S=$(conf $IMG SHA256SUM)
secret pw "$(conf $IMG PW)"
secret rp "$(conf $IMG RP)"

# refused certificate: exit 10, nothing written
before=$(sha "$V")
"$BDKIT" protector add certificate "$V" --certificate "$K/cert-sign.pem" --password-file "$TMP/pw" >"$TMP/out" 2>&1
expect "add: certificate without key encipherment" $? 10 "$TMP/out" "lacks key encipherment"
unchanged "add: certificate without key encipherment" "$V" "$before"
"$BDKIT" protector add certificate "$V" --certificate "$K/cert.pem" --dra --password-file "$TMP/pw" >"$TMP/out" 2>&1
expect "add --dra: certificate without the DRA EKU" $? 10 "$TMP/out" "1.3.6.1.4.1.311.67.1.2"
unchanged "add --dra: certificate without the DRA EKU" "$V" "$before"

# add it (DER certificate), unlocked with the password
if "$BDKIT" protector add certificate "$V" --certificate "$K/cert.der" --password-file "$TMP/pw" \
	--backup "$TMP/b1.bdkp" >"$TMP/add.out" 2>"$TMP/err"; then
	pass "add certificate to a copy of $IMG"
else
	fail "add certificate: $(cat "$TMP/err")"
fi
ID=$(sed -n 's/^Protector ID: *//p' "$TMP/add.out")
"$BDKIT" protector list "$V" >"$TMP/list" 2>&1
grep -A1 "public key .*$ID" "$TMP/list" | grep -q "thumbprint $FP, user certificate" &&
	pass "protector list: the new protector carries openssl's thumbprint $FP, user certificate" ||
	fail "protector list: $(grep -A2 'public key' "$TMP/list")"
judge "after add: password" "$V" pw "$TMP/pw" "$S"
judge "after add: recovery password" "$V" rp "$TMP/rp" "$S"

# the datum tree against the real smart-card volume's, from the raw bytes
tree() { # IMG [ENTRY-VOLUME-BYTE] -> "size role type version" of the 0x1000 entry and each child
	$PY - "$@" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
def walk(e):
    size, role, typ, ver = struct.unpack_from("<HHHH", e, 0)
    out = ["entry %d %d %d %d %04x" % (size, role, typ, ver, struct.unpack_from("<H", e, 34)[0])]
    o = 36
    while o + 8 <= size:
        s, r, t, v = struct.unpack_from("<HHHH", e, o)
        out.append("%d %#06x %#06x %d" % (s, r, t, v))
        if t == 4:   # USE_KEY: key type and its AES-CCM child
            out.append("  use-key %#06x; child %d %#06x %#06x %d" % ((struct.unpack_from("<H", e, o + 8)[0],) +
                       struct.unpack_from("<HHHH", e, o + 12)))
        if t == 0xE:
            out.append("  gsin %r size %d type %d hash %d" % ((e[o+8:o+12],) + struct.unpack_from("<III", e, o + 12)))
        o += s
    return "\n".join(out)
if len(sys.argv) > 2:
    f.seek(int(sys.argv[2])); print(walk(f.read(65536)))
else:
    hdr = f.read(512)
    f.seek(struct.unpack_from("<Q", hdr, 0xb0)[0]); b = f.read(65536)
    st, en = struct.unpack_from("<II", b, 0x48)
    o, e = 0x40 + st, 0x40 + en
    while o + 8 <= e:
        s, r, t = struct.unpack_from("<HHH", b, o)
        if r == 2 and t == 8 and struct.unpack_from("<H", b, o + 34)[0] == 0x1000:
            print(walk(b[o:o + s]))
        o += s
PY
}
tree "$I/bitlk-aes-xts-128-smart-card.img" 35213492 >"$TMP/tree.win"
tree "$V" >"$TMP/tree.bdkit"
if [ -s "$TMP/tree.win" ] && grep -q "^entry 808 " "$TMP/tree.win" && cmp -s "$TMP/tree.win" "$TMP/tree.bdkit"; then
	pass "datum tree: bdkit's entry = the Windows sample's ($(grep -c . "$TMP/tree.win") lines: sizes, roles, types, versions, order)"
else
	fail "datum tree differs: $(diff "$TMP/tree.win" "$TMP/tree.bdkit" | head -6 | tr '\n' ' ')"
fi

# unlock with the private key: PEM, encrypted PKCS#8 with its password file, DER, PKCS#12, token
got=$(dec "$V" --private-key "$K/key.pem")
[ "$got" = "$S" ] && pass "decrypt --private-key PEM: published sha256" || fail "decrypt --private-key: $(tail -1 "$TMP/dec.err")"
grep -q "RSA padding OAEP SHA-1" "$TMP/dec.err" && pass "-v names the padding (OAEP SHA-1)" ||
	fail "-v: no padding named: $(grep -i unlocked "$TMP/dec.err")"
got=$(dec "$V" --private-key "$K/key-enc.pem" --key-password-file "$K/keypw")
[ "$got" = "$S" ] && pass "decrypt --private-key encrypted PKCS#8 + --key-password-file: published sha256" ||
	fail "encrypted PEM: $(tail -1 "$TMP/dec.err")"
got=$(dec "$V" --private-key "$K/key.der")
[ "$got" = "$S" ] && pass "decrypt --private-key DER: published sha256" || fail "DER key: $(tail -1 "$TMP/dec.err")"
got=$(dec "$V" --pkcs12 "$K/key.p12" --key-password-file "$K/p12pw")
[ "$got" = "$S" ] && pass "decrypt --pkcs12 (openssl pkcs12 -export): published sha256" ||
	fail "PKCS#12: $(tail -1 "$TMP/dec.err")"
if [ -n "$HSM" ]; then
	got=$(dec "$V" --pkcs11 "$URI" --pkcs11-module "$HSM" --pin-file "$TMP/pin")
	[ "$got" = "$S" ] && pass "decrypt --pkcs11 (SoftHSM2 token): published sha256" ||
		fail "PKCS#11: $(tail -1 "$TMP/dec.err")"
	got=$(dec "$V" --pkcs11 "$URI?module-path=$HSM" --pin-file "$TMP/pin")
	[ "$got" = "$S" ] && pass "decrypt --pkcs11 with module-path in the URI: published sha256" ||
		fail "PKCS#11 module-path: $(tail -1 "$TMP/dec.err")"
fi
# the nbdkit plugin
if have nbdkit && have nbdcopy; then
	PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
	got=$(
		# an ASan-instrumented plugin needs the ASan runtime loaded first into (uninstrumented) nbdkit
		if nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
			LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
			ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
			export LD_PRELOAD ASAN_OPTIONS
		fi
		nbdkit -U - "$PLUGIN" volume="$V" pkcs12="$K/key.p12" key-password-file="$K/p12pw" \
			--run 'nbdcopy "$uri" - | sha256sum' 2>"$TMP/nbd.err" | cut -c1-64)
	[ "$got" = "$S" ] && pass "nbdkit plugin pkcs12=: published sha256" || fail "nbdkit pkcs12=: $(tail -1 "$TMP/nbd.err")"
else
	skip "nbdkit plugin: nbdkit or nbdcopy missing"
fi
# repair (salvage to a new image) and mount unlock with it too
if "$BDKIT" -q repair "$V" -o "$TMP/rep.img" --private-key "$K/key.pem" --no-prompt </dev/null >/dev/null 2>"$TMP/err" &&
   [ "$(sha "$TMP/rep.img")" = "$S" ]; then
	pass "repair --private-key: output has the published sha256"
else
	fail "repair --private-key: $(tail -1 "$TMP/err")"
fi
rm -f "$TMP/rep.img" "$TMP"/rep.img.*
if [ -c /dev/fuse ] && have fusermount3; then
	mkdir -p "$TMP/mnt"
	if "$BDKIT" mount --pkcs12 "$K/key.p12" --key-password-file "$K/p12pw" "$V" "$TMP/mnt" >/dev/null 2>"$TMP/err"; then
		got=$(sha256sum <"$TMP/mnt/bitlocker-volume" | cut -c1-64)
		"$BDKIT" umount "$TMP/mnt" >/dev/null 2>&1 || fusermount3 -u -z "$TMP/mnt"
		[ "$got" = "$S" ] && pass "mount --pkcs12: the mounted volume has the published sha256" || fail "mount --pkcs12: sha $got"
	else
		fail "mount --pkcs12: $(tail -1 "$TMP/err")"
	fi
else
	skip "mount: /dev/fuse or fusermount3 missing"
fi
# a key package of a volume whose metadata is then destroyed: repair opens the package's certificate
# protector with the private key (the door's key-package path)
if "$BDKIT" -q keypackage export "$V" --private-key "$K/key.pem" -o "$TMP/kp" >/dev/null 2>"$TMP/err"; then
	cp --sparse=always "$V" "$TMP/wiped.img"
	for o in $(od -An -tu8 -j176 -N24 "$V"); do
		dd if=/dev/zero of="$TMP/wiped.img" bs=65536 count=1 seek="$o" oflag=seek_bytes conv=notrunc status=none
	done
	if "$BDKIT" -q repair "$TMP/wiped.img" -o "$TMP/rep.img" --key-package "$TMP/kp" --private-key "$K/key.pem" \
		--no-prompt </dev/null >/dev/null 2>"$TMP/err" && [ "$(sha "$TMP/rep.img")" = "$S" ]; then
		pass "key package + private key: repair of the volume with every metadata copy zeroed gives the published sha256"
	else
		fail "key package + private key: $(tail -1 "$TMP/err")"
	fi
	rm -f "$TMP/wiped.img" "$TMP/rep.img" "$TMP"/rep.img.*
else
	fail "keypackage export --private-key: $(tail -1 "$TMP/err")"
fi
# info says how it was unlocked
"$BDKIT" info "$V" --private-key "$K/key.pem" >"$TMP/info" 2>&1 && grep -q "Unlocked: *yes" "$TMP/info" &&
	pass "info --private-key: unlocked" || fail "info --private-key: $(tail -2 "$TMP/info")"

# ---- errors: exit codes, messages, nothing written (a writing command is used) ----
before=$(sha "$V")
"$BDKIT" protector add recovery-password "$V" --no-prompt --private-key "$K/other.pem" </dev/null >"$TMP/out" 2>&1
expect "wrong key" $? 4 "$TMP/out" "belongs to none of the 1 public-key protector(s).*thumbprint $FP"
unchanged "wrong key" "$V" "$before"
"$BDKIT" protector add recovery-password "$V" --no-prompt --private-key "$K/key-enc.pem" </dev/null >"$TMP/out" 2>&1
expect "encrypted key without its password" $? 9 "$TMP/out" "key-password-file"
unchanged "encrypted key without its password" "$V" "$before"
printf 'not-the-pw\n' >"$TMP/badkeypw"
"$BDKIT" protector add recovery-password "$V" --private-key "$K/key-enc.pem" --key-password-file "$TMP/badkeypw" \
	</dev/null >"$TMP/out" 2>&1
expect "wrong key password" $? 4 "$TMP/out" "password"
unchanged "wrong key password" "$V" "$before"
if [ -n "$HSM" ]; then
	"$BDKIT" protector add recovery-password "$V" --pkcs11 "$URI" --pkcs11-module "$HSM" --pin-file "$TMP/badpin" \
		</dev/null >"$TMP/out" 2>&1
	expect "wrong PIN (SoftHSM2)" $? 4 "$TMP/out" "wrong PIN"
	unchanged "wrong PIN" "$V" "$before"
	"$BDKIT" protector add recovery-password "$V" --no-prompt --pkcs11 "$URI" --pkcs11-module "$HSM" \
		</dev/null >"$TMP/out" 2>&1
	expect "token without a PIN" $? 9 "$TMP/out" "pin-file"
	unchanged "token without a PIN" "$V" "$before"
	# a locked token (SoftHSM2 cannot be locked): tests/p11shim.c forwards to SoftHSM2 but answers C_Login
	# with CKR_PIN_LOCKED and counts the calls; in mode "flag" the token info also says CKF_USER_PIN_LOCKED
	# into an ASan-instrumented bdkit the shim goes instrumented too
	SAN=; nm -D "$BDKIT" 2>/dev/null | grep -q __asan_init && SAN=-fsanitize=address,undefined
	if ${CC:-cc} -std=c11 -Wall -Wextra -Werror $SAN -shared -fPIC $(pkg-config --cflags p11-kit-1) \
		"$TOP/tests/p11shim.c" -o "$TMP/p11shim.so" -ldl >"$TMP/shim.log" 2>&1; then
		for mode in login flag; do
			: >"$TMP/logins"
			P11SHIM_MODULE=$HSM P11SHIM_COUNT=$TMP/logins P11SHIM_MODE=$mode "$BDKIT" decrypt --test "$V" \
				--pkcs11 "$URI" --pkcs11-module "$TMP/p11shim.so" --pin-file "$TMP/pin" </dev/null >"$TMP/out" 2>&1
			rc=$?
			n=$(grep -c C_Login "$TMP/logins")
			[ $mode = login ] && want=1 || want=0
			if [ $rc = 4 ] && [ "$(grep -c . "$TMP/out")" = 1 ] &&
			   grep -q "PIN of token 'bdkit-cert' is locked.*unblock it with its PUK" "$TMP/out" && [ "$n" = $want ]; then
				pass "locked token ($mode): exit 4, one line naming the token and the PUK, C_Login called $n time(s)"
			else
				fail "locked token ($mode): exit $rc (want 4), C_Login $n (want $want): $(head -3 "$TMP/out")"
			fi
		done
		unchanged "locked token" "$V" "$before"
	else
		fail "locked token: cannot build tests/p11shim.c: $(tail -2 "$TMP/shim.log")"
	fi
fi

# the protector command unlocks with the key too: remove the certificate protector, unlocked by its own key
if "$BDKIT" protector remove "$V" --id "$ID" --pkcs12 "$K/key.p12" --key-password-file "$K/p12pw" \
	--backup "$TMP/b2.bdkp" >/dev/null 2>"$TMP/err"; then
	pass "remove: the certificate protector (unlocked with the PKCS#12 key)"
else
	fail "remove: $(cat "$TMP/err")"
fi
"$BDKIT" protector list "$V" 2>&1 | grep -q "public key" && fail "remove: a public-key protector is still listed" ||
	pass "remove: no public-key protector left"
got=$(dec "$V" --private-key "$K/key.pem")
[ -z "$got" ] && grep -q "no public-key" "$TMP/dec.err" && pass "after remove: the key no longer opens it" ||
	fail "after remove: $(tail -1 "$TMP/dec.err")"
judge "after remove: password" "$V" pw "$TMP/pw" "$S"
judge "after remove: recovery password" "$V" rp "$TMP/rp" "$S"

# ===== 2. the real smart-card volume: a second certificate protector beside Windows' one (a DRA) =====
IMG=bitlk-aes-xts-128-smart-card
put $IMG
V="$TMP/$IMG.img"
S=$(conf $IMG SHA256SUM)
secret rp "$(conf $IMG RP)"
if "$BDKIT" protector add certificate "$V" --certificate "$K/cert-dra.pem" --dra --recovery-password-file "$TMP/rp" \
	--backup "$TMP/b3.bdkp" >"$TMP/add.out" 2>"$TMP/err"; then
	pass "smart-card volume: DRA certificate protector added"
else
	fail "smart-card volume: add --dra: $(cat "$TMP/err")"
fi
"$BDKIT" protector list --json "$V" >"$TMP/list.json" 2>&1
$PY - "$TMP/list.json" <<'PY' >"$TMP/j.out" 2>&1 && pass "smart-card volume: Windows' protector kept, the new one is a DRA (type 1)" || fail "list --json: $(tail -1 "$TMP/j.out")"
import json, sys
ps = [p for p in json.load(open(sys.argv[1]))["protectors"] if "certificate" in p]
assert len(ps) == 2, len(ps)
assert ps[0]["certificate"]["cert_type"] == 2 and ps[1]["certificate"]["cert_type"] == 1 and ps[1]["certificate"]["dra"], ps
PY
got=$(dec "$V" --private-key "$K/key.pem")
[ "$got" = "$S" ] && pass "smart-card volume: the DRA key opens it to the published sha256" ||
	fail "smart-card volume: $(tail -1 "$TMP/dec.err")"
judge "smart-card volume after add: recovery password" "$V" rp "$TMP/rp" "$S"

# ===== 3. a bdkit-made volume (NTFS), judged by dislocker's decryption with the password =====
if have mkntfs; then
	V=$TMP/made.img
	printf 'made-pw-1234\n' >"$TMP/mpw"
	if "$BDKIT" -q format "$V" --size 48M --mkfs ntfs --password-file "$TMP/mpw" --no-recovery-password >/dev/null 2>"$TMP/err" &&
	   "$BDKIT" -q protector add certificate "$V" --certificate "$K/cert.pem" --password-file "$TMP/mpw" \
		--backup "$TMP/b4.bdkp" >/dev/null 2>"$TMP/err"; then
		pass "bdkit-made volume: certificate protector added"
		want=$(dec "$V" --password-file "$TMP/mpw")
		if [ $HAVE_DIS = 1 ]; then
			dislocker-file -V "$V" -u"made-pw-1234" -- "$TMP/dis.img" >/dev/null 2>&1 && want=$(sha "$TMP/dis.img")
			rm -f "$TMP/dis.img"
		fi
		got=$(dec "$V" --pkcs12 "$K/key.p12" --key-password-file "$K/p12pw")
		[ -n "$got" ] && [ "$got" = "$want" ] && pass "bdkit-made volume: the PKCS#12 key decrypts it as dislocker does with the password" ||
			fail "bdkit-made volume: $got vs $want: $(tail -1 "$TMP/dec.err")"
		if [ -n "$HSM" ]; then
			got=$(dec "$V" --pkcs11 "$URI" --pkcs11-module "$HSM" --pin-file "$TMP/pin")
			[ "$got" = "$want" ] && pass "bdkit-made volume: the SoftHSM2 token decrypts it" ||
				fail "bdkit-made volume, token: $(tail -1 "$TMP/dec.err")"
		fi
		printf 'made-pw-1234' >"$TMP/mpw.raw"
		cs "bdkit-made volume after add: password" "$V" pw "$TMP/mpw.raw" "$want"
	else
		fail "bdkit-made volume: $(cat "$TMP/err")"
	fi
else
	skip "bdkit-made volume: mkntfs (ntfs-3g) missing"
fi
exit 0
