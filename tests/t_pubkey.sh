#!/bin/sh
# Public-key (smart card / certificate / DRA) protectors on the real Windows smart-card volume:
# bdkit info and bdkit protector list (text and JSON) show the certificate thumbprint, its type, the key's
# algorithm, size, exponent, modulus and SHA-1. Judged independently: cryptsetup bitlkDump names the same
# protector "VMK protected with smart card"; the modulus shown is the bytes at the documented volume offset
# (doc/public-key-protector.md), read with dd; the key SHA-1 is openssl's over an RSAPublicKey it builds
# from those bytes (openssl asn1parse -genconf); the thumbprint is the one in ../shared/docs (escrow §3.2).
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BDKIT" ]; then fail "t_pubkey: $BDKIT not built"; exit 0; fi
need_images t_pubkey || exit 0
IMG=$IMGDIR/bitlk-aes-xts-128-smart-card.img
SC=$(conf bitlk-aes-xts-128-smart-card SC_VMK_GUID | tr a-z A-Z)
THUMB=FB23E268A833A7F330D1B427CF2EF6C8DBE14E0F

# the key blob: datum at volume byte 35213792 (8-byte header, 24-byte CNG header, exponent 3 bytes, modulus 256)
dd if="$IMG" iflag=skip_bytes,count_bytes skip=$((35213792 + 8 + 27)) count=256 status=none | od -An -v -tx1 |
	tr -d ' \n' >"$TMP/modulus"
MOD=$(cat "$TMP/modulus")
[ ${#MOD} -eq 512 ] && pass "pubkey: 256-byte modulus read at the documented offset" || fail "pubkey: dd of the modulus"

# ---- info, text ----
if "$BDKIT" info "$IMG" >"$TMP/info.txt" 2>&1; then
	grep -q "public key .*{$SC}" "$TMP/info.txt" && grep -q "certificate: thumbprint $THUMB, user certificate" "$TMP/info.txt" &&
	grep -q "public key:  RSA 2048 bits, exponent 65537, SHA-1 " "$TMP/info.txt" &&
		pass "info: the smart-card protector with thumbprint, user certificate, RSA 2048, exponent 65537" ||
		fail "info text: $(grep -A4 'public key' "$TMP/info.txt" | head -5)"
else
	fail "info: $(tail -1 "$TMP/info.txt")"
fi

# ---- info and protector list, JSON ----
json_check() { # NAME FILE: the certificate object of the protector $SC
	python3 - "$2" "$SC" "$THUMB" "$MOD" <<'PY' >"$TMP/json.out" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
sc, thumb, mod = sys.argv[2], sys.argv[3], sys.argv[4]
ps = [p for p in d["protectors"] if p["id"].strip("{}").upper() == sc]
assert len(ps) == 1, "protector %s not listed once" % sc
c = ps[0]["certificate"]
assert c["thumbprint"] == thumb, c["thumbprint"]
assert c["cert_type"] == 2 and c["dra"] is False, (c["cert_type"], c["dra"])
assert c["key_algorithm"] == "RSA" and c["key_bits"] == 2048 and c["public_exponent"] == 65537, c
assert c["modulus"] == mod, "modulus differs from the bytes on disk"
assert c["encrypted_key_bytes"] == 256 and c["complete"] is True, c
others = [p for p in d["protectors"] if p is not ps[0]]
assert all("certificate" not in p for p in others), "certificate object on another protector"
print(c["public_key_sha1"])
PY
	if [ $? -eq 0 ]; then pass "$1: certificate object (thumbprint, type 2, RSA 2048, 65537, modulus = disk bytes)"
	else fail "$1: $(tail -1 "$TMP/json.out")"; fi
}
"$BDKIT" info --json "$IMG" >"$TMP/info.json" 2>"$TMP/err" && json_check "info --json" "$TMP/info.json" ||
	fail "info --json: $(tail -1 "$TMP/err")"
KID=$(tail -1 "$TMP/json.out")
"$BDKIT" protector list --json "$IMG" >"$TMP/list.json" 2>"$TMP/err" && json_check "protector list --json" "$TMP/list.json" ||
	fail "protector list --json: $(tail -1 "$TMP/err")"
"$BDKIT" protector list "$IMG" >"$TMP/list.txt" 2>&1 && grep -q "{$SC}" "$TMP/list.txt" &&
	grep -q "certificate: thumbprint $THUMB" "$TMP/list.txt" && grep -q "SHA-1 $KID" "$TMP/list.txt" &&
	pass "protector list: thumbprint and key SHA-1" || fail "protector list: $(head -4 "$TMP/list.txt")"

# ---- the key SHA-1, by openssl from the disk bytes ----
if command -v openssl >/dev/null 2>&1; then
	printf 'asn1=SEQUENCE:k\n[k]\nn=INTEGER:0x%s\ne=INTEGER:0x010001\n' "$MOD" >"$TMP/rsapub.conf"
	if openssl asn1parse -genconf "$TMP/rsapub.conf" -out "$TMP/rsapub.der" >/dev/null 2>&1; then
		want=$(openssl dgst -sha1 -r "$TMP/rsapub.der" | cut -c1-40)
		[ "$KID" = "$want" ] && pass "key SHA-1 $KID = openssl's SHA-1 of the RSAPublicKey" ||
			fail "key SHA-1: bdkit $KID, openssl $want"
	else
		fail "openssl asn1parse -genconf failed"
	fi
else
	skip "key SHA-1: openssl missing"
fi

# ---- cryptsetup names the same protector a smart-card one ----
if command -v cryptsetup >/dev/null 2>&1; then
	cryptsetup bitlkDump "$IMG" 2>/dev/null | tr a-z A-Z | grep -A1 "GUID:.*$SC" | grep -q "SMART CARD" &&
		pass "cryptsetup bitlkDump: protector $SC is the smart-card one" ||
		fail "cryptsetup bitlkDump does not call $SC a smart-card protector"
else
	skip "cryptsetup missing"
fi

# ---- a recovery-password protector has no certificate; unlocking with the recovery password still works ----
printf %s "$(conf bitlk-aes-xts-128-smart-card RP)" >"$TMP/rp"
"$BDKIT" info "$IMG" --recovery-password-file "$TMP/rp" >"$TMP/u.txt" 2>&1 && grep -q "Unlocked:      yes" "$TMP/u.txt" &&
	grep -q "SHA-256 verified" "$TMP/u.txt" && pass "info with the recovery password: unlocked, metadata SHA-256 verified" ||
	fail "info --recovery-password-file: $(tail -2 "$TMP/u.txt")"
exit 0
