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

# ---- what is not a log: exit 5 naming the offset ----
head -c 4096 /dev/zero >"$TMP/zero.log"
head -c 4096 /dev/urandom >"$TMP/random.log"
cp "$TOP/README.md" "$TMP/text.log"
for f in zero random text; do
	"$BDKIT" eventlog show "$TMP/$f.log" >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc -eq 5 ] && grep -q "offset [0-9]" "$TMP/err" && pass "eventlog: $f bytes are not a log (exit 5): $(cat "$TMP/err")" ||
		fail "eventlog: $f bytes: exit $rc $(cat "$TMP/err")"
done

# ---- resource bounds (issue 9 finding 4), inputs built here from ../shared/security/mklog.py ----
# run_measured SECONDS CMD...: exit status, wall time and peak RSS (KiB) of CMD, printed "rc secs kib"
run_measured() {
	python3 - "$@" <<'EOF2'
import resource, subprocess, sys, time
limit = float(sys.argv[1])
t = time.time()
try:
    rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=limit).returncode
except subprocess.TimeoutExpired:
    rc = "timeout"
print(rc, "%.2f" % (time.time() - t), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF2
}
MKLOG="$SHARED/security/mklog.py"
asan=0
case $BUILD in *asan*) asan=1 ;; esac
if [ -f "$MKLOG" ]; then
	python3 "$MKLOG" "$TMP/mk2m.log" 131072            # 2 MiB of zero records, then a stray byte
	set -- $(run_measured 20 "$BDKIT" eventlog show "$TMP/mk2m.log")
	if [ "$1" = 5 ]; then
		pass "eventlog: mklog.py 2 MiB (131072 zero records) refused as not a log (exit 5) in $2 s (was 21 s: a rescan per record)"
	else
		fail "eventlog: mklog.py 2 MiB log: exit $1 after $2 s"
	fi
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mklog; open(sys.argv[2], "wb").write(mklog.quad(131072, b""))' \
		"$SHARED/security" "$TMP/mkpad.log"
	"$BDKIT" eventlog show "$TMP/mkpad.log" >/dev/null 2>"$TMP/err"
	[ $? -eq 7 ] && pass "eventlog: a Spec ID header and 2 MiB of zero padding holds no measurement (exit 7)" ||
		fail "eventlog: zero-padded header: $(cat "$TMP/err")"
else
	skip "eventlog: ../shared/security/mklog.py absent"
fi
# the densest valid log: 16-byte records (no digest: the SHA-256 bank becomes unusable, the walk goes on)
python3 - "$TMP/dense.log" 16777216 <<'EOF2'
import struct, sys
spec = b"Spec ID Event03\0" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, 1) + struct.pack("<HH", 0x000b, 32) + b"\0"
head = struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", len(spec)) + spec
n = (int(sys.argv[2]) - len(head)) // 16
open(sys.argv[1], "wb").write(head + struct.pack("<IIII", 1, 0x80000007, 0, 0) * n)
EOF2
printf 'sha256:\n  0 : 0x%064d\n' 0 >"$TMP/pcr0.yaml"
set -- $(run_measured 60 "$BDKIT" eventlog verify "$TMP/dense.log" --pcrs "$TMP/pcr0.yaml")
one_rss=$3
if [ "$1" = 1 ] && { [ $asan -eq 1 ] || [ "$3" -lt $((8 * 16384)) ]; }; then
	pass "eventlog: 16 MiB log of 1048574 records parsed in $2 s, peak RSS $(($3 / 1024)) MiB (bank without digests refused)"
else
	fail "eventlog: 16 MiB dense log: exit $1, $2 s, peak RSS $3 KiB (limit 8x the log)"
fi
"$BDKIT" eventlog verify "$TMP/dense.log" --pcrs "$TMP/pcr0.yaml" 2>&1 | grep -q "not-in-log\|lack" &&
	pass "eventlog verify: PCRs of a bank with missing digests are not offered as replayed" ||
	fail "eventlog verify: missing-digest bank replayed"
# diagnose FOLDER keeps one log at a time: four such logs cost about what one does
mkdir -p "$TMP/mb"
for i in 1 2 3 4; do ln "$TMP/dense.log" "$TMP/mb/000000000$i-0000000000.log"; done
python3 "$TOP/tests/eventlog_edit.py" "$EL/go-attestation/option_rom_eventlog" "$TMP/mb/0000000009-0000000000.log" \
	bootcount=9 unlock=0x40
set -- $(run_measured 120 "$BDKIT" diagnose "$TMP/mb")
if [ "$1" = 0 ] && { [ $asan -eq 1 ] || [ "$3" -lt $((one_rss * 3 / 2 + 8192)) ]; }; then
	pass "diagnose FOLDER of four 16 MiB logs: $2 s, peak RSS $(($3 / 1024)) MiB (one log alone: $((one_rss / 1024)) MiB)"
else
	fail "diagnose FOLDER of four 16 MiB logs: exit $1, $2 s, peak RSS $3 KiB (one log: $one_rss KiB)"
fi
rm -rf "$TMP/mb" "$TMP/dense.log"

# ---- digest-vs-data: bdkit flags exactly the events tpm2_eventlog warns about ----
if command -v tpm2_eventlog >/dev/null; then
	agree=0 n=0
	for log in "$EL"/tpm2-tools/*.bin "$EL"/go-attestation/*eventlog; do
		case "$log" in *short_no_action*|*option_rom*) continue ;; esac
		n=$((n + 1))
		want=$(tpm2_eventlog "$log" 2>&1 >/dev/null | sed -n "s/.*Event \([0-9]*\)'s digest does not match.*/\1/p" | sort -n | tr '\n' ' ')
		got=$("$BDKIT" eventlog show --json "$log" | python3 -c '
import json,sys; print(" ".join(str(e["index"]) for e in json.load(sys.stdin)["events"] if e["digest_ok"] is False))')
		[ "$(echo $want)" = "$(echo $got)" ] && agree=$((agree + 1)) || echo "  $(basename "$log"): tpm2_eventlog [$want] bdkit [$got]"
	done
	[ $agree -eq $n ] && pass "eventlog: digest-vs-data mismatches agree with tpm2_eventlog on all $n logs (arch-linux event 24)" ||
		fail "eventlog: digest-vs-data disagrees with tpm2_eventlog on $((n - agree)) of $n logs"
else
	fail "eventlog: tpm2_eventlog missing (scripts/install-deps.sh installs tpm2-tools)"
fi

# ---- JSON: raw data and decoded fields; --index ----
arch="$EL/tpm2-tools/event-arch-linux.bin"
if "$BDKIT" eventlog show --json "$arch" | python3 -c '
import json,sys
d=json.load(sys.stdin); ev=d["events"]
raw=open(sys.argv[1],"rb").read()
ok = all(bytes.fromhex(e["data"]) == raw[e["offset"]+e["record_size"]-e["size"]:e["offset"]+e["record_size"]] for e in ev)
ok = ok and ev[24]["decoded"]["encoding"]=="utf-16" and ev[24]["decoded"]["text"].startswith("initrd=")
crtm=[e for e in ev if e["type"]=="EV_S_CRTM_VERSION"][0]
ok = ok and crtm["decoded"]["version"]=="{546bfb1e-1d0c-4055-a4ad-4ef4bf17b83a}" and all("summary" in e["decoded"] for e in ev)
sys.exit(0 if ok else 1)' "$arch"; then
	pass "eventlog show --json: every event's data in hex equals the file's bytes; decoded fields (UTF-16 EV_IPL, GUID S-CRTM version)"
else
	fail "eventlog show --json: data/decoded fields"
fi
"$BDKIT" eventlog show --index 42 "$rom" >"$TMP/out" &&
	grep -q "partition 2: LBA 616448-1148927 EFI system" "$TMP/out" && grep -q "Record 42 at offset 21503" "$TMP/out" &&
	grep -q "^  000053ff  05 00 00 00 06 00 00 80" "$TMP/out" &&
	pass "eventlog show --index 42: GPT partitions listed, the record's bytes at its offset" ||
	fail "eventlog show --index 42"
"$BDKIT" eventlog show --json "$rom" | python3 -c '
import json,sys; ev=json.load(sys.stdin)["events"]
t=" ".join(e["description"] for e in ev)
ok = "MAC(dc:4a:3e:7c:81:8d,0x0)/IPv6(" in t and "IPv4(0.0.0.0," in t and "Offset(0xf600,0x207ff)" in t
ok = ok and any(x["name"]=="SBCP_INFO" and x["value"].startswith("Secure Boot custom policy") for e in ev for x in e.get("sipa",[]))
ok = ok and any(x["name"]=="AUTHORITYPUBKEY" and "2048-bit" in x["value"] for e in ev for x in e.get("sipa",[]))
sys.exit(0 if ok else 1)' && pass "eventlog: device paths (MAC, IPv4/IPv6, option ROM offset), SBCP_INFO and AUTHORITYPUBKEY decoded" ||
	fail "eventlog: decoding gaps"
"$BDKIT" eventlog show --index 99 "$rom" >/dev/null 2>&1
[ $? -eq 2 ] && pass "eventlog show --index beyond the log is a usage error" || fail "eventlog --index 99"

# ---- terminal escapes in a log are never printed ----
python3 - "$rom" "$TMP/esc.log" <<'EOF2'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
# the S-CRTM version "M60" becomes ESC ] ... BEL (an OSC sequence) plus CSI (8-bit, as UTF-8 C2 9B)
i = b.find(b"M\x006\x000\x00")
b[i:i+6] = b"\x1b]0\x07\xc2\x9b"
# a boot option's UTF-16 description starts with ESC [ 2 J and U+009B (CSI)
i = b.find("IPV6 Network".encode("utf-16-le"))
b[i:i+10] = "\x1b[2J\x9b".encode("utf-16-le")
open(sys.argv[2], "wb").write(bytes(b))
EOF2
"$BDKIT" eventlog show "$TMP/esc.log" >"$TMP/out" 2>&1
"$BDKIT" eventlog show --json "$TMP/esc.log" >>"$TMP/out" 2>&1
if ! python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); sys.exit(1 if b"\x1b" in b or b"\x07" in b or b"\xc2\x9b" in b else 0)' "$TMP/out"; then
	fail "eventlog: control characters from the log reached the output"
else
	pass "eventlog: escape sequences and C1 controls in a log are printed as '?'"
fi

# ---- TPM quote in the real Windows log's trust point ----
"$BDKIT" eventlog show --json "$rom" | python3 -c '
import json,sys; q=json.load(sys.stdin)["quote"]
sys.exit(0 if q["matches"] is True and q["tpm_version"]=="1.2" and q["selections"][0]["pcrs"]==[0,1,2,3,4,5,6,8,9,10,12,13,14,15] and q["aik"]=="Windows AIK" else 1)' &&
	pass "eventlog: the real Windows log matches the TPM 1.2 quote in its trust point (PCRs 0-6,8-10,12-15)" ||
	fail "eventlog: quote of the real Windows log"
python3 "$TOP/tests/eventlog_edit.py" "$rom" "$TMP/edited.log" firmware
"$BDKIT" eventlog show "$TMP/edited.log" | grep -q "log does NOT match the TPM's quote" &&
	pass "eventlog: an edited log does NOT match its TPM quote" || fail "eventlog: edited log vs quote"
