#!/bin/sh
# bdkit eventlog: every real log in ../shared/testdata/eventlogs replays to the PCRs that tpm2_eventlog
# printed (YAML beside each log) and, for the Windows GCE log, to the TPM's own PCR values; the
# truncated log is rejected; the real-hardware Windows log parses fully and says "unlocked by TPM".
. "$(dirname "$0")/lib.sh"

EL="$SHARED/testdata/eventlogs"
if [ ! -d "$EL" ]; then
	skip "eventlog: ../shared/testdata/eventlogs is absent; no real logs to test"
	exit 0
fi
if ! command -v python3 >/dev/null; then
	skip "eventlog: python3 is needed to read the reference YAML/JSON"
	exit 0
fi

# compare_yaml LOG YAML: the pcrs: section of tpm2_eventlog's YAML against bdkit's JSON replay
compare_yaml() {
	"$BDKIT" eventlog show --json "$1" >"$TMP/show.json" 2>"$TMP/err" || { cat "$TMP/err"; return 1; }
	python3 - "$2" "$TMP/show.json" <<'EOF'
import json, re, sys
ref, bank, on = {}, None, False
for line in open(sys.argv[1]):
    if line.startswith("pcrs:"):
        on = True
        continue
    if not on:
        continue
    m = re.match(r"^  (\w+):\s*$", line)
    if m:
        bank = m.group(1)
        ref[bank] = {}
        continue
    m = re.match(r"^\s+(\d+)\s*:\s*0x([0-9a-fA-F]+)\s*$", line)
    if m and bank:
        ref[bank][m.group(1)] = m.group(2).lower()
got = json.load(open(sys.argv[2]))["pcrs"]
n = 0
for bank, pcrs in ref.items():
    for idx, val in pcrs.items():
        if got.get(bank, {}).get(idx) != val:
            print("bank %s PCR %s: tpm2_eventlog %s, bdkit %s" % (bank, idx, val, got.get(bank, {}).get(idx)))
            sys.exit(1)
        n += 1
if not n:
    print("no PCR values in the YAML")
    sys.exit(2)
print(n)
EOF
}

for log in "$EL"/*/*; do
	case "$log" in *.yaml|*.json|*.md|*.err) continue ;; esac
	name=$(basename "$log")
	yaml="$log.tpm2_eventlog.yaml"
	if [ "$name" = short_no_action_eventlog ]; then
		continue
	fi
	if ! grep -q '^pcrs:' "$yaml" 2>/dev/null; then
		# tpm2_eventlog failed on this one (option_rom_eventlog): checked below
		continue
	fi
	if out=$(compare_yaml "$log" "$yaml"); then
		pass "eventlog replay $name = tpm2_eventlog ($out PCR values)"
	else
		fail "eventlog replay $name: $out"
	fi
	if "$BDKIT" eventlog verify "$log" --pcrs "$yaml" >"$TMP/out" 2>&1; then
		pass "eventlog verify $name against its YAML"
	else
		fail "eventlog verify $name: $(tail -n 3 "$TMP/out")"
	fi
done

# Windows on a GCE shielded VM: the TPM's own PCRs (SHA-1, Log.PCRs in the JSON)
json="$EL/go-attestation/windows_gcp_shielded_vm.json"
wbcl="$EL/go-attestation/windows_gcp_shielded_vm.wbcl.bin"
python3 - "$json" >"$TMP/tpm.yaml" <<'EOF'
import base64, json, sys
pcrs = json.load(open(sys.argv[1]))["Log"]["PCRs"]
print("sha1:")
for p in sorted(pcrs, key=lambda p: p["Index"]):
    assert p["DigestAlg"] == 3  # Go crypto.SHA1
    print("  %d : 0x%s" % (p["Index"], base64.b64decode(p["Digest"]).hex().upper()))
EOF
"$BDKIT" eventlog show --json "$wbcl" >"$TMP/gcp.json"
if python3 - "$json" "$TMP/gcp.json" <<'EOF'
import base64, json, sys
pcrs = json.load(open(sys.argv[1]))["Log"]["PCRs"]
got = json.load(open(sys.argv[2]))["pcrs"]["sha1"]
bad = [p["Index"] for p in pcrs if got[str(p["Index"])] != base64.b64decode(p["Digest"]).hex()]
sys.exit(1 if bad or len(pcrs) != 24 else 0)
EOF
then
	pass "eventlog replay of the Windows GCE log = the TPM's 24 PCR values (windows_gcp_shielded_vm.json)"
else
	fail "eventlog replay of the Windows GCE log differs from the TPM's PCR values"
fi
if "$BDKIT" eventlog verify "$wbcl" --pcrs "$TMP/tpm.yaml" | grep -q "OK: 24 PCR"; then
	pass "eventlog verify: Windows GCE log against the TPM's PCRs (tpm2_pcrread format)"
else
	fail "eventlog verify: Windows GCE log against the TPM's PCRs"
fi
# a wrong PCR value is caught and exits non-zero
sed 's/^  7 : 0x./  7 : 0x0/' "$TMP/tpm.yaml" >"$TMP/tpm-bad.yaml"
if ! "$BDKIT" eventlog verify "$wbcl" --pcrs "$TMP/tpm-bad.yaml" >"$TMP/out" 2>&1 && grep -q "PCR  7: MISMATCH" "$TMP/out"; then
	pass "eventlog verify reports a PCR that differs (exit 1)"
else
	fail "eventlog verify did not catch a changed PCR 7"
fi
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); w=d["windows"]; sys.exit(0 if w["boot_count"]==4 and w["unlock_flags"]==0 else 1)' "$TMP/gcp.json"; then
	pass "eventlog: GCE Windows log: boot count 4, no BitLocker unlock"
else
	fail "eventlog: GCE Windows log facts wrong"
fi

# Windows on real hardware (tpm2_eventlog segfaults on it): every record, unlocked by TPM
rom="$EL/go-attestation/option_rom_eventlog"
if "$BDKIT" eventlog show --json "$rom" >"$TMP/rom.json" 2>"$TMP/err" &&
   python3 - "$TMP/rom.json" "$rom" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
ev = d["events"]
last = ev[-1]
# the records cover the file exactly: the last one ends at the file's end
end = last["offset"] + 32 + last["size"]
ok = (len(ev) == 61 and end == os.path.getsize(sys.argv[2]) and last["pcr"] == 0xFFFFFFFF
      and not last["measured"] and d["windows"]["unlocked_by_tpm"] and not d["windows"]["recovery"])
sys.exit(0 if ok else 1)
EOF
then
	pass "eventlog: real-hardware Windows log parses to its end (61 records, trailing PCR 0xFFFFFFFF), unlocked by TPM"
else
	fail "eventlog: real-hardware Windows log: $(cat "$TMP/err")"
fi
if "$BDKIT" eventlog show "$rom" | grep -q "BitLocker unlock:  0x00000005 (cached+TPM)"; then
	pass "eventlog show: readable Windows facts"
else
	fail "eventlog show: Windows facts missing"
fi
# its replay is consistent with the digests that tpm2_eventlog printed before crashing: PCR 0 from events 0-1
if python3 - "$TMP/rom.json" "$rom.tpm2_eventlog.yaml" <<'EOF'
import hashlib, json, re, sys
d = json.load(open(sys.argv[1]))
y = open(sys.argv[2]).read()
# digests of every PCR 0 event as tpm2_eventlog printed them, replayed here independently
digs, pcr = [], None
for line in y.splitlines():
    m = re.match(r"\s*PCRIndex: (\d+)", line)
    if m:
        pcr = int(m.group(1))
    m = re.match(r'\s*Digest: "([0-9a-f]+)"', line)
    if m and pcr == 0:
        digs.append(bytes.fromhex(m.group(1)))
v = bytes(20)
for x in digs:
    v = hashlib.sha1(v + x).digest()
sys.exit(0 if digs and d["pcrs"]["sha1"]["0"] == v.hex() else 1)
EOF
then
	pass "eventlog: real-hardware log PCR 0 = replay of the digests tpm2_eventlog printed"
else
	fail "eventlog: real-hardware log PCR 0 differs from tpm2_eventlog's digests"
fi

# truncated / corrupt logs: rejected with the offset named
short="$EL/go-attestation/short_no_action_eventlog"
"$BDKIT" eventlog show "$short" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "offset" "$TMP/err"; then
	pass "eventlog rejects short_no_action_eventlog (exit $rc): $(cat "$TMP/err")"
else
	fail "eventlog accepted short_no_action_eventlog (exit $rc)"
fi
for cut in 31 100 5000 20000 72800; do
	head -c $cut "$rom" >"$TMP/cut.log"
	"$BDKIT" eventlog show "$TMP/cut.log" >/dev/null 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 7 ] && grep -q "offset [0-9]" "$TMP/err"; then
		pass "eventlog rejects the real log cut at $cut bytes (exit 7, offset named)"
	else
		fail "eventlog on the real log cut at $cut bytes: exit $rc: $(cat "$TMP/err")"
	fi
done
# a digest count larger than the Spec ID's algorithm list
python3 - "$EL/tpm2-tools/event.bin" "$TMP/corrupt.bin" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from("<I", b, 28)[0]
off = 32 + n            # second record: PCR, type, digest count
struct.pack_into("<I", b, off + 8, 9)
open(sys.argv[2], "wb").write(b)
EOF
"$BDKIT" eventlog show "$TMP/corrupt.bin" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -eq 5 ] && grep -q "offset" "$TMP/err"; then
	pass "eventlog rejects a corrupt digest count (exit 5): $(cat "$TMP/err")"
else
	fail "eventlog on a corrupt digest count: exit $rc"
fi

# CLI basics
"$BDKIT" eventlog --help | grep -q "Usage: bdkit eventlog" && pass "eventlog --help" || fail "eventlog --help"
"$BDKIT" eventlog show >/dev/null 2>&1
[ $? -eq 2 ] && pass "eventlog without a log is a usage error (2)" || fail "eventlog usage exit code"
"$BDKIT" eventlog verify "$rom" >/dev/null 2>&1
[ $? -eq 2 ] && pass "eventlog verify without --pcrs is a usage error" || fail "eventlog verify without --pcrs"
if "$BDKIT" eventlog show --json "$EL/tpm2-tools/event-postcode.bin" | python3 -c 'import json,sys; json.load(sys.stdin)'; then
	pass "eventlog show --json is valid JSON"
else
	fail "eventlog show --json is not valid JSON"
fi
