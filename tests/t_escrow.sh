#!/bin/sh
# bdkit escrow against a private slapd (AD's msFVE schema, tests/escrow/) and a mock Graph
# server (tests/escrow/mock_graph.py), both on 127.0.0.1 only. The escrowed passwords and GUIDs are
# those of real Windows volumes (images.conf); results are judged against images.conf's sha256 and
# against ldapsearch reading the directory independently.
. "$(dirname "$0")/lib.sh"
need_images escrow || exit 0
FIX="$TOP/tests/escrow"
SLAPD=/usr/sbin/slapd
for t in "$SLAPD" ldapadd ldapsearch python3; do
	if ! command -v "$t" >/dev/null 2>&1; then
		skip "escrow-ldap: $t not installed (scripts/install-deps.sh installs slapd and ldap-utils)"
		NO_LDAP=1
	fi
done
SLAPD_PID=""
MOCK_PID=""
cleanup() {
	[ -n "$SLAPD_PID" ] && kill "$SLAPD_PID" 2>/dev/null && wait "$SLAPD_PID" 2>/dev/null
	[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Windows GUID byte order (Data1-3 little-endian), base64, for LDIF: python's uuid.bytes_le.
guid_b64() { python3 -c 'import uuid, base64, sys; print(base64.b64encode(uuid.UUID(sys.argv[1]).bytes_le).decode())' "$1"; }
upper() { echo "$1" | tr a-f A-F; }

A=bitlk-aes-xts-128
B=bitlk-aes-xts-128-smart-card
C=bitlk-aes-cbc-128
D=bitlk-aes-xts-128-two-recovery
A_RP=$(conf $A RP); A_ID=$(conf $A RP_VMK_GUID); A_VOL=$(conf $A GUID)
B_RP=$(conf $B RP); B_ID=$(conf $B RP_VMK_GUID); B_VOL=$(conf $B GUID)
C_RP=$(conf $C RP); C_ID=$(conf $C RP_VMK_GUID); C_VOL=$(conf $C GUID)
D_RP2=$(conf $D RP2); D_ID2=$(conf $D RP2_VMK_GUID)
D_PW=$(conf $D PW); D_RP=$(conf $D RP); D_ID=$(conf $D RP_VMK_GUID); D_VOL=$(conf $D GUID)
S=bitlk-aes-xts-128-startup-key
S_RP=$(conf $S RP); S_ID=$(conf $S RP_VMK_GUID); S_VOL=$(conf $S GUID); S_BEK=$(upper "$(conf $S SK_VMK_GUID)").BEK
A_KEYID=$(upper "$A_ID" | cut -c1-8)
B_KEYID=$(upper "$B_ID" | cut -c1-8)

# ---------------------------------------------------------------- LDAP
ldap_tests() {
	D_SLAPD="$TMP/slapd"
	mkdir -p "$D_SLAPD/db"
	sed -e "s|@DIR@|$D_SLAPD|g" -e "s|@SCHEMA@|$FIX|g" "$FIX/slapd.conf.in" >"$D_SLAPD/slapd.conf"
	PORT=$(free_port)
	URI="ldap://127.0.0.1:$PORT"
	# TLS: a throwaway self-signed certificate for 127.0.0.1 (ldaps:// and StartTLS)
	: >"$D_SLAPD/tls.conf"
	LISTEN="$URI/"
	if command -v openssl >/dev/null 2>&1 &&
	   openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$D_SLAPD/key.pem" -out "$D_SLAPD/cert.pem" >/dev/null 2>&1; then
		printf 'TLSCertificateFile %s\nTLSCertificateKeyFile %s\n' "$D_SLAPD/cert.pem" "$D_SLAPD/key.pem" \
			>"$D_SLAPD/tls.conf"
		TLS_PORT=$(free_port)
		LISTEN="$URI/ ldaps://127.0.0.1:$TLS_PORT/"
	fi
	SOCK="$D_SLAPD/ldapi"
	SOCK_URI="ldapi://$(python3 -c 'import urllib.parse, sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$SOCK")"
	# -d 0: stay in the foreground so that $! is slapd itself; never touches the system slapd
	"$SLAPD" -d 0 -f "$D_SLAPD/slapd.conf" -h "$LISTEN $SOCK_URI/" >"$D_SLAPD/log" 2>&1 &
	SLAPD_PID=$!
	i=0
	until ldapsearch -x -H "$URI" -b "" -s base >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$SLAPD_PID" 2>/dev/null; then
			skip "escrow-ldap: slapd did not start: $(tail -n 3 "$D_SLAPD/log" | tr '\n' ' ')"
			return
		fi
		sleep 0.1
	done
	ADMIN="cn=admin,dc=example,dc=test"
	umask 077
	printf 'admin-secret' >"$TMP/admin.pw"
	printf 'helpdesk-secret\n' >"$TMP/helpdesk.pw"
	printf 'reader-secret' >"$TMP/reader.pw"
	printf 'not-the-password' >"$TMP/wrong.pw"
	cat >"$TMP/base.ldif" <<LDIF
dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
dc: example
o: bdkit test

dn: cn=helpdesk,dc=example,dc=test
objectClass: person
cn: helpdesk
sn: helpdesk
userPassword: helpdesk-secret

dn: cn=reader,dc=example,dc=test
objectClass: person
cn: reader
sn: reader
userPassword: reader-secret

dn: cn=PC01,dc=example,dc=test
objectClass: computer
cn: PC01
sAMAccountName: PC01\$

dn: cn=PC02,dc=example,dc=test
objectClass: computer
cn: PC02
sAMAccountName: PC02\$

dn: cn=PC03,dc=example,dc=test
objectClass: computer
cn: PC03
sAMAccountName: PC03\$

dn: cn=PC04,dc=example,dc=test
objectClass: computer
cn: PC04
sAMAccountName: PC04\$

dn: cn=PC05,dc=example,dc=test
objectClass: computer
cn: PC05
sAMAccountName: PC05\$

dn: cn=2019-12-11T16:17:02-00:00{$(upper "$B_ID")},cn=PC01,dc=example,dc=test
objectClass: msFVE-RecoveryInformation
cn: 2019-12-11T16:17:02-00:00{$(upper "$B_ID")}
msFVE-RecoveryPassword: $B_RP
msFVE-RecoveryGuid:: $(guid_b64 "$B_ID")
msFVE-VolumeGuid:: $(guid_b64 "$B_VOL")

dn: cn=2020-03-02T09:41:55\\+01:00{$(upper "$A_ID")},cn=PC01,dc=example,dc=test
objectClass: msFVE-RecoveryInformation
cn: 2020-03-02T09:41:55+01:00{$(upper "$A_ID")}
msFVE-RecoveryPassword: $A_RP
msFVE-RecoveryGuid:: $(guid_b64 "$A_ID")
msFVE-VolumeGuid:: $(guid_b64 "$A_VOL")
LDIF
	if ! ldapadd -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -f "$TMP/base.ldif" >"$TMP/add.log" 2>&1; then
		fail "escrow-ldap: loading the fixture: $(tail -n 3 "$TMP/add.log" | tr '\n' ' ')"
		return
	fi
	# the test server speaks plain ldap:// on the loopback address: password binds need --insecure
	HD="--ldap $URI --insecure --base dc=example,dc=test --bind-dn cn=helpdesk,dc=example,dc=test --bind-password-file $TMP/helpdesk.pw"
	# without --insecure a password bind over ldap:// is refused before anything is sent (the second
	# server is a TEST-NET address that would only time out)
	"$BDKIT" escrow lookup --ldap "$URI" --base dc=example,dc=test --bind-dn cn=helpdesk,dc=example,dc=test \
		--bind-password-file "$TMP/helpdesk.pw" "$A_KEYID" >/dev/null 2>"$TMP/err"; rc=$?
	t0=$(date +%s)
	"$BDKIT" escrow lookup --ldap ldap://192.0.2.1 --timeout 30 --base dc=example,dc=test --bind-dn cn=helpdesk,dc=example,dc=test \
		--bind-password-file "$TMP/helpdesk.pw" "$A_KEYID" >/dev/null 2>>"$TMP/err"; rc2=$?
	if [ $rc -eq 10 ] && [ $rc2 -eq 10 ] && [ $(( $(date +%s) - t0 )) -lt 10 ] && grep -q "in clear" "$TMP/err"; then
		pass "escrow-ldap: a password bind over plain ldap:// is refused without --insecure (exit 10)"
	else
		fail "escrow-ldap: clear-text bind: rc=$rc $(cat "$TMP/err")"
	fi

	# by 8-digit key ID (as the recovery screen shows it)
	out=$("$BDKIT" escrow lookup $HD --show "$A_KEYID" 2>"$TMP/err"); rc=$?
	n=$(echo "$out" | grep -c 'password:  [0-9]')
	if [ $rc -eq 0 ] && echo "$out" | grep -q "password:  $A_RP\$" && [ "$n" -eq 1 ] &&
	   echo "$out" | grep -q "computer:  cn=PC01,dc=example,dc=test"; then
		pass "escrow-ldap: key ID $A_KEYID finds $A's recovery password and its computer"
	else
		fail "escrow-ldap: key ID lookup: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	# by full GUID, braces and lower case; default hides the password
	out=$("$BDKIT" escrow lookup $HD "{$B_ID}" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "password:  found" && ! echo "$out" | grep -q "$B_RP" &&
	   echo "$out" | grep -q "created 2019-12-11T16:17:02-00:00" &&
	   echo "$out" | grep -q "volume:    {$(upper "$B_VOL")}"; then
		pass "escrow-ldap: full GUID finds $B; the password stays hidden without --show"
	else
		fail "escrow-ldap: GUID lookup: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	out=$("$BDKIT" escrow lookup $HD --show --json "$B_ID" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && printf "%s\n" "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
f = d["found"]
assert len(f) == 1 and f[0]["recovery_password"] == sys.argv[1] and f[0]["recovery_guid"] == sys.argv[2]
assert f[0]["volume_guid"] == sys.argv[3] and f[0]["computer"] == "cn=PC01,dc=example,dc=test"' "$B_RP" "$B_ID" "$B_VOL"; then
		pass "escrow-ldap: --json carries GUIDs, computer and (with --show) the password"
	else
		fail "escrow-ldap: --json: rc=$rc out=$out"
	fi
	# --output FILE: mode 0600, then bdkit decrypt unlocks with it (two steps)
	rm -f "$TMP/rp.txt"
	"$BDKIT" escrow lookup $HD -o "$TMP/rp.txt" "$A_KEYID" >/dev/null 2>"$TMP/err"; rc=$?
	mode=$(stat -c %a "$TMP/rp.txt" 2>/dev/null)
	if [ $rc -eq 0 ] && [ "$mode" = 600 ] && [ "$(cat "$TMP/rp.txt")" = "$A_RP" ] &&
	   "$BDKIT" decrypt --test --no-prompt --recovery-password-file "$TMP/rp.txt" "$IMGDIR/$A.img" >/dev/null 2>&1; then
		pass "escrow-ldap: --output writes the password (mode 0600) and bdkit decrypt accepts the file"
	else
		fail "escrow-ldap: --output: rc=$rc mode=$mode err=$(cat "$TMP/err")"
	fi
	# one step: --volume finds the protector's password, checks it and decrypts
	out=$("$BDKIT" escrow lookup $HD --volume "$IMGDIR/$B.img" --decrypt-to "$TMP/B.dec" 2>"$TMP/err"); rc=$?
	sum=$(sha256sum "$TMP/B.dec" 2>/dev/null | cut -d' ' -f1)
	if [ $rc -eq 0 ] && [ "$sum" = "$(conf $B SHA256SUM)" ] && echo "$out" | grep -q "unlocks the volume: yes"; then
		pass "escrow-ldap: lookup --volume $B --decrypt-to: sha256 matches images.conf"
	else
		fail "escrow-ldap: --volume --decrypt-to: rc=$rc sum=$sum out=$out err=$(cat "$TMP/err")"
	fi
	rm -f "$TMP/B.dec"
	# SASL EXTERNAL over ldapi (root's peer credentials)
	out=$("$BDKIT" escrow lookup --ldap "$SOCK_URI" --sasl EXTERNAL --show "$A_ID" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "$A_RP" && echo "$out" | grep -q "under dc=example,dc=test"; then
		pass "escrow-ldap: SASL EXTERNAL bind over ldapi; search base read from the RootDSE"
	else
		fail "escrow-ldap: SASL EXTERNAL: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	# every key of one computer, by name (sAMAccountName PC01$) or by DN
	"$BDKIT" escrow lookup $HD --json --computer PC01 >"$TMP/c1.json" 2>"$TMP/err"; rc=$?
	"$BDKIT" escrow lookup $HD --json --computer cn=PC01,dc=example,dc=test >"$TMP/c2.json" 2>>"$TMP/err"; rc2=$?
	if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && python3 -c '
import json, sys
for p in sys.argv[3:5]:
    d = json.load(open(p))
    assert [f["recovery_guid"] for f in d["found"]] == sys.argv[1:3], d   # newest first
' "$A_ID" "$B_ID" "$TMP/c1.json" "$TMP/c2.json"; then
		pass "escrow-ldap: --computer lists both of PC01's recovery passwords, newest first"
	else
		fail "escrow-ldap: --computer: rc=$rc/$rc2 $(cat "$TMP/c1.json" "$TMP/err")"
	fi
	"$BDKIT" escrow lookup $HD --computer PC99 >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 13 ] && grep -q "no computer object named PC99" "$TMP/err"; then
		pass "escrow-ldap: unknown computer: exit 13 (not found)"
	else
		fail "escrow-ldap: unknown computer: rc=$rc $(cat "$TMP/err")"
	fi
	# TLS: StartTLS and ldaps:// with the test CA; an untrusted certificate is an error
	if [ -n "$TLS_PORT" ]; then
		TLSB="--base dc=example,dc=test --bind-dn cn=helpdesk,dc=example,dc=test --bind-password-file $TMP/helpdesk.pw"
		out=$("$BDKIT" escrow lookup --ldap "$URI" --starttls --ca-file "$D_SLAPD/cert.pem" $TLSB --show "$A_KEYID" 2>"$TMP/err"); rc=$?
		out2=$(LDAPTLS_CACERT="$D_SLAPD/cert.pem" "$BDKIT" escrow lookup --ldap "ldaps://127.0.0.1:$TLS_PORT" $TLSB --show "$A_KEYID" 2>>"$TMP/err"); rc2=$?
		if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && echo "$out" | grep -q "$A_RP" && echo "$out2" | grep -q "$A_RP"; then
			pass "escrow-ldap: StartTLS (--ca-file) and ldaps:// (LDAPTLS_CACERT) with a self-signed test CA"
		else
			fail "escrow-ldap: TLS: rc=$rc/$rc2 $(cat "$TMP/err")"
		fi
		LDAPTLS_CACERT=/dev/null "$BDKIT" escrow lookup --ldap "ldaps://127.0.0.1:$TLS_PORT" --timeout 5 $TLSB "$A_KEYID" >/dev/null 2>"$TMP/err"; rc=$?
		if [ $rc -eq 6 ] && grep -q "certificate's CA trusted" "$TMP/err"; then
			pass "escrow-ldap: ldaps:// to an untrusted certificate fails: exit 6"
		else
			fail "escrow-ldap: untrusted TLS: rc=$rc $(cat "$TMP/err")"
		fi
		LDAPTLS_REQCERT=never LDAPTLS_CACERT=/dev/null "$BDKIT" escrow lookup --ldap "ldaps://127.0.0.1:$TLS_PORT" \
			--timeout 5 $TLSB "$A_KEYID" >/dev/null 2>"$TMP/err"; rc=$?
		LDAPTLS_REQCERT=never LDAPTLS_CACERT=/dev/null "$BDKIT" escrow lookup --ldap "ldaps://127.0.0.1:$TLS_PORT" \
			--timeout 5 --insecure $TLSB --show "$A_KEYID" >"$TMP/out" 2>>"$TMP/err"; rc2=$?
		if [ $rc -eq 6 ] && [ $rc2 -eq 0 ] && grep -q "$A_RP" "$TMP/out"; then
			pass "escrow-ldap: LDAPTLS_REQCERT=never is ignored (exit 6) unless --insecure"
		else
			fail "escrow-ldap: LDAPTLS_REQCERT=never: rc=$rc/$rc2 $(cat "$TMP/err")"
		fi
	else
		skip "escrow-ldap: TLS: openssl cannot make a test certificate here"
	fi
	# errors: wrong bind password, withheld password, missing object, server down
	"$BDKIT" escrow lookup --ldap "$URI" --insecure --base dc=example,dc=test --bind-dn cn=helpdesk,dc=example,dc=test \
		--bind-password-file "$TMP/wrong.pw" "$A_KEYID" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 14 ] && grep -q "Invalid credentials" "$TMP/err"; then
		pass "escrow-ldap: wrong bind password: exit 14 (authentication failed), $(head -c 90 "$TMP/err")"
	else
		fail "escrow-ldap: wrong bind password: rc=$rc $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow lookup --ldap "$URI" --insecure --base dc=example,dc=test --bind-dn cn=reader,dc=example,dc=test \
		--bind-password-file "$TMP/reader.pw" "$A_KEYID" >"$TMP/out" 2>"$TMP/err"; rc=$?
	if [ $rc -eq 15 ] && grep -q "withheld" "$TMP/err" && grep -q "cn=PC01" "$TMP/out"; then
		pass "escrow-ldap: an account without read right sees the object, not the password: exit 15 (denied)"
	else
		fail "escrow-ldap: withheld password: rc=$rc $(cat "$TMP/out" "$TMP/err")"
	fi
	"$BDKIT" escrow lookup $HD 0BADF00D >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 13 ] && grep -q "no recovery information for key ID 0BADF00D" "$TMP/err"; then
		pass "escrow-ldap: unknown key ID: exit 13 (not found)"
	else
		fail "escrow-ldap: unknown key ID: rc=$rc $(cat "$TMP/err")"
	fi
	DOWN=$(free_port)
	"$BDKIT" escrow lookup --ldap "ldap://127.0.0.1:$DOWN" --timeout 5 --base dc=example,dc=test "$A_KEYID" \
		>/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 6 ] && grep -q "Can't contact LDAP server" "$TMP/err"; then
		pass "escrow-ldap: server down: exit 6"
	else
		fail "escrow-ldap: server down: rc=$rc $(cat "$TMP/err")"
	fi
	# backup: the object Windows would write, read back by ldapsearch
	printf '%s\n' "$C_RP" >"$TMP/c.rp"
	before=$(date +%s)
	out=$(TZ=EST5 "$BDKIT" escrow backup $HD --computer-dn cn=PC02,dc=example,dc=test \
		--recovery-password-file "$TMP/c.rp" "$IMGDIR/$C.img" 2>"$TMP/err"); rc=$?
	ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC02,dc=example,dc=test -s one \
		"(msFVE-RecoveryGuid=$(python3 -c 'import uuid,sys; print("".join("\\%02x" % b for b in uuid.UUID(sys.argv[1]).bytes_le))' "$C_ID"))" \
		cn objectClass msFVE-RecoveryPassword msFVE-RecoveryGuid msFVE-VolumeGuid >"$TMP/back.ldif" 2>&1
	if [ $rc -eq 0 ] && python3 - "$TMP/back.ldif" "$C_RP" "$C_ID" "$C_VOL" "$before" <<'PY'
import base64, calendar, re, sys, time, uuid
ldif = open(sys.argv[1]).read().replace("\n ", "")
rp, rid, vol, before = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
attrs = {}
for line in ldif.splitlines():
    m = re.match(r"^([\w-]+)(::?) (.*)$", line)
    if m:
        v = base64.b64decode(m.group(3)) if m.group(2) == "::" else m.group(3).encode()
        attrs.setdefault(m.group(1).lower(), []).append(v)
cn = attrs["cn"][0].decode()
m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)-05:00\{%s\}" % rid.upper(), cn)
assert m, "cn " + cn
t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + 5 * 3600
assert before - 2 <= t <= time.time() + 2, "time %s" % cn
assert len(cn) == 63
assert b"msFVE-RecoveryInformation" in attrs["objectclass"]
assert attrs["msfve-recoverypassword"] == [rp.encode()]
assert attrs["msfve-recoveryguid"] == [uuid.UUID(rid).bytes_le]
assert attrs["msfve-volumeguid"] == [uuid.UUID(vol).bytes_le]
assert attrs["dn"][0].decode().lower().endswith(",cn=pc02,dc=example,dc=test")
PY
	then
		pass "escrow-ldap: backup of $C wrote CN=<local time>{GUID} with the password and both GUIDs (read by ldapsearch)"
	else
		fail "escrow-ldap: backup: rc=$rc out=$out err=$(cat "$TMP/err") ldif=$(cat "$TMP/back.ldif")"
	fi
	# unlocked with its second recovery password, --id (key ID) picks that one protector
	printf '%s\n' "$D_RP2" >"$TMP/d.rp"
	out=$("$BDKIT" escrow backup $HD --json --computer-dn cn=PC02,dc=example,dc=test --id "$(upper "$D_ID2" | cut -c1-8)" \
		--recovery-password-file "$TMP/d.rp" "$IMGDIR/$D.img" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "\"recovery_guid\": \"$(upper "$D_ID2")\"" &&
	   [ "$(echo "$out" | grep -c '"dn"')" -eq 1 ] && ! echo "$out" | grep -q "$D_RP2" &&
	   "$BDKIT" escrow lookup $HD --show "$D_ID2" 2>/dev/null | grep -q "$D_RP2"; then
		pass "escrow-ldap: backup --id KEYID writes only that protector (password not printed); lookup finds it"
	else
		fail "escrow-ldap: backup --id: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	# unlocked with the user password: both recovery passwords are read out of the volume, one object each
	check_objects() { # LDIF VOLUME_GUID GUID=RP...: exactly these objects, named {GUID} as Windows does
		python3 - "$@" <<'PY'
import base64, re, sys, uuid
ldif = open(sys.argv[1]).read().replace("\n ", "")
vol = uuid.UUID(sys.argv[2]).bytes_le
want = {uuid.UUID(a.split("=", 1)[0]).bytes_le: a.split("=", 1)[1].encode() for a in sys.argv[3:]}
got = {}
for entry in ldif.strip().split("\n\n"):
    attrs = {}
    for line in entry.splitlines():
        m = re.match(r"^([\w-]+)(::?) (.*)$", line)
        if m:
            v = base64.b64decode(m.group(3)) if m.group(2) == "::" else m.group(3).encode()
            attrs.setdefault(m.group(1).lower(), []).append(v)
    g = attrs["msfve-recoveryguid"][0]
    assert attrs["msfve-volumeguid"] == [vol], entry
    assert attrs["cn"][0].decode().endswith("{%s}" % str(uuid.UUID(bytes_le=g)).upper()), entry
    got[g] = attrs["msfve-recoverypassword"][0]
assert got == want, (got, want)
PY
	}
	printf '%s\n' "$D_PW" >"$TMP/d.pw"
	out=$("$BDKIT" escrow backup $HD --computer-dn cn=PC03,dc=example,dc=test --password-file "$TMP/d.pw" \
		"$IMGDIR/$D.img" 2>"$TMP/err"); rc=$?
	ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC03,dc=example,dc=test -s one \
		cn msFVE-RecoveryPassword msFVE-RecoveryGuid msFVE-VolumeGuid >"$TMP/pc03.ldif" 2>&1
	if [ $rc -eq 0 ] && ! echo "$out" | grep -q "$D_RP" &&
	   check_objects "$TMP/pc03.ldif" "$D_VOL" "$D_ID=$D_RP" "$D_ID2=$D_RP2"; then
		pass "escrow-ldap: backup unlocked with the password wrote both recovery passwords (RP, RP2) with their GUIDs (read by ldapsearch)"
	else
		fail "escrow-ldap: backup with password: rc=$rc out=$out err=$(cat "$TMP/err") ldif=$(cat "$TMP/pc03.ldif")"
	fi
	"$BDKIT" escrow backup $HD --computer-dn cn=PC03,dc=example,dc=test --password-file "$TMP/c.rp" \
		"$IMGDIR/$D.img" >/dev/null 2>"$TMP/err"; rc=$?
	n=$(ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC03,dc=example,dc=test -s one dn | grep -c '^dn:')
	if [ $rc -eq 4 ] && [ "$n" -eq 2 ]; then
		pass "escrow-ldap: backup with a wrong password writes nothing (exit 4)"
	else
		fail "escrow-ldap: backup wrong user password: rc=$rc objects=$n $(cat "$TMP/err")"
	fi
	# unlocked with a startup key (.BEK); --show prints the password
	out=$("$BDKIT" escrow backup $HD --show --computer-dn cn=PC04,dc=example,dc=test --bek "$IMGDIR/$S_BEK" \
		"$IMGDIR/$S.img" 2>"$TMP/err"); rc=$?
	ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC04,dc=example,dc=test -s one \
		cn msFVE-RecoveryPassword msFVE-RecoveryGuid msFVE-VolumeGuid >"$TMP/pc04.ldif" 2>&1
	if [ $rc -eq 0 ] && echo "$out" | grep -q "msFVE-RecoveryPassword: $S_RP" &&
	   check_objects "$TMP/pc04.ldif" "$S_VOL" "$S_ID=$S_RP"; then
		pass "escrow-ldap: backup unlocked with a startup key (.BEK) wrote its recovery password; --show prints it"
	else
		fail "escrow-ldap: backup with BEK: rc=$rc out=$out err=$(cat "$TMP/err") ldif=$(cat "$TMP/pc04.ldif")"
	fi
	# unlocked with a certificate's private key (openssl's key and certificate; the certificate protector
	# added by bdkit to a copy of $A): a key of no protector writes nothing (exit 4), the right one writes
	# $A's recovery password with its GUIDs (read by ldapsearch)
	K=$TMP/cert
	mkdir -p "$K"
	printf '%s\n' "$A_RP" >"$TMP/a.rp"
	if (cd "$K" && set -e; exec >log 2>&1
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem
		openssl req -x509 -new -key key.pem -subj /CN=bdkit-escrow-test -days 2 -addext keyUsage=keyEncipherment \
			-out cert.pem) &&
	   cp --sparse=always "$IMGDIR/$A.img" "$TMP/cert.img" &&
	   "$BDKIT" -q protector add certificate "$TMP/cert.img" --certificate "$K/cert.pem" \
		--recovery-password-file "$TMP/a.rp" --backup "$TMP/cert.bdkp" >/dev/null 2>"$TMP/err"; then
		"$BDKIT" escrow backup $HD --computer-dn cn=PC05,dc=example,dc=test --private-key "$K/other.pem" \
			"$TMP/cert.img" </dev/null >/dev/null 2>"$TMP/err"; rc=$?
		n=$(ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC05,dc=example,dc=test -s one dn |
			grep -c '^dn:')
		if [ $rc -eq 4 ] && [ "$n" -eq 0 ] && grep -q "belongs to none of the 1 public-key protector" "$TMP/err"; then
			pass "escrow-ldap: backup with a private key of no protector writes nothing (exit 4)"
		else
			fail "escrow-ldap: backup wrong private key: rc=$rc objects=$n $(cat "$TMP/err")"
		fi
		out=$("$BDKIT" escrow backup $HD --computer-dn cn=PC05,dc=example,dc=test --private-key "$K/key.pem" \
			"$TMP/cert.img" </dev/null 2>"$TMP/err"); rc=$?
		ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC05,dc=example,dc=test -s one \
			cn msFVE-RecoveryPassword msFVE-RecoveryGuid msFVE-VolumeGuid >"$TMP/pc05.ldif" 2>&1
		if [ $rc -eq 0 ] && ! echo "$out" | grep -q "$A_RP" && check_objects "$TMP/pc05.ldif" "$A_VOL" "$A_ID=$A_RP"; then
			pass "escrow-ldap: backup unlocked with a certificate's private key wrote the recovery password with its GUIDs (read by ldapsearch)"
		else
			fail "escrow-ldap: backup with private key: rc=$rc out=$out err=$(cat "$TMP/err") ldif=$(cat "$TMP/pc05.ldif")"
		fi
	else
		fail "escrow-ldap: certificate protector setup: $(tail -2 "$K/log") $(cat "$TMP/err")"
	fi
	rm -f "$TMP/cert.img"
	"$BDKIT" escrow backup $HD --computer-dn cn=PC02,dc=example,dc=test --recovery-password-file "$TMP/c.rp" \
		"$IMGDIR/$A.img" >/dev/null 2>"$TMP/err"; rc=$?
	n=$(ldapsearch -LLL -x -H "$URI" -D "$ADMIN" -y "$TMP/admin.pw" -b cn=PC02,dc=example,dc=test -s one dn | grep -c '^dn:')
	if [ $rc -eq 4 ] && [ "$n" -eq 2 ]; then
		pass "escrow-ldap: backup refuses a recovery password that does not open the volume (exit 4, nothing written)"
	else
		fail "escrow-ldap: backup wrong password: rc=$rc objects=$n $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow backup $HD --computer-dn cn=NOPE,dc=example,dc=test --recovery-password-file "$TMP/c.rp" \
		"$IMGDIR/$C.img" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 13 ] && grep -q "does not exist" "$TMP/err"; then
		pass "escrow-ldap: backup under a missing computer object: exit 13 (not found)"
	else
		fail "escrow-ldap: backup missing computer: rc=$rc $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow backup --ldap "$URI" --insecure --base dc=example,dc=test --bind-dn cn=reader,dc=example,dc=test \
		--bind-password-file "$TMP/reader.pw" --computer-dn cn=PC02,dc=example,dc=test \
		--recovery-password-file "$TMP/c.rp" "$IMGDIR/$C.img" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 15 ] && grep -q "Insufficient access" "$TMP/err"; then
		pass "escrow-ldap: backup without write right: exit 15 (denied)"
	else
		fail "escrow-ldap: backup without right: rc=$rc $(cat "$TMP/err")"
	fi
}
[ -z "$NO_LDAP" ] && ldap_tests

# ---------------------------------------------------------------- Graph
graph_tests() {
	cat >"$TMP/keys.json" <<JSON
[{"id": "$A_ID", "key": "$A_RP", "deviceId": "1ab40ab2-32a8-4b00-b6b5-ba724e407de9",
  "createdDateTime": "2020-06-15T13:45:30.0000000Z", "volumeType": "1"},
 {"id": "$B_ID", "key": "$B_RP", "deviceId": "2ef04ef1-23b0-2e00-a3a5-ab345e567ab6",
  "createdDateTime": "2021-01-02T03:04:05Z", "volumeType": 2},
 {"id": "$C_ID", "key": "$C_RP", "deviceId": "2ef04ef1-23b0-2e00-a3a5-ab345e567ab6",
  "createdDateTime": "2022-01-02T03:04:05Z", "volumeType": "removableDataVolume"}]
JSON
	python3 "$FIX/mock_graph.py" "$TMP/keys.json" "$TMP/graph.port" "$TMP/graph.log" 2>"$TMP/graph.err" &
	MOCK_PID=$!
	i=0
	until [ -s "$TMP/graph.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$MOCK_PID" 2>/dev/null; then
			fail "escrow-graph: mock server did not start: $(cat "$TMP/graph.err")"
			return
		fi
		sleep 0.1
	done
	G="http://127.0.0.1:$(cat "$TMP/graph.port")"
	export BDKIT_GRAPH_URL="$G/v1.0" BDKIT_LOGIN_URL="$G"
	printf 'good-token\n' >"$TMP/good.tok"
	printf 'basic-token\n' >"$TMP/basic.tok"
	printf 'expired-token\n' >"$TMP/bad.tok"

	out=$("$BDKIT" escrow lookup --graph --token-file "$TMP/good.tok" --show "$A_ID" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "password:  $A_RP\$" &&
	   grep '"method": "GET"' "$TMP/graph.log" | tail -n 1 | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
h = r["headers"]
assert r["path"].endswith("/recoveryKeys/" + sys.argv[1] + "?$select=key"), r["path"]
assert h["authorization"] == "Bearer good-token" and h["user-agent"].startswith("bdkit/")
assert h["ocp-client-name"] == "bdkit" and h["ocp-client-version"]' "$A_ID"; then
		pass "escrow-graph: GET recoveryKeys/{id}?\$select=key with the documented headers (reply wrapped in value)"
	else
		fail "escrow-graph: get by GUID: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	out=$("$BDKIT" escrow lookup --graph --token-file "$TMP/good.tok" --show "$(upper "$B_ID" | cut -c1-8)" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "password:  $B_RP\$" && echo "$out" | grep -q "fixedDataVolume" &&
	   [ "$(echo "$out" | grep -c 'password:')" -eq 1 ]; then
		pass "escrow-graph: 8-digit key ID found through the paged list, then the key fetched"
	else
		fail "escrow-graph: key ID: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	out=$("$BDKIT" escrow lookup --graph --token-file "$TMP/good.tok" --json --device-id 2ef04ef1-23b0-2e00-a3a5-ab345e567ab6 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && printf "%s\n" "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert sorted(f["recovery_guid"] for f in d["found"]) == sorted(sys.argv[1:3]), d
assert all(f["has_password"] and "recovery_password" not in f for f in d["found"])' "$B_ID" "$C_ID"; then
		pass "escrow-graph: --device-id lists that device's keys (filter by deviceId)"
	else
		fail "escrow-graph: device ID: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	out=$("$BDKIT" escrow lookup --graph --token-file "$TMP/good.tok" --volume "$IMGDIR/$A.img" --decrypt-to "$TMP/A.dec" 2>"$TMP/err"); rc=$?
	sum=$(sha256sum "$TMP/A.dec" 2>/dev/null | cut -d' ' -f1)
	if [ $rc -eq 0 ] && [ "$sum" = "$(conf $A SHA256SUM)" ]; then
		pass "escrow-graph: lookup --volume $A --decrypt-to: sha256 matches images.conf"
	else
		fail "escrow-graph: --volume: rc=$rc sum=$sum out=$out err=$(cat "$TMP/err")"
	fi
	rm -f "$TMP/A.dec"
	"$BDKIT" escrow lookup --graph --token-file "$TMP/basic.tok" "$A_ID" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 15 ] && grep -q "BitLockerKey.Read.All" "$TMP/err" && grep -q "Authorization_RequestDenied" "$TMP/err"; then
		pass "escrow-graph: 403 explained (BitLockerKey.Read.All): exit 15 (denied)"
	else
		fail "escrow-graph: 403: rc=$rc $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow lookup --graph --token-file "$TMP/good.tok" 0badf00d-0000-4000-8000-000000000000 >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 13 ] && grep -q "HTTP 404" "$TMP/err"; then
		pass "escrow-graph: unknown key 404: exit 13 (not found)"
	else
		fail "escrow-graph: 404: rc=$rc $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow lookup --graph --token-file "$TMP/bad.tok" "$A_ID" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 14 ] && grep -q "HTTP 401" "$TMP/err"; then
		pass "escrow-graph: rejected token 401: exit 14 (authentication failed)"
	else
		fail "escrow-graph: 401: rc=$rc $(cat "$TMP/err")"
	fi
	# device-code sign-in: code shown on stderr, one authorization_pending, then the token is used
	out=$("$BDKIT" escrow lookup --graph --tenant contoso.example --client-id test-client --show "$C_ID" 2>"$TMP/err" </dev/null); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "$C_RP" && grep -q "https://microsoft.com/devicelogin" "$TMP/err" &&
	   grep -q "ABCD-EFGH" "$TMP/err" && grep -q '/contoso.example/oauth2/v2.0/devicecode' "$TMP/graph.log" &&
	   grep -q 'Bearer device-flow-token' "$TMP/graph.log"; then
		pass "escrow-graph: device-code sign-in (code on stderr, pending then token)"
	else
		fail "escrow-graph: device code: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	printf 'app-secret\n' >"$TMP/app.secret"
	out=$("$BDKIT" escrow lookup --graph --client-id test-client --client-secret-file "$TMP/app.secret" --show "$B_ID" 2>"$TMP/err"); rc=$?
	if [ $rc -eq 0 ] && echo "$out" | grep -q "$B_RP" && grep -q 'client_credentials' "$TMP/graph.log"; then
		pass "escrow-graph: client-credentials sign-in"
	else
		fail "escrow-graph: client credentials: rc=$rc out=$out err=$(cat "$TMP/err")"
	fi
	"$BDKIT" escrow backup --graph --computer-dn x "$IMGDIR/$A.img" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -eq 8 ] && grep -q "Graph only reads" "$TMP/err"; then
		pass "escrow-graph: backup to Entra ID is refused as unsupported (exit 8), with the way to do it"
	else
		fail "escrow-graph: backup: rc=$rc $(cat "$TMP/err")"
	fi
	"$BDKIT" escrow lookup --graph --graph-url http://graph.example.com/v1.0 --token-file "$TMP/good.tok" "$A_ID" >/dev/null 2>"$TMP/err"; rc=$?
	if [ $rc -ne 0 ] && grep -q "unencrypted" "$TMP/err"; then
		pass "escrow-graph: plain http to a non-loopback host is refused"
	else
		fail "escrow-graph: http refusal: rc=$rc $(cat "$TMP/err")"
	fi
	# names that only look like the loopback address, parsed the way curl parses them
	for u in http://localhost.invalid/v1.0 http://localhost@192.0.2.1/v1.0 http://127.0.0.1.nip.io/v1.0 \
		http://[::2]/v1.0; do
		"$BDKIT" escrow lookup --graph --graph-url "$u" --token-file "$TMP/good.tok" "$A_ID" >/dev/null 2>"$TMP/err"; rc=$?
		if [ $rc -eq 10 ] && grep -q "unencrypted\|user name" "$TMP/err"; then
			pass "escrow-graph: $u refused before any request (exit 10)"
		else
			fail "escrow-graph: $u: rc=$rc $(cat "$TMP/err")"
		fi
	done
}
graph_tests
