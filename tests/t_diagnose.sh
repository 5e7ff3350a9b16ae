#!/bin/sh
# bdkit diagnose: the real Secure Boot pair (dbx empty vs populated) and pairs made here from the real
# Windows logs by editing one thing and recomputing digests (tests/eventlog_edit.py, which shares no
# code with bdkit): each is named correctly; two identical boots give nothing; different machines are
# reported as such; a MeasuredBoot folder picks the good and the bad boot by itself.
. "$(dirname "$0")/lib.sh"

EL="$SHARED/testdata/eventlogs"
EDIT="$TOP/tests/eventlog_edit.py"
if [ ! -d "$EL" ]; then
	skip "diagnose: ../shared/testdata/eventlogs is absent; no real logs to test"
	exit 0
fi
if ! command -v python3 >/dev/null; then
	skip "diagnose: python3 is needed to build the synthetic pairs"
	exit 0
fi
ROM="$EL/go-attestation/option_rom_eventlog"      # Windows, real hardware (HP), TPM unlock
GCP="$EL/go-attestation/windows_gcp_shielded_vm.wbcl.bin"

# top CAUSE [PCR] [CONF]: the first bound finding of $TMP/d.json has this cause (and PCR, confidence)
top() {
	python3 - "$TMP/d.json" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = sys.argv[2]
bound = [f for f in d["findings"] if f["bound"]]
if not bound:
    print("no bound finding"); sys.exit(1)
f = bound[0]
if f["cause"] != want:
    print("top cause %s, want %s (all: %s)" % (f["cause"], want, [x["cause"] for x in bound])); sys.exit(1)
if len(sys.argv) > 3 and sys.argv[3] and int(sys.argv[3]) not in f["pcrs"]:
    print("PCRs %s, want %s" % (f["pcrs"], sys.argv[3])); sys.exit(1)
if len(sys.argv) > 4 and f["confidence"] != sys.argv[4]:
    print("confidence %s, want %s" % (f["confidence"], sys.argv[4])); sys.exit(1)
print("%s [%s] %s" % (f["cause"], f["confidence"], f["evidence"][0] if f["evidence"] else ""))
EOF
}

# case NAME OPTIONS EDITS... : bad = ROM + edits + recovery unlock flags; good = ROM
pair() {
	name=$1 opts=$2 cause=$3 pcr=$4 conf=$5
	shift 5
	if ! python3 "$EDIT" "$ROM" "$TMP/bad.log" "$@" unlock=0x40 2>"$TMP/err"; then
		fail "diagnose $name: could not build the pair: $(cat "$TMP/err")"
		return
	fi
	# shellcheck disable=SC2086
	if ! "$BDKIT" diagnose $opts --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json" 2>"$TMP/err"; then
		fail "diagnose $name: bdkit failed: $(cat "$TMP/err")"
		return
	fi
	if out=$(top "$cause" "$pcr" "$conf"); then
		pass "diagnose $name: $out"
	else
		fail "diagnose $name: $out"
	fi
}

pair "boot order"          "--pcrs 0,2,4,11" boot-order         4 medium boot-order
pair "boot from USB"       "--pcrs 0,2,4,11" boot-media         4 high   boot-media
pair "boot manager"        "--pcrs 0,2,4,11" boot-manager       4 high   boot-manager
pair "firmware (S-CRTM)"   "--pcrs 0,2,4,11" firmware-update    0 high   firmware
pair "option ROM"          "--pcrs 0,2,4,11" option-rom         2 high   option-rom
pair "partition resized"   "--pcrs 0,2,4,5,11" partition-table 5 high partition
pair "Secure Boot off"     ""                secure-boot-state  7 high   secure-boot-off
pair "boot debugging"      ""                debug-policy       "" high  debug
pair "test signing"        ""                debug-policy       "" high  test-signing
pair "recovery, no change" ""                no-pcr-change      "" medium
pair "other machine"       ""                different-platform "" high  platform

# the same change under a profile that does not bind it: no bound cause, but listed as unbound
python3 "$EDIT" "$ROM" "$TMP/bad.log" boot-manager
"$BDKIT" diagnose --pcrs 7,11 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
b=[f for f in d["findings"] if f["bound"]]; u=[f["cause"] for f in d["findings"] if not f["bound"]]
sys.exit(0 if not b and "boot-manager" in u and d["differing_bound_pcrs"]==[] else 1)' "$TMP/d.json"; then
	pass "diagnose: a new boot manager under PCR 7 binding is listed as not bound (no recovery cause)"
else
	fail "diagnose: boot manager change under 7,11 misreported"
fi

# PIN: good boot unlocked with TPM+PIN, bad one by recovery, PCRs equal
python3 "$EDIT" "$ROM" "$TMP/good-pin.log" unlock=0x14
python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
"$BDKIT" diagnose --json --good "$TMP/good-pin.log" --bad "$TMP/bad.log" >"$TMP/d.json"
out=$(top pin-lockout "" medium) && pass "diagnose TPM+PIN then recovery with equal PCRs: $out" ||
	fail "diagnose PIN lockout: $out"

# two identical boots: nothing at all
"$BDKIT" diagnose --json --good "$ROM" --bad "$ROM" >"$TMP/d.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["findings"]==[] and d["differing_pcrs"]==[] else 1)' "$TMP/d.json"; then
	pass "diagnose: two identical boots report nothing"
else
	fail "diagnose: identical boots reported $(cat "$TMP/d.json")"
fi
for p in "0,2,4,11" "0-23"; do
	"$BDKIT" diagnose --pcrs $p --json --good "$GCP" --bad "$GCP" >"$TMP/d.json"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["findings"]==[] else 1)' "$TMP/d.json" &&
		pass "diagnose: identical GCE Windows boots, PCRs $p: nothing" || fail "diagnose: identical GCE boots, PCRs $p"
done

# two real Windows logs of different machines: reported as such, not diffed
"$BDKIT" diagnose --json --good "$ROM" --bad "$GCP" >"$TMP/d.json"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(0 if d["different_platform"] and [f["cause"] for f in d["findings"]]==["different-platform"] else 1)' "$TMP/d.json"; then
	pass "diagnose: real logs of two machines (HP hardware vs GCE VM) reported as different machines only"
else
	fail "diagnose: two machines: $(cat "$TMP/d.json")"
fi

# the real Secure Boot pair: same GCE machine, dbx empty (good) vs populated (bad)
"$BDKIT" diagnose --pcrs 7,11 --json --good "$EL/tpm2-tools/event-gce-ubuntu-2104-log.bin" \
	--bad "$EL/go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog" >"$TMP/d.json"
if out=$(top secure-boot-policy 7 high) && grep -q 'dbx' "$TMP/d.json" &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if not d["different_platform"] and d["differing_bound_pcrs"]==[7] else 1)' "$TMP/d.json"; then
	pass "diagnose real dbx pair: $out"
else
	fail "diagnose real dbx pair: $out"
fi
"$BDKIT" diagnose --pcrs 7,11 --good "$EL/tpm2-tools/event-gce-ubuntu-2104-log.bin" \
	--bad "$EL/go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog" >"$TMP/d.txt"
grep -q "Cause 1 \[high confidence\]: Secure Boot policy changed" "$TMP/d.txt" && grep -q "Advice: " "$TMP/d.txt" &&
	pass "diagnose: readable report with cause and advice" || fail "diagnose: readable report"

# a MeasuredBoot folder: picks the newest recovery boot and the newest earlier TPM boot; skips a broken log
mb="$TMP/MeasuredBoot"
mkdir -p "$mb"
python3 "$EDIT" "$ROM" "$mb/0000000010-0000000000.log" bootcount=10
python3 "$EDIT" "$ROM" "$mb/0000000011-0000000000.log" bootcount=11
python3 "$EDIT" "$ROM" "$mb/0000000012-0000000000.log" bootcount=12 firmware unlock=0x40
python3 "$EDIT" "$ROM" "$mb/0000000013-0000000000.log" bootcount=13 firmware
head -c 3000 "$ROM" >"$mb/0000000014-0000000000.log"
"$BDKIT" diagnose --pcrs 0,2,4,11 --json "$mb" >"$TMP/d.json" 2>"$TMP/err"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
ok = d["good"].endswith("0000000011-0000000000.log") and d["bad"].endswith("0000000012-0000000000.log")
sys.exit(0 if ok else 1)' "$TMP/d.json" && top firmware-update 0 high >/dev/null && grep -q "skipping" "$TMP/err"; then
	pass "diagnose MeasuredBoot folder: good = boot 11, bad = boot 12 (recovery), firmware update named, broken log skipped"
else
	fail "diagnose MeasuredBoot folder: $(cat "$TMP/err") $(head -c 300 "$TMP/d.json")"
fi
# no recovery boot in the set
rm -f "$mb/0000000012-0000000000.log"
"$BDKIT" diagnose "$mb" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "recovery" "$TMP/err" && pass "diagnose: a folder without a recovery boot says so (exit 2)" ||
	fail "diagnose: folder without a recovery boot"

# only the bad boot: causes visible in it alone
python3 "$EDIT" "$ROM" "$TMP/bad.log" test-signing unlock=0x40
"$BDKIT" diagnose --json --bad "$TMP/bad.log" >"$TMP/d.json" 2>/dev/null
out=$(top debug-policy "" medium) && pass "diagnose bad boot alone: $out" || fail "diagnose bad boot alone: $out"

python3 "$EDIT" "$ROM" "$TMP/bad.log" secure-boot-off unlock=0x40
"$BDKIT" diagnose --pcrs 7,11 --json --bad "$TMP/bad.log" >"$TMP/d.json" 2>/dev/null
out=$(top secure-boot-state 7 medium) && pass "diagnose bad boot alone, Secure Boot off, PCR 7 bound: $out" ||
	fail "diagnose bad boot alone, Secure Boot off: $out"

# bad input
python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
head -c 40000 "$TMP/bad.log" >"$TMP/trunc.log"
"$BDKIT" diagnose --good "$ROM" --bad "$TMP/trunc.log" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 7 ] && grep -q "offset" "$TMP/err" && pass "diagnose: truncated bad log is refused (exit 7, offset named)" ||
	fail "diagnose: truncated log: exit $rc $(cat "$TMP/err")"
"$BDKIT" diagnose --pcrs 7,99 --bad "$ROM" >/dev/null 2>&1
[ $? -eq 2 ] && pass "diagnose: --pcrs 7,99 is a usage error" || fail "diagnose: bad --pcrs accepted"
"$BDKIT" diagnose --help | grep -q "Usage: bdkit diagnose" && pass "diagnose --help" || fail "diagnose --help"

# --volume: the protector set comes from a real Windows volume (these have no TPM protector)
if need_images "diagnose --volume"; then
	img="$IMGDIR/bitlk-aes-xts-128.img"
	python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
	"$BDKIT" diagnose --volume "$img" --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 8 ] || grep -q "not available\|not merged" "$TMP/err"; then
		skip "diagnose --volume: this build has no volume reader yet ($(cat "$TMP/err"))"
	elif [ $rc -eq 0 ] && out=$(top tpm-protector-missing "" high) &&
	     grep -q '"profile_source":"[^"]*no TPM protector' "$TMP/d.json"; then
		pass "diagnose --volume on a volume without TPM protector: $out"
	else
		fail "diagnose --volume: exit $rc $(cat "$TMP/err") $(head -c 400 "$TMP/d.json")"
	fi
fi
