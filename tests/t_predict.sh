#!/bin/sh
# bdkit diagnose predict, judged by a TPM (swtpm + tpm2-tools): for each planned change, seal a secret to
# the PCRs of the current log (profiles 7,11 and 0,2,4,11), reset the TPM, extend it with the log as the
# change makes it (built here by tests/eventlog_edit.py, which shares no code with bdkit: Authenticode
# hashes from pesign, signers from sbverify --list, update files made by sbsiglist/sbvarsign), and try
# tpm2_unseal: bdkit's "recovery: yes/no" must be "unseal failed/succeeded". Authenticode hashes of real
# Debian EFI binaries are judged by pesign and osslsigncode, the signer by sbverify; a TPM 2.0 quote made
# by swtpm in a trust-point record is judged by tpm2_checkquote.
. "$(dirname "$0")/lib.sh"

EL="$SHARED/testdata/eventlogs"
EDIT="$TOP/tests/eventlog_edit.py"
if [ ! -d "$EL" ]; then
	skip "predict: ../shared/testdata/eventlogs is absent; no real logs to test"
	exit 0
fi
missing=""
for t in python3 swtpm swtpm_ioctl tpm2_pcrextend tpm2_createpolicy tpm2_unseal tpm2_quote tpm2_checkquote pesign \
	 sbverify sbsign sbsiglist sbvarsign osslsigncode openssl; do
	command -v $t >/dev/null || missing="$missing $t"
done
SHIM=/usr/lib/shim/shimx64.efi.signed
GRUB=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
for f in $SHIM $GRUB $SDBOOT; do [ -f $f ] || missing="$missing $f"; done
if [ -n "$missing" ]; then
	fail "predict: missing$missing (scripts/install-deps.sh installs swtpm swtpm-tools tpm2-tools pesign sbsigntool osslsigncode openssl shim-signed grub-efi-amd64-signed systemd-boot-efi)"
	exit 0
fi
ROM="$EL/go-attestation/option_rom_eventlog"          # Windows, HP hardware, Secure Boot on, SHA-1
GCE="$EL/tpm2-tools/event-gce-ubuntu-2104-log.bin"    # Ubuntu on GCE, Secure Boot off, SHA-1/256/384

# ---- Authenticode hashes of real EFI binaries: pesign and osslsigncode ----
for f in $SHIM $GRUB $SDBOOT /usr/lib/shim/mmx64.efi.signed; do
	"$BDKIT" diagnose predict --json "$ROM" --pcrs 7 --boot-app "$f" >"$TMP/p.json" 2>"$TMP/err" || {
		fail "predict --boot-app $(basename $f): $(cat "$TMP/err")"; continue; }
	want256=$(pesign --hash -i "$f" | sed -n 's/^hash: //p')
	want1=$(pesign -d sha1 --hash -i "$f" | sed -n 's/^hash: //p')
	got=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["changes"][0]["authenticode"]; print(a["sha256"], a["sha1"])' "$TMP/p.json")
	osc=$(osslsigncode verify -in "$f" 2>/dev/null | sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | head -n 1 | tr 'A-F' 'a-f')
	if [ "$got" = "$want256 $want1" ] && { [ -z "$osc" ] || [ "$osc" = "$want256" ]; }; then
		pass "predict: Authenticode SHA-256/SHA-1 of $(basename $f) = pesign's${osc:+ = osslsigncode's}"
	else
		fail "predict: Authenticode of $(basename $f): bdkit $got, pesign $want256 $want1, osslsigncode $osc"
	fi
done
# which db certificate signs: the issuers sbverify lists, against the HP machine's db
"$BDKIT" diagnose predict --json "$ROM" --pcrs 7 --boot-app $SHIM >"$TMP/p.json"
sbverify --list $SHIM 2>/dev/null >"$TMP/list"
if python3 - "$TMP/p.json" "$TMP/list" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["changes"][0]["signatures"]
lines = open(sys.argv[2]).read().splitlines()
issuers = [lines[i + 1].strip()[2:] for i, l in enumerate(lines) if l.startswith("image signature issuers:")]
ok = len(s) == len(issuers) == 2 and all(x["issuer"] == y for x, y in zip(s, issuers))
ok = ok and s[0]["db_subject"] == "Microsoft Corporation UEFI CA 2011" and s[0]["issuer"].endswith("CN=Microsoft Corporation UEFI CA 2011")
ok = ok and s[1]["db_entry"] is None and all(x["digest_matches"] and x["signature_valid"] for x in s)
sys.exit(0 if ok else 1)
EOF
then
	pass "predict: shim's two signatures as sbverify lists them; the UEFI CA 2011 one is authorised by that db entry, the 2023 one by none"
else
	fail "predict: shim signatures vs sbverify --list: $(head -c 400 "$TMP/p.json")"
fi
# a binary signed here by sbsign with a key whose certificate is put into db: sbverify --cert agrees
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=bdkit test db signer" -keyout "$TMP/db.key" -out "$TMP/db.crt" \
	-days 3650 >/dev/null 2>&1
openssl x509 -in "$TMP/db.crt" -outform der -out "$TMP/db.der"
sbsign --key "$TMP/db.key" --cert "$TMP/db.crt" --output "$TMP/sd-signed.efi" $SDBOOT >/dev/null 2>&1
sbsiglist --owner 11111111-2222-3333-4444-555555555555 --type x509 --output "$TMP/db-cert.esl" "$TMP/db.der"
python3 "$EDIT" "$ROM" "$TMP/rom-db.log" db-append="$TMP/db-cert.esl"
"$BDKIT" diagnose predict --json "$TMP/rom-db.log" --pcrs 7 --boot-app "$TMP/sd-signed.efi" >"$TMP/p.json"
if sbverify --cert "$TMP/db.crt" "$TMP/sd-signed.efi" >/dev/null 2>&1 &&
   python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["changes"][0]["signatures"]; sys.exit(0 if len(s)==1 and s[0]["db_subject"]=="bdkit test db signer" and s[0]["db_entry"]==3 else 1)' "$TMP/p.json"; then
	pass "predict: an image sbsign signed with a db key is authorised by that db entry (sbverify --cert agrees)"
else
	fail "predict: sbsign-signed image: $(head -c 400 "$TMP/p.json")"
fi

# ---- update files made by sbsiglist/sbvarsign ----
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=bdkit test KEK" -keyout "$TMP/kek.key" -out "$TMP/kek.crt" \
	-days 3650 >/dev/null 2>&1
openssl x509 -in "$TMP/kek.crt" -outform der -out "$TMP/kek.der"
owner=77fa9abd-0359-4d32-bd60-28f4e78f784b
for k in 1 2 3; do printf 'revoked image %s' $k | openssl dgst -sha256 -binary >"$TMP/h$k"; done
for k in 1 2 3; do sbsiglist --owner $owner --type sha256 --output "$TMP/h$k.esl" "$TMP/h$k"; done
cat "$TMP/h1.esl" "$TMP/h2.esl" "$TMP/h3.esl" >"$TMP/dbx.esl"
python3 -c '
import sys; sys.path.insert(0, sys.argv[1])
import eventlog_edit as ee
log = ee.Log(open(sys.argv[2], "rb").read())
_, val = ee.var_parts(log.events[ee.pcr7_var(log, "dbx")]["data"])
open(sys.argv[3], "wb").write(ee.siglists(val)[5][2])' "$TOP/tests" "$ROM" "$TMP/old.hash"
sbsiglist --owner $owner --type sha256 --output "$TMP/old.esl" "$TMP/old.hash"
sbsiglist --owner $owner --type x509 --output "$TMP/kek.esl" "$TMP/kek.der"
for v in "dbx dbx.esl dbx.auth" "dbx old.esl dbx-old.auth" "db db-cert.esl db.auth" "KEK kek.esl kek.auth" "PK kek.esl pk.auth"; do
	set -- $v
	sbvarsign --key "$TMP/kek.key" --cert "$TMP/kek.crt" --output "$TMP/$3" $1 "$TMP/$2" >/dev/null 2>&1 ||
		fail "predict: sbvarsign $1 failed"
done

# ---- the TPM as judge ----
P=$(python3 -c '
import socket
for _ in range(100):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]; b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError:
        pass')
mkdir -p "$TMP/tpm"
swtpm socket --tpm2 --tpmstate dir="$TMP/tpm" --server type=tcp,port=$P,bindaddr=127.0.0.1 \
	--ctrl type=tcp,port=$((P + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
	--pid file="$TMP/tpm/pid" --daemon 2>"$TMP/swtpm.err"
sleep 0.2
SWTPM_PID=$(cat "$TMP/tpm/pid" 2>/dev/null)
trap '[ -n "$SWTPM_PID" ] && kill "$SWTPM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ -z "$SWTPM_PID" ]; then
	fail "predict: swtpm did not start: $(cat "$TMP/swtpm.err")"
	exit 0
fi
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$P"
export SWTPM_CTRL="127.0.0.1:$((P + 1))"

# one python process drives the TPM for every case: seal per log and profile, then per change reset,
# extend with the changed log, unseal, and compare with bdkit
python3 - "$BDKIT" "$EDIT" "$TMP" "$ROM" "$GCE" "$SHIM" "$GRUB" <<'EOF'
import json, os, subprocess, sys, time
bdkit, edit, tmp, rom, gce, shim, grub = sys.argv[1:8]
sys.path.insert(0, os.path.dirname(edit))
import eventlog_edit as ee

def run(*a, ok=True):
    r = subprocess.run(a, capture_output=True)
    if ok and r.returncode:
        raise SystemExit("%s failed: %s" % (a[0], r.stderr.decode()[-300:]))
    return r.returncode

PROFILES = [(7, 11), (0, 2, 4, 11)]
UNION = sorted(set(p for prof in PROFILES for p in prof))
BANK = {0x4: "sha1", 0xB: "sha256"}

def reset_and_extend(path, alg):
    run("swtpm_ioctl", "--tcp", os.environ["SWTPM_CTRL"], "-i")
    run("tpm2_startup", "-c")
    log = ee.Log(open(path, "rb").read())
    args = ["%d:%s=%s" % (e["pcr"], BANK[alg], e["digests"][alg].hex()) for e in log.events
            if e["pcr"] in UNION and e["type"] != ee.EV_NO_ACTION and alg in e["digests"]]
    for k in range(0, len(args), 60):
        run("tpm2_pcrextend", *args[k:k + 60])

# every reset here is a power loss without TPM2_Shutdown, which counts as a dictionary-attack failure
run("tpm2_dictionarylockout", "-Q", "--setup-parameters", "--max-tries=100000", "--recovery-time=1",
    "--lockout-recovery-time=1", "--clear-lockout")
run("tpm2_createprimary", "-Q", "-C", "o", "-g", "sha256", "-G", "ecc", "-c", tmp + "/prim.ctx")
run("tpm2_evictcontrol", "-Q", "-C", "o", "-c", tmp + "/prim.ctx", "0x81000001")
run("tpm2_flushcontext", "-t")

def sel(alg, prof):
    return "%s:%s" % (BANK[alg], ",".join(map(str, prof)))

HANDLES = {}

def seal(name, path, alg):
    """Seal the secret to each profile's PCRs as the current log leaves them; persistent objects survive
    the resets, so each case needs only tpm2_unseal."""
    reset_and_extend(path, alg)
    for i, prof in enumerate(PROFILES):
        pol, base = "%s/%s-%d.pol" % (tmp, name, i), "%s/%s-%d" % (tmp, name, i)
        handle = "0x%x" % (0x81000010 + len(HANDLES))
        run("tpm2_createpolicy", "-Q", "--policy-pcr", "-l", sel(alg, prof), "-L", pol)
        # noda: a refused unseal (policy failure) must not count towards the dictionary-attack lockout
        run("tpm2_create", "-Q", "-C", "0x81000001", "-L", pol, "-a", "fixedtpm|fixedparent|noda", "-i", tmp + "/secret",
            "-u", base + ".pub", "-r", base + ".priv")
        run("tpm2_load", "-Q", "-C", "0x81000001", "-u", base + ".pub", "-r", base + ".priv", "-c", base + ".ctx")
        run("tpm2_evictcontrol", "-Q", "-C", "o", "-c", base + ".ctx", handle)
        run("tpm2_flushcontext", "-t")
        HANDLES[(name, i)] = handle

def unseals(name, alg):
    res = []
    for i, prof in enumerate(PROFILES):
        r = subprocess.run(["tpm2_unseal", "-c", HANDLES[(name, i)], "-p", "pcr:" + sel(alg, prof)], capture_output=True)
        res.append(r.returncode == 0 and r.stdout == b"bdkit secret\n")
    return res

open(tmp + "/secret", "w").write("bdkit secret\n")
T = tmp + "/"
cases = [
    # log, alg, name, bdkit options, eventlog_edit edits
    (rom, 0x4, "dbx update (3 new hashes)", ["--dbx-update", T + "dbx.auth"], ["dbx-append=" + T + "dbx.auth"]),
    (rom, 0x4, "dbx update already applied", ["--dbx-update", T + "dbx-old.auth"], ["dbx-append=" + T + "dbx-old.auth"]),
    (rom, 0x4, "db update (a certificate)", ["--db-update", T + "db.auth"], ["db-append=" + T + "db.auth"]),
    (rom, 0x4, "KEK update", ["--kek-update", T + "kek.auth"], ["kek-append=" + T + "kek.auth"]),
    (rom, 0x4, "new platform key", ["--pk-update", T + "pk.auth"], ["pk-replace=" + T + "pk.auth"]),
    (rom, 0x4, "new boot manager (shim, UEFI CA 2011)", ["--boot-app", shim], ["boot-app=" + shim]),
    (rom, 0x4, "new boot manager (grub, not in db)", ["--boot-app", grub], ["boot-app=" + grub]),
    (rom, 0x4, "new BootOrder", ["--boot-order", "000C,0013"], ["set-boot-order=000C,0013"]),
    (rom, 0x4, "Secure Boot off", ["--secure-boot", "off"], ["secure-boot=off"]),
    (rom, 0x4, "dbx update + new boot manager", ["--dbx-update", T + "dbx.auth", "--boot-app", shim],
     ["dbx-append=" + T + "dbx.auth", "boot-app=" + shim]),
    (gce, 0xB, "dbx update (empty dbx)", ["--dbx-update", T + "dbx.esl"], ["dbx-append=" + T + "dbx.esl"]),
    (gce, 0xB, "new shim (Secure Boot off)", ["--boot-app", shim], ["boot-app=" + shim]),
    (gce, 0xB, "new grub (second application)", ["--boot-app", grub, "--target", "grubx64.efi"],
     ["boot-app=" + grub + "@grubx64.efi"]),
    (gce, 0xB, "new BootOrder", ["--boot-order", "0001,0003"], ["set-boot-order=0001,0003"]),
    (gce, 0xB, "Secure Boot on", ["--secure-boot", "on"], ["secure-boot=on"]),
    (gce, 0xB, "db update", ["--db-update", T + "db.auth"], ["db-append=" + T + "db.auth"]),
]
sealed = {}
t0 = time.time()
bad = 0
for log, alg, name, opts, edits in cases:
    tag = "rom" if log == rom else "gce"
    if tag not in sealed:
        seal(tag, log, alg)
        sealed[tag] = True
    changed = T + "changed.log"
    model = ee.Log(open(log, "rb").read())
    for e in edits:
        ee.apply(model, e)
    open(changed, "wb").write(model.serialize())
    reset_and_extend(changed, alg)
    tpm = unseals(tag, alg)
    # no --pcrs: bdkit answers for both Windows defaults, 7,11 then 0,2,4,11
    out = subprocess.run([bdkit, "diagnose", "predict", "--json", log, "--bank", BANK[alg]] + opts,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit("bdkit predict failed: " + out.stderr)
    prof_out = json.loads(out.stdout)["profiles"]
    assert [tuple(p["bound_pcrs"]) for p in prof_out] == PROFILES
    verdicts = [p["recovery"] for p in prof_out]
    words = []
    for prof, unsealed, rec in zip(PROFILES, tpm, verdicts):
        ok = unsealed == (not rec)
        bad += not ok
        words.append("%s: recovery %s, TPM %s%s" % (",".join(map(str, prof)), "yes" if rec else "no",
                     "unsealed" if unsealed else "refused", "" if ok else " MISMATCH"))
    print("%s: %s %s: %s" % ("PASS" if all(u == (not r) for u, r in zip(tpm, verdicts)) else "FAIL",
          "predict (swtpm judge)", "%s, %s" % (os.path.basename(log), name), "; ".join(words)))
print("PASS: predict: %d changes x 2 profiles judged by swtpm in %.1f s" % (len(cases), time.time() - t0) if not bad
      else "FAIL: predict: %d verdicts differ from the TPM" % bad)
EOF

# ---- a TPM 2.0 quote in a trust-point record (made by swtpm), judged by tpm2_checkquote ----
python3 - "$BDKIT" "$EDIT" "$TMP" "$GCE" <<'EOF'
import json, os, struct, subprocess, sys
bdkit, edit, tmp, gce = sys.argv[1:5]
sys.path.insert(0, os.path.dirname(edit))
import eventlog_edit as ee
def run(*a):
    r = subprocess.run(a, capture_output=True)
    if r.returncode:
        raise SystemExit("FAIL: predict quote: %s failed: %s" % (a[0], r.stderr.decode()[-300:]))
    return r.stdout
T = tmp + "/"
run("swtpm_ioctl", "--tcp", os.environ["SWTPM_CTRL"], "-i")
run("tpm2_startup", "-c")
log = ee.Log(open(gce, "rb").read())
args = ["%d:sha256=%s" % (e["pcr"], e["digests"][0xB].hex()) for e in log.events if e["type"] != ee.EV_NO_ACTION and e["pcr"] < 24]
for k in range(0, len(args), 60):
    run("tpm2_pcrextend", *args[k:k + 60])
run("tpm2_flushcontext", "-t")
run("tpm2_createek", "-Q", "-G", "ecc", "-c", T + "ek.ctx")
run("tpm2_flushcontext", "-t")
run("tpm2_createak", "-Q", "-C", T + "ek.ctx", "-c", T + "ak.ctx", "-G", "ecc", "-g", "sha256", "-s", "ecdsa",
    "-u", T + "ak.pub", "-f", "pem", "-n", T + "ak.name")
run("tpm2_flushcontext", "-t")
os.rename(T + "ak.pub", T + "ak.pem")
run("tpm2_quote", "-Q", "-c", T + "ak.ctx", "-l", "sha256:0,1,2,3,4,5,6,7,8,9,14", "-q", "0badc0de", "-m", T + "quote.msg",
    "-s", T + "quote.sig", "-o", T + "quote.pcrs", "-g", "sha256")
judge = subprocess.run(["tpm2_checkquote", "-u", T + "ak.pem", "-m", T + "quote.msg", "-s", T + "quote.sig",
                        "-f", T + "quote.pcrs", "-g", "sha256", "-q", "0badc0de"], capture_output=True).returncode == 0
der = run("openssl", "pkey", "-pubin", "-in", T + "ak.pem", "-outform", "der")
def sipa(t, d):
    return struct.pack("<II", t, len(d)) + d
items = sipa(0x80080003, "Windows AIK".encode("utf-16-le") + b"\0\0" + der) + \
        sipa(0x80080001, open(T + "quote.msg", "rb").read()) + sipa(0x80080002, open(T + "quote.sig", "rb").read())
tp = dict(pcr=0xFFFFFFFF, type=ee.EV_NO_ACTION, data=sipa(0xC0010004, items),
          digests={a: bytes(log.sizes[a]) for a in log.order})
def verdict(path, *extra):
    d = json.loads(subprocess.run([bdkit, "eventlog", "show", "--json", path] + list(extra), capture_output=True,
                                  text=True, check=True).stdout)
    return d["quote"]
log.events.append(tp)
open(T + "quoted.log", "wb").write(log.serialize())
q = verdict(T + "quoted.log")
q2 = verdict(T + "quoted.log", "--aik", T + "ak.pem")
ok = judge and q["matches"] is True and q["signature"] is True and q2["signature"] is True and q["tpm_version"] == "2.0"
print("%s: predict: a swtpm TPM 2.0 quote in a trust point: tpm2_checkquote %s; bdkit: %s, signature %s (key from the "
      "record and from --aik)" % ("PASS" if ok else "FAIL", "accepts it" if judge else "REFUSES it", q["verdict"], q["signature"]))
changed = ee.Log(open(gce, "rb").read())
ee.apply(changed, "dbx-append=" + T + "dbx.esl")
changed.events.append(tp)
open(T + "quoted2.log", "wb").write(changed.serialize())
q = verdict(T + "quoted2.log")
print("%s: predict: the same quote after a dbx change in the log: %s (signature still %s)" %
      ("PASS" if q["matches"] is False and q["signature"] is True else "FAIL", q["verdict"], q["signature"]))
EOF
