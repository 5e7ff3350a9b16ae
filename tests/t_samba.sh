#!/bin/sh
# bdkit escrow against a real Active Directory: a Samba AD DC (Debian samba-ad-dc; its schema carries
# msFVE-RecoveryInformation) provisioned into a private directory and run with `samba -i` in a
# private network namespace (its own loopback and /etc/hosts), over ldaps with the CA Samba generated.
# Judged by ldapsearch reading the directory and by the real volumes' published sha256: backup, lookup
# by key ID, by volume and by computer, --decrypt-to - (the stream alone on stdout), msFVE-KeyPackage
# saved and used by repair. The server is stopped by its PID.
. "$(dirname "$0")/lib.sh"

for t in samba samba-tool ldapsearch ldapmodify unshare python3; do
	command -v $t >/dev/null || { skip "samba: $t is missing (scripts/install-deps.sh installs samba-ad-dc, ldap-utils)"; exit 0; }
done
need_images samba || exit 0
if [ -z "$BDKIT_SAMBA_NETNS" ]; then
	# a private network and mount namespace: Samba's fixed ports 389/636 on a loopback of our own
	if unshare -n -m true 2>/dev/null; then
		BDKIT_SAMBA_NETNS=1 exec unshare -n -m sh "$0" "$@"
	fi
	skip "samba: cannot make a private network namespace (unshare -n -m needs root/CAP_SYS_ADMIN); Samba's ports are fixed"
	exit 0
fi
ip link set lo up 2>/dev/null || { fail "samba: cannot bring the namespace's loopback up"; exit 0; }
mount --make-rprivate / 2>/dev/null
HOSTS="$TMP/hosts"
printf '127.0.0.1 localhost\n127.0.0.1 bdkitdc.bdkit.test bdkitdc\n' >"$HOSTS"
mount --bind "$HOSTS" /etc/hosts || { fail "samba: cannot give the namespace its own /etc/hosts"; exit 0; }

ADMINPW='Adm1n-Secret-Pw!'
TEMPLATE="$TOP/build/testdata/samba-dc"   # shared by the build directories: provisioning is the slow part
SAMBA_PID=""
cleanup() {
	[ -n "$SAMBA_PID" ] && kill "$SAMBA_PID" 2>/dev/null && wait "$SAMBA_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# start_samba DIR: samba in the foreground (interactive), its PID in SAMBA_PID; waits for ldaps
start_samba() {
	samba -i -s "$1/etc/smb.conf" >"$1/samba.out" 2>&1 &
	SAMBA_PID=$!
	i=0
	until [ -f "$1/private/tls/ca.pem" ] &&
	      LDAPTLS_CACERT="$1/private/tls/ca.pem" ldapsearch -x -H ldaps://bdkitdc.bdkit.test -b "" -s base >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$SAMBA_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.1
	done
}
stop_samba() {
	kill "$SAMBA_PID" 2>/dev/null
	wait "$SAMBA_PID" 2>/dev/null
	SAMBA_PID=""
}

# One provisioning per build directory (about 5-20 s): a template copied for each run.
if [ ! -f "$TEMPLATE/etc/smb.conf" ]; then
	rm -rf "$TEMPLATE"
	mkdir -p "$TEMPLATE"
	if ! samba-tool domain provision --realm=BDKIT.TEST --domain=BDKIT --server-role=dc --dns-backend=NONE \
		--adminpass="$ADMINPW" --targetdir="$TEMPLATE" --host-ip=127.0.0.1 --option="netbios name=BDKITDC" \
		--option="interfaces=lo" --option="bind interfaces only=yes" --option="server services=ldap" \
		--option="log file=$TEMPLATE/log.%m" >"$TMP/provision.log" 2>&1 ||
	   ! samba-tool computer add PC01 -s "$TEMPLATE/etc/smb.conf" >>"$TMP/provision.log" 2>&1; then
		fail "samba: provisioning failed: $(tail -3 "$TMP/provision.log")"
		rm -rf "$TEMPLATE"
		exit 0
	fi
	# the first start generates the TLS CA and certificate; keep them in the template
	if ! start_samba "$TEMPLATE"; then
		fail "samba: the provisioned DC did not start: $(tail -3 "$TEMPLATE/samba.out")"
		stop_samba
		rm -rf "$TEMPLATE"
		exit 0
	fi
	stop_samba
fi
DC="$TMP/dc"
cp -a "$TEMPLATE" "$DC"
sed -i "s|$TEMPLATE|$DC|g" "$DC/etc/smb.conf"
if ! start_samba "$DC"; then
	fail "samba: samba -i did not serve ldaps: $(tail -3 "$DC/samba.out")"
	exit 0
fi
pass "samba: AD DC provisioned into a temporary directory, serving ldaps on the namespace's loopback (pid $SAMBA_PID)"

CA="$DC/private/tls/ca.pem"
(umask 077; printf '%s' "$ADMINPW" >"$TMP/admin.pw")
DIR="--ldap ldaps://bdkitdc.bdkit.test --ca-file $CA --bind-dn Administrator@bdkit.test --bind-password-file $TMP/admin.pw"
COMPUTER="CN=PC01,CN=Computers,DC=bdkit,DC=test"
SEARCH="ldapsearch -LLL -o ldif-wrap=no -x -H ldaps://bdkitdc.bdkit.test -D Administrator@bdkit.test -y $TMP/admin.pw -b DC=bdkit,DC=test"
export LDAPTLS_CACERT="$CA"
A=bitlk-aes-xts-128
A_RP=$(conf $A RP) A_ID=$(conf $A RP_VMK_GUID) A_SUM=$(conf $A SHA256SUM)
KEYID=$(echo "$A_ID" | cut -c1-8 | tr a-f A-F)
printf '%s\n' "$A_RP" >"$TMP/rp"

# backup, checked by ldapsearch
"$BDKIT" -q escrow backup $DIR --computer-dn "$COMPUTER" "$IMGDIR/$A.img" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1
rc=$?
$SEARCH '(objectClass=msFVE-RecoveryInformation)' msFVE-RecoveryPassword cn >"$TMP/ldif" 2>"$TMP/err"
[ $rc = 0 ] && grep -q "msFVE-RecoveryPassword: $A_RP" "$TMP/ldif" && grep -qi "{$A_ID}" "$TMP/ldif" &&
	grep -q "CN=PC01,CN=Computers" "$TMP/ldif" &&
	pass "samba: escrow backup stores exactly the volume's recovery password under the computer (ldapsearch)" ||
	fail "samba: backup: exit $rc: $(head -2 "$TMP/out") / $(head -c 300 "$TMP/ldif")"

# lookups
"$BDKIT" escrow lookup $DIR "$KEYID" --show >"$TMP/out" 2>&1 && grep -q "$A_RP" "$TMP/out" &&
	pass "samba: lookup by key ID $KEYID finds the password" || fail "samba: lookup key ID: $(head -3 "$TMP/out")"
"$BDKIT" escrow lookup $DIR --computer PC01 --json >"$TMP/out" 2>&1 &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(e["recovery_guid"] == sys.argv[2] for e in d["found"]), d' "$TMP/out" "$A_ID" &&
	pass "samba: lookup by computer PC01 finds the object" || fail "samba: lookup computer: $(head -3 "$TMP/out")"
"$BDKIT" escrow lookup $DIR --volume "$IMGDIR/$A.img" --unlock-test >"$TMP/out" 2>&1 && grep -q "unlocks the volume: yes" "$TMP/out" &&
	pass "samba: lookup by volume finds the password that opens it" || fail "samba: lookup volume: $(head -3 "$TMP/out")"
got=$("$BDKIT" escrow lookup $DIR --volume "$IMGDIR/$A.img" --decrypt-to - 2>"$TMP/err" | sha256sum | cut -c1-64)
[ "$got" = "$A_SUM" ] && grep -q "Found 1 recovery password object" "$TMP/err" &&
	pass "samba: lookup --volume --decrypt-to -: stdout holds only the volume (published sha256), the report on stderr" ||
	fail "samba: --decrypt-to -: sha $got: $(head -2 "$TMP/err")"

# msFVE-KeyPackage, as Windows writes it with "recovery passwords and key packages": a blob holding the
# volume's metadata block (bdkit cannot know Microsoft's layout; it finds the block inside)
INFO=$("$BDKIT" -q info --json "$IMGDIR/$A.img")
COPY1=$(echo "$INFO" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata_copies"][0]["offset"])')
python3 - "$IMGDIR/$A.img" "$COPY1" "$TMP/kp.bin" <<'EOF'
import os, sys
f = open(sys.argv[1], 'rb'); f.seek(int(sys.argv[2])); blk = f.read(65536)
open(sys.argv[3], 'wb').write(os.urandom(200) + blk.rstrip(b'\0') + os.urandom(100))
EOF
DN=$($SEARCH "(msFVE-RecoveryGuid=*)" dn | sed -n 's/^dn: //p' | head -1)
printf 'dn: %s\nchangetype: modify\nreplace: msFVE-KeyPackage\nmsFVE-KeyPackage:< file://%s\n' "$DN" "$TMP/kp.bin" >"$TMP/kp.ldif"
ldapmodify -x -H ldaps://bdkitdc.bdkit.test -D Administrator@bdkit.test -y "$TMP/admin.pw" -f "$TMP/kp.ldif" >"$TMP/err" 2>&1 ||
	fail "samba: ldapmodify msFVE-KeyPackage: $(head -2 "$TMP/err")"
"$BDKIT" -q escrow lookup $DIR "$KEYID" --key-package-out "$TMP/kp.out" >"$TMP/out" 2>&1
rc=$?
[ $rc = 0 ] && cmp -s "$TMP/kp.out" "$TMP/kp.bin" && [ "$(stat -c %a "$TMP/kp.out")" = 600 ] &&
	pass "samba: lookup --key-package-out saves msFVE-KeyPackage byte for byte (mode 0600)" ||
	fail "samba: --key-package-out: exit $rc: $(head -2 "$TMP/out")"
# every metadata copy and the header destroyed: repair with the key package from AD
cp --sparse=always "$IMGDIR/$A.img" "$TMP/broken.img"
dd if=/dev/zero of="$TMP/broken.img" bs=512 count=1 conv=notrunc 2>/dev/null
for off in $(echo "$INFO" | python3 -c 'import json,sys; print(" ".join(str(c["offset"]) for c in json.load(sys.stdin)["metadata_copies"]))'); do
	dd if=/dev/zero of="$TMP/broken.img" bs=512 count=128 seek=$((off / 512)) conv=notrunc 2>/dev/null
done
"$BDKIT" -q repair "$TMP/broken.img" -o "$TMP/rep.img" --key-package "$TMP/kp.out" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1
got=$(sha256sum <"$TMP/rep.img" 2>/dev/null | cut -c1-64)
[ "$got" = "$A_SUM" ] && pass "samba: repair --key-package (from AD) rebuilds the destroyed volume: published sha256" ||
	fail "samba: repair with the AD key package: sha $got: $(head -3 "$TMP/out")"
rm -f "$TMP/rep.img" "$TMP/rep.img.map" "$TMP/broken.img"
# a key package with no metadata block inside: saved, and repair says plainly it cannot read it
head -c 4000 /dev/urandom >"$TMP/kp2.bin"
printf 'dn: %s\nchangetype: modify\nreplace: msFVE-KeyPackage\nmsFVE-KeyPackage:< file://%s\n' "$DN" "$TMP/kp2.bin" >"$TMP/kp.ldif"
ldapmodify -x -H ldaps://bdkitdc.bdkit.test -D Administrator@bdkit.test -y "$TMP/admin.pw" -f "$TMP/kp.ldif" >/dev/null 2>&1
"$BDKIT" escrow lookup $DIR "$KEYID" --key-package-out "$TMP/kp2.out" >"$TMP/out" 2>&1
grep -q "not known" "$TMP/out" && cmp -s "$TMP/kp2.out" "$TMP/kp2.bin" &&
	pass "samba: an unknown key package is saved and called so" || fail "samba: unknown key package: $(head -3 "$TMP/out")"
"$BDKIT" -q repair "$IMGDIR/$A.img" -o "$TMP/rep.img" --key-package "$TMP/kp2.out" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1
rc=$?
[ $rc = 8 ] && grep -q "not public" "$TMP/out" && pass "samba: repair --key-package of an unknown format: exit 8, says the format is not known" ||
	fail "samba: repair unknown key package: exit $rc: $(head -2 "$TMP/out")"

pid=$SAMBA_PID
stop_samba
kill -0 "$pid" 2>/dev/null && fail "samba: the server (pid $pid) is still running" || pass "samba: the server was stopped by its PID"
