#!/bin/sh
# bdkit diagnose: the real Secure Boot pair (dbx empty vs populated) and pairs made here from the real
# Windows logs by editing one thing and recomputing digests (tests/eventlog_edit.py, which shares no
# code with bdkit): one pair per cause, each named by its cause id, none of the same-machine pairs
# called "different machines"; content alignment (one inserted event is one change); evidence with
# event indexes and offsets that `eventlog show --index` finds; MeasuredBoot folders (good/bad pick,
# resume logs, volatile PCRs); single-log readings; what is not a log, and logs cut at every record.
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

# check CAUSE [PCR] [CONF] [SAME]: the first bound finding of $TMP/d.json has this cause (PCR, confidence);
# SAME=same: the logs are not called different machines
check() {
	python3 - "$TMP/d.json" "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = sys.argv[2]
pcr = sys.argv[3] if len(sys.argv) > 3 else ""
conf = sys.argv[4] if len(sys.argv) > 4 else ""
same = sys.argv[5] if len(sys.argv) > 5 else ""
bound = [f for f in d["findings"] if f["bound"] and f["cause"] not in ("volatile-measurement",)]
if not bound:
    print("no bound finding"); sys.exit(1)
f = bound[0]
if f["cause"] != want:
    print("top cause %s, want %s (all: %s)" % (f["cause"], want, [x["cause"] for x in bound])); sys.exit(1)
if pcr and int(pcr) not in f["pcrs"]:
    print("PCRs %s, want %s" % (f["pcrs"], pcr)); sys.exit(1)
if conf and f["confidence"] != conf:
    print("confidence %s, want %s" % (f["confidence"], conf)); sys.exit(1)
if same == "same" and (d["different_platform"] or any(x["cause"] == "different-platform" for x in d["findings"])):
    print("same-machine pair called different machines: %s" % d["identity"]); sys.exit(1)
for x in d["findings"]:
    for e in x["evidence"]:
        if "[...]" in e["text"]:
            print("evidence cut: %s" % e["text"]); sys.exit(1)
print("%s [%s] %s" % (f["cause"], f["confidence"], f["evidence"][0]["text"][:160] if f["evidence"] else ""))
EOF
}

# pair NAME OPTIONS CAUSE PCR CONF EDITS...: bad = ROM + edits + recovery unlock flags; good = ROM
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
	same=same
	[ "$cause" = different-platform ] && same=""
	if out=$(check "$cause" "$pcr" "$conf" "$same"); then
		pass "diagnose $name: $out"
	else
		fail "diagnose $name: $out"
	fi
}

pair "boot order"            "--pcrs 0,2,4,11"   boot-order         4 medium boot-order
pair "boot from USB"         "--pcrs 0,2,4,11"   boot-media         4 high   boot-media
pair "boot manager"          "--pcrs 0,2,4,11"   boot-manager       4 high   boot-manager
pair "firmware (S-CRTM)"     "--pcrs 0,2,4,11"   firmware-update    0 high   firmware
pair "option ROM updated"    "--pcrs 0,2,4,11"   option-rom         2 high   option-rom
pair "partition resized"     "--pcrs 0,2,4,5,11" partition-table    5 high   partition
pair "Secure Boot off"       ""                  secure-boot-state  7 high   secure-boot-off
pair "boot debugging"        ""                  debug-policy       "" high  debug
pair "test signing"          ""                  debug-policy       "" high  test-signing
pair "recovery, no change"   ""                  no-pcr-change      "" medium
pair "firmware + new PK"     "--pcrs 7,11"       secure-boot-pk     7 high   firmware pk-rotate
pair "firmware + new PK (0,2,4,11)" "--pcrs 0,2,4,11" firmware-update 0 high firmware pk-rotate
pair "PCR bank switch"       "--pcrs 7,11"       pcr-bank-switch    "" high  bank-switch
pair "KEK update"            "--pcrs 7,11"       secure-boot-kek    7 high   kek-add
pair "db update"             "--pcrs 7,11"       secure-boot-db     7 high   db-add
pair "dbx update"            "--pcrs 7,11"       secure-boot-dbx    7 high   dbx-add
pair "DMA protection off"    "--pcrs 7,11"       dma-protection     7 high   dma-off
pair "UEFI debug mode"       "--pcrs 7,11"       uefi-debug-mode    7 high   uefi-debug
pair "option ROM removed"    "--pcrs 7,11"       secure-boot-authority-removed 7 high option-rom-removed
pair "new signer ran"        "--pcrs 7,11"       secure-boot-authority-added   7 high authority-added
pair "TPM cleared"           ""                  tpm-cleared        "" high  tpm-cleared=0
pair "drive in another machine" ""               different-platform "" high  platform

# advice fits the cause: a DMA or debug-mode change is not told about dbx; the removed authority names
# the option ROM driver (PCR 2) it verified, the added one the boot application (PCR 4)
python3 "$EDIT" "$ROM" "$TMP/bad.log" dma-off unlock=0x40
"$BDKIT" diagnose --pcrs 7,11 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); f=[x for x in d["findings"] if x["bound"]][0]
sys.exit(0 if "dbx" not in f["advice"] and "DMA" in f["advice"] else 1)' "$TMP/d.json" &&
	pass "diagnose: DMA protection advice is about DMA protection, not dbx" || fail "diagnose: DMA advice"
python3 "$EDIT" "$ROM" "$TMP/bad.log" option-rom-removed unlock=0x40
"$BDKIT" diagnose --pcrs 7,11 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
f=[x for x in d["findings"] if x["cause"]=="secure-boot-authority-removed"][0]
t=f["evidence"][0]["text"]
sys.exit(0 if "PCR 2" in t and "UEFI CA 2011" in t and "did not load" in t and "new certificate" not in t else 1)' "$TMP/d.json" &&
	pass "diagnose: a lost option ROM names its PCR 2 driver and the authority it needed" ||
	fail "diagnose: lost option ROM evidence: $(head -c 600 "$TMP/d.json")"

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

# content alignment: one SIPA module inserted in the middle of a Windows container is one change;
# one boot option tried before the boot manager is one added application (plus its return action)
python3 "$EDIT" "$ROM" "$TMP/bad.log" sipa-module unlock=0x40
"$BDKIT" diagnose --pcrs 0-23 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
ev=[e["text"] for f in d["findings"] for e in f["evidence"] if e["pcr"]==13]
sys.exit(0 if len(ev)==1 and "module added" in ev[0] and "extra.sys" in ev[0] else 1)' "$TMP/d.json"; then
	pass "diagnose: an inserted Windows boot module is one change in PCR 13"
else
	fail "diagnose: inserted SIPA module: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([e["text"][:90] for f in d["findings"] for e in f["evidence"] if e["pcr"]==13])' "$TMP/d.json")"
fi
python3 "$EDIT" "$ROM" "$TMP/bad.log" boot-media unlock=0x40
"$BDKIT" diagnose --pcrs 0,2,4,11 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
ev=[e for f in d["findings"] for e in f["evidence"] if e["pcr"]==4]
sys.exit(0 if len(ev)==2 and all(e["good_event"] is None and e["bad_event"] for e in ev) else 1)' "$TMP/d.json" &&
	pass "diagnose: two inserted PCR 4 events are two additions, nothing else in PCR 4" ||
	fail "diagnose: inserted PCR 4 events misaligned"

# evidence: full values (every BootOrder entry), each line names its events; eventlog show --index finds them
python3 "$EDIT" "$ROM" "$TMP/bad.log" boot-order unlock=0x40
"$BDKIT" diagnose --pcrs 0-23 --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
ref=$(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
e=[e for f in d["findings"] for e in f["evidence"] if e["text"].startswith("PCR 1: EV_EFI_VARIABLE_BOOT changed: BootOrder")][0]
n=e["text"].split("->")[1].count(",")+1
print(e["bad_event"]["index"], e["bad_event"]["offset"], n)' "$TMP/d.json")
set -- $ref
if [ "${3:-0}" -eq 20 ] && "$BDKIT" eventlog show --json --index "$1" "$TMP/bad.log" | python3 -c '
import json,sys; e=json.load(sys.stdin)["event"]
sys.exit(0 if e["offset"]==int(sys.argv[1]) and e["decoded"]["variable_name"]=="BootOrder" and len(e["decoded"]["boot_order"])==20 and e["data"] else 1)' "$2"; then
	pass "diagnose: evidence keeps all 20 BootOrder entries and names event $1 at offset $2, which eventlog show --index shows"
else
	fail "diagnose: evidence reference ($ref)"
fi
"$BDKIT" diagnose --pcrs 0-23 --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.txt"
if grep -q "\[good #12 @[0-9]*, bad #12 @[0-9]*\]" "$TMP/d.txt" && ! grep -q '\[\.\.\.\]' "$TMP/d.txt" &&
   [ "$(awk '/^  (-|  )/ { if (length($0) > 100) n++ } END { print n+0 }' "$TMP/d.txt")" -eq 0 ]; then
	pass "diagnose text: evidence wrapped at 100 columns, not cut, with event references"
else
	fail "diagnose text: evidence layout"
fi

# PIN: good boot unlocked with TPM+PIN, bad one by recovery, PCRs equal
python3 "$EDIT" "$ROM" "$TMP/good-pin.log" unlock=0x14
python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
"$BDKIT" diagnose --json --good "$TMP/good-pin.log" --bad "$TMP/bad.log" >"$TMP/d.json"
out=$(check pin-lockout "" medium same) && pass "diagnose TPM+PIN then recovery with equal PCRs: $out" ||
	fail "diagnose PIN lockout: $out"

# two identical boots: nothing at all
"$BDKIT" diagnose --json --good "$ROM" --bad "$ROM" >"$TMP/d.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["findings"]==[] and d["differing_pcrs"]==[] and d["same_machine"] else 1)' "$TMP/d.json"; then
	pass "diagnose: two identical boots report nothing"
else
	fail "diagnose: identical boots reported $(cat "$TMP/d.json")"
fi
for p in "0,2,4,11" "0-23"; do
	"$BDKIT" diagnose --pcrs $p --json --good "$GCP" --bad "$GCP" >"$TMP/d.json"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["findings"]==[] else 1)' "$TMP/d.json" &&
		pass "diagnose: identical GCE Windows boots, PCRs $p: nothing" || fail "diagnose: identical GCE boots, PCRs $p"
done

# two real Windows logs of different machines: named as such first, and still compared
"$BDKIT" diagnose --json --good "$ROM" --bad "$GCP" >"$TMP/d.json"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
c=[f["cause"] for f in d["findings"]]
sys.exit(0 if d["different_platform"] and d["same_machine"] is False and c[0]=="different-platform" and d["compared"] and len(c)>1 else 1)' "$TMP/d.json"; then
	pass "diagnose: real logs of two machines (HP hardware vs GCE VM): different machines first, events still compared"
else
	fail "diagnose: two machines: $(head -c 600 "$TMP/d.json")"
fi

# the real Secure Boot pair: same GCE image, dbx empty (good) vs populated (bad)
"$BDKIT" diagnose --pcrs 7,11 --json --good "$EL/tpm2-tools/event-gce-ubuntu-2104-log.bin" \
	--bad "$EL/go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog" >"$TMP/d.json"
if out=$(check secure-boot-dbx 7 high same) &&
   python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["differing_bound_pcrs"]==[7] else 1)' "$TMP/d.json"; then
	pass "diagnose real dbx pair: $out"
else
	fail "diagnose real dbx pair: $out"
fi
"$BDKIT" diagnose --pcrs 7,11 --good "$EL/tpm2-tools/event-gce-ubuntu-2104-log.bin" \
	--bad "$EL/go-attestation/ubuntu_2104_shielded_vm_no_secure_boot_eventlog" >"$TMP/d.txt"
grep -q "Cause 1 \[high confidence\]: Secure Boot forbidden signature database (dbx) changed" "$TMP/d.txt" &&
	grep -q "Advice: " "$TMP/d.txt" && pass "diagnose: readable report with cause and advice" ||
	fail "diagnose: readable report"

# the TPM quote of the real log matches; an edited log does not
python3 "$EDIT" "$ROM" "$TMP/bad.log" firmware unlock=0x40
"$BDKIT" diagnose --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json"
python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(0 if d["good_quote"]["matches"] is True and d["bad_quote"]["matches"] is False else 1)' "$TMP/d.json" &&
	pass "diagnose: the real log matches its TPM quote, the edited one does not" || fail "diagnose: quote verdicts"

# a MeasuredBoot folder: picks the newest recovery boot and the newest earlier clean boot; skips a broken log
mb="$TMP/MeasuredBoot"
mkdir -p "$mb"
python3 "$EDIT" "$ROM" "$mb/0000000010-0000000000.log" bootcount=10
python3 "$EDIT" "$ROM" "$mb/0000000011-0000000000.log" bootcount=11
python3 "$EDIT" "$ROM" "$mb/0000000011-0000000001.log" bootcount=11 boot-manager   # resume of boot 11
python3 "$EDIT" "$ROM" "$mb/0000000012-0000000000.log" bootcount=12 firmware unlock=0x40
python3 "$EDIT" "$ROM" "$mb/0000000013-0000000000.log" bootcount=13 firmware
head -c 3000 "$ROM" >"$mb/0000000014-0000000000.log"
"$BDKIT" diagnose --pcrs 0,2,4,11 --json "$mb" >"$TMP/d.json" 2>"$TMP/err"
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
ok = d["good"].endswith("0000000011-0000000000.log") and d["bad"].endswith("0000000012-0000000000.log")
sys.exit(0 if ok else 1)' "$TMP/d.json" && check firmware-update 0 high same >/dev/null && grep -q "skipping" "$TMP/err"; then
	pass "diagnose MeasuredBoot folder: good = cold boot 11 (not its resume log), bad = boot 12, firmware update named, broken log skipped"
else
	fail "diagnose MeasuredBoot folder: $(cat "$TMP/err") $(head -c 300 "$TMP/d.json")"
fi
# no recovery boot in the set
rm -f "$mb/0000000012-0000000000.log"
"$BDKIT" diagnose "$mb" >/dev/null 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "recovery" "$TMP/err" && pass "diagnose: a folder without a recovery boot says so (exit 2)" ||
	fail "diagnose: folder without a recovery boot"

# volatile PCR 0: every good boot measures a different value; the bad boot changes the boot manager too
vb="$TMP/Volatile"
mkdir -p "$vb"
for n in 20 21 22 23; do
	python3 "$EDIT" "$ROM" "$vb/00000000$n-0000000000.log" bootcount=$n volatile=$n
done
python3 "$EDIT" "$ROM" "$vb/0000000024-0000000000.log" bootcount=24 volatile=24 boot-manager unlock=0x40
"$BDKIT" diagnose --pcrs 0,2,4,11 --json "$vb" >"$TMP/d.json"
if out=$(check boot-manager 4 high same) && python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
c=[f["cause"] for f in d["findings"] if f["bound"]]
sys.exit(0 if d["volatile_pcrs"]==[0] and "firmware-update" not in c and "volatile-measurement" in c and d["good_boots_seen"]==4 else 1)' "$TMP/d.json"; then
	pass "diagnose folder: PCR 0 volatile across 4 good boots is named, not blamed; $out"
else
	fail "diagnose folder volatile PCR 0: $out $(head -c 400 "$TMP/d.json")"
fi
python3 "$EDIT" "$ROM" "$vb/0000000024-0000000000.log" bootcount=24 volatile=24 unlock=0x40
"$BDKIT" diagnose --pcrs 0,2,4,11 --json "$vb" >"$TMP/d.json"
out=$(check no-pcr-change "" medium same) && pass "diagnose folder: only the volatile PCR differs: $out" ||
	fail "diagnose folder, volatile only: $out"

# only the bad boot: causes visible in it alone; with no profile given, both readings
python3 "$EDIT" "$ROM" "$TMP/bad.log" test-signing unlock=0x40
"$BDKIT" diagnose --json --bad "$TMP/bad.log" >"$TMP/d.json" 2>/dev/null
out=$(check debug-policy "" medium) && pass "diagnose bad boot alone: $out" || fail "diagnose bad boot alone: $out"
python3 "$EDIT" "$ROM" "$TMP/bad.log" secure-boot-off unlock=0x40
"$BDKIT" diagnose --json "$TMP/bad.log" >"$TMP/d.json" 2>/dev/null
if python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); r=d["readings"]
c=[[f["cause"] for f in x["findings"] if f["bound"]] for x in r]
ok = len(r)==2 and r[0]["bound_pcrs"]==[7,11] and c[0][0]=="secure-boot-state" and r[1]["bound_pcrs"]==[0,2,4,11] and "secure-boot-state" not in c[1]
ok = ok and not any("no-pcr-change" in x for x in c) and "not-compared" in c[1]
sys.exit(0 if ok else 1)' "$TMP/d.json"; then
	pass "diagnose single log, Secure Boot off, no profile: read under 7,11 (Secure Boot off) and 0,2,4,11 (not compared)"
else
	fail "diagnose single log, Secure Boot off: $(head -c 500 "$TMP/d.json")"
fi
python3 "$EDIT" "$ROM" "$TMP/bad.log" secure-boot-off unlock=0x40
"$BDKIT" diagnose --pcrs 7,11 --json --bad "$TMP/bad.log" >"$TMP/d.json" 2>/dev/null
out=$(check secure-boot-state 7 medium) && pass "diagnose bad boot alone, Secure Boot off, PCR 7 bound: $out" ||
	fail "diagnose bad boot alone, Secure Boot off: $out"

# what is not a log: exit 5 with an offset, never a diagnosis
head -c 4096 /dev/zero >"$TMP/zero.log"
head -c 4096 /dev/urandom >"$TMP/random.log"
cp "$TOP/README.md" "$TMP/text.log"
for f in zero random text; do
	"$BDKIT" diagnose --bad "$TMP/$f.log" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 5 ] && grep -q "offset" "$TMP/err" && ! grep -q "Cause" "$TMP/out"; then
		pass "diagnose: $f bytes are not a log (exit 5, offset named)"
	else
		fail "diagnose: $f bytes: exit $rc $(cat "$TMP/err")"
	fi
done
python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
head -c 40000 "$TMP/bad.log" >"$TMP/trunc.log"
"$BDKIT" diagnose --good "$ROM" --bad "$TMP/trunc.log" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 7 ] && grep -q "offset" "$TMP/err" && pass "diagnose: truncated bad log is refused (exit 7, offset named)" ||
	fail "diagnose: truncated log: exit $rc $(cat "$TMP/err")"
# cut at every record boundary: a log that stops before the end of a boot is refused (7). The cuts that
# only drop what a complete Windows log may lack (after the "WBCL" separators: the ExitBootServices pair,
# the trust-point record; the GCE log ends there) look like a whole boot and are not counted.
for src in "$ROM" "$GCP"; do
	python3 "$EDIT" "$src" "$TMP/whole.log" unlock=0x40
	bad=0 n=0
	for cut in $("$BDKIT" eventlog show --json "$TMP/whole.log" | python3 -c '
import json,sys; ev=json.load(sys.stdin)["events"]
last=max(i for i,e in enumerate(ev) if e["type"]=="EV_SEPARATOR" and e["pcr"]==14)
for i,e in enumerate(ev[:last]): print(e["offset"]+e["record_size"])'); do
		n=$((n + 1))
		head -c "$cut" "$TMP/whole.log" >"$TMP/cut.log"
		"$BDKIT" diagnose --good "$src" --bad "$TMP/cut.log" >"$TMP/out" 2>"$TMP/err"
		rc=$?
		if [ $rc -ne 7 ] || grep -q "Cause" "$TMP/out"; then
			bad=$((bad + 1))
			echo "  cut at $cut: exit $rc $(head -c 200 "$TMP/err")"
		fi
	done
	[ $bad -eq 0 ] && pass "diagnose: $(basename "$src") cut at each of its $n record boundaries before the end: exit 7, no diagnosis" ||
		fail "diagnose: $(basename "$src") cut at record boundaries: $bad of $n diagnosed"
done
"$BDKIT" diagnose --pcrs 7,99 --bad "$ROM" >/dev/null 2>&1
[ $? -eq 2 ] && pass "diagnose: --pcrs 7,99 is a usage error" || fail "diagnose: bad --pcrs accepted"
"$BDKIT" diagnose --help | grep -q "Usage: bdkit diagnose" && pass "diagnose --help" || fail "diagnose --help"

# --volume: the protector set comes from a real Windows volume (these have no TPM protector)
if need_images "diagnose --volume"; then
	img="$IMGDIR/bitlk-aes-xts-128.img"
	python3 "$EDIT" "$ROM" "$TMP/bad.log" unlock=0x40
	"$BDKIT" diagnose --volume "$img" --json --good "$ROM" --bad "$TMP/bad.log" >"$TMP/d.json" 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 0 ] && out=$(check tpm-protector-missing "" high same) &&
	     grep -q '"profile_source":"[^"]*no TPM protector' "$TMP/d.json"; then
		pass "diagnose --volume on a volume without TPM protector: $out"
	else
		fail "diagnose --volume: exit $rc $(cat "$TMP/err") $(head -c 400 "$TMP/d.json")"
	fi
fi
