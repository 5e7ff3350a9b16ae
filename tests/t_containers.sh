#!/bin/sh
# Evidence containers, made from the real Windows volumes by independent tools (ewfacquire of
# ewf-tools, qemu-img of qemu-utils): every reader of bdkit gets the published sha256 through E01
# (single and split segments), VHD (fixed, dynamic), VHDX, VMDK (monolithic, split, stream-optimized,
# snapshot chain), QCOW2 (compressed, backing file), with the partition scan on top; damaged,
# incomplete and unsupported containers give a clear message and the documented exit code; writes
# are refused.
. "$(dirname "$0")/lib.sh"

for t in ewfacquire qemu-img; do
	command -v $t >/dev/null || { skip "containers: $t is missing (scripts/install-deps.sh installs ewf-tools, qemu-utils)"; exit 0; }
done
need_images containers || exit 0
IMG=bitlk-aes-xts-128
SRC="$IMGDIR/$IMG.img"
SUM=$(conf $IMG SHA256SUM)
conf $IMG RP >"$TMP/rp"
D="$TMP/c"
mkdir -p "$D"

# decrypt_sum FILE [ARGS]: "rc sha256" of the decrypted stream
decrypt_sum() {
	f=$1; shift
	{ "$BDKIT" -q decrypt "$f" -o - --no-prompt --recovery-password-file "$TMP/rp" "$@" 2>"$TMP/err" </dev/null
	  echo $? >"$TMP/rc"; } | sha256sum | cut -c1-64 >"$TMP/sum"
	echo "$(cat "$TMP/rc") $(cat "$TMP/sum")"
}

# check NAME FILE CONTAINER-TEXT: info names the container, decrypt gives the published sha256
check() {
	name=$1 f=$2 want=$3
	"$BDKIT" -q info "$f" >"$TMP/out" 2>&1
	if ! grep -q "^Input: *$want" "$TMP/out"; then
		fail "$name: info does not name the container '$want': $(head -3 "$TMP/out")"
		return
	fi
	set -- $(decrypt_sum "$f")
	[ "$1" = 0 ] && [ "$2" = "$SUM" ] && pass "$name: info names '$want', decrypt equals the published sha256" ||
		fail "$name: decrypt exit $1, sha $2: $(head -2 "$TMP/err")"
}

# ---- E01 ----
ewfacquire -u -q -t "$D/one" -c deflate:fast "$SRC" >/dev/null 2>&1
check "E01" "$D/one.E01" "E01 (EWF), 1 segment file"
ewfacquire -u -q -t "$D/split" -c none -S 20MiB "$SRC" >/dev/null 2>&1
n=$(ls "$D"/split.E* | wc -l)
[ "$n" -ge 5 ] || fail "E01 split: ewfacquire made $n segment files"
check "E01 split into $n segments" "$D/split.E01" "E01 (EWF), $n segment files"

# ---- qemu-img formats (vpc with force_size: the VHD keeps the volume's exact size, not CHS-rounded) ----
qemu-img convert -O vhdx "$SRC" "$D/v.vhdx"
check "VHDX" "$D/v.vhdx" "VHDX (dynamic)"
qemu-img convert -O vpc -o force_size=on "$SRC" "$D/dyn.vhd"
check "VHD dynamic" "$D/dyn.vhd" "VHD (dynamic)"
qemu-img convert -O vpc -o subformat=fixed,force_size=on "$SRC" "$D/fixed.vhd"
check "VHD fixed (footer only at the end)" "$D/fixed.vhd" "VHD (fixed)"
qemu-img convert -O vmdk "$SRC" "$D/mono.vmdk"
check "VMDK monolithic sparse" "$D/mono.vmdk" "VMDK (monolithic sparse)"
qemu-img convert -O vmdk -o subformat=twoGbMaxExtentSparse "$SRC" "$D/split.vmdk"
check "VMDK split sparse (descriptor + extent)" "$D/split.vmdk" "VMDK (split sparse)"
qemu-img convert -O vmdk -o subformat=streamOptimized "$SRC" "$D/stream.vmdk"
check "VMDK stream-optimized" "$D/stream.vmdk" "VMDK (stream-optimized)"
qemu-img convert -O qcow2 -c "$SRC" "$D/v.qcow2"
check "QCOW2 compressed" "$D/v.qcow2" "QCOW2"

# differencing chains: an overlay holding nothing reads through to its base
(cd "$D" && qemu-img create -q -f qcow2 -b v.qcow2 -F qcow2 overlay.qcow2)
check "QCOW2 with a backing file" "$D/overlay.qcow2" "QCOW2 (v3), with backing files"
if (cd "$D" && qemu-img create -q -f vmdk -b mono.vmdk -F vmdk snap.vmdk) 2>/dev/null; then
	check "VMDK snapshot with its parent" "$D/snap.vmdk" "VMDK (monolithic sparse, with parents)"
else
	skip "VMDK snapshot: this qemu-img cannot make one"
fi
mv "$D/v.qcow2" "$D/base-moved.qcow2"
"$BDKIT" -q info "$D/overlay.qcow2" >"$TMP/out" 2>&1
rc=$?
[ $rc = 6 ] && grep -q "parent image 'v.qcow2'" "$TMP/out" && pass "QCOW2 overlay without its base: exit 6 names the missing base" ||
	fail "QCOW2 overlay without base: exit $rc: $(head -2 "$TMP/out")"
mv "$D/base-moved.qcow2" "$D/v.qcow2"

# ---- a GPT disk inside a container: the partition scan runs on top ----
python3 - "$TMP/gpt.img" <<'EOF'
import struct, sys, zlib
with open(sys.argv[1], 'wb') as f:
    mbr = bytearray(512); mbr[446:462] = struct.pack('<BBBBBBBBII', 0, 0, 2, 0, 0xEE, 0xff, 0xff, 0xff, 1, 0xffffffff)
    mbr[510:512] = b'\x55\xaa'; f.write(mbr)
    ent = bytearray(128 * 128)
    ent[0:16] = b'\xa2\xa0\xd0\xeb\xe5\xb9\x33\x44\x87\xc0\x68\xb6\xb7\x26\x99\xc7'
    ent[32:48] = struct.pack('<QQ', 2048, 2048 + 204800 - 1)
    hdr = bytearray(92); hdr[0:8] = b'EFI PART'
    struct.pack_into('<IIIIQQQQ16sQIII', hdr, 8, 0x10000, 92, 0, 0, 1, 0, 34, 2048 + 204800, b'\x11' * 16, 2, 128, 128, zlib.crc32(ent))
    struct.pack_into('<I', hdr, 16, zlib.crc32(hdr))
    f.write(hdr + bytes(420)); f.write(ent)
    f.truncate((2048 + 204800 + 34) * 512)
EOF
dd if="$SRC" of="$TMP/gpt.img" bs=1M seek=1 conv=sparse,notrunc 2>/dev/null
qemu-img convert -O vhdx "$TMP/gpt.img" "$D/disk.vhdx"
rm -f "$TMP/gpt.img"
"$BDKIT" -q info "$D/disk.vhdx" >"$TMP/out" 2>&1
grep -q "GPT partition 1 at offset 1048576" "$TMP/out" && grep -q "^Input: *VHDX" "$TMP/out" &&
	pass "GPT disk in a VHDX: partition found inside the container" || fail "GPT disk in VHDX: $(head -3 "$TMP/out")"
set -- $(decrypt_sum "$D/disk.vhdx")
[ "$1" = 0 ] && [ "$2" = "$SUM" ] && pass "GPT disk in a VHDX decrypts to the published sha256" || fail "GPT VHDX: exit $1, sha $2"
"$BDKIT" -q info --json "$D/disk.vhdx" >"$TMP/out" 2>&1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["container"].startswith("VHDX") and d["offset"] == 1048576' "$TMP/out" 2>/dev/null &&
	pass "info --json: container and offset" || fail "info --json: $(head -c 300 "$TMP/out")"

# ---- the other readers on a container ----
"$BDKIT" -q metadata check "$D/split.E01" >"$TMP/out" 2>&1 && pass "metadata check reads an E01" ||
	fail "metadata check on E01: $(head -2 "$TMP/out")"
"$BDKIT" -q keypackage export "$D/v.vhdx" -o "$TMP/kp" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1 &&
	"$BDKIT" -q keypackage info "$TMP/kp" >/dev/null 2>&1 && pass "keypackage export from a VHDX" ||
	fail "keypackage export from VHDX: $(head -2 "$TMP/out")"
"$BDKIT" -q repair "$D/stream.vmdk" -o "$TMP/rep.img" --recovery-password-file "$TMP/rp" >"$TMP/out" 2>&1
got=$(sha256sum <"$TMP/rep.img" 2>/dev/null | cut -c1-64)
[ "$got" = "$SUM" ] && pass "repair reads a VMDK: output equals the published sha256" || fail "repair VMDK: $got $(head -2 "$TMP/out")"
rm -f "$TMP/rep.img"
sed 's/^\(.....\)./\1?/' "$TMP/rp" >"$TMP/pattern"
"$BDKIT" -q recover-password "$D/v.qcow2" --pattern-file "$TMP/pattern" --threads 2 >"$TMP/out" 2>&1 &&
	grep -q "$(cat "$TMP/rp")" "$TMP/out" && pass "recover-password on a QCOW2" || fail "recover-password QCOW2: $(head -3 "$TMP/out")"
"$BDKIT" -q protector list "$D/one.E01" >"$TMP/out" 2>&1 && grep -q "recovery password" "$TMP/out" &&
	pass "protector list reads an E01" || fail "protector list E01: $(head -2 "$TMP/out")"
PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
# nbdkit_run ARGS: nbdkit with the plugin; an ASan-instrumented plugin needs the ASan runtime preloaded
nbdkit_run() {
	if nm -D "$PLUGIN" 2>/dev/null | grep -q __asan_init; then
		LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 nbdkit "$@"
	else
		nbdkit "$@"
	fi
}
if command -v nbdkit >/dev/null && command -v nbdcopy >/dev/null && [ -f "$PLUGIN" ]; then
	got=$(nbdkit_run -U - "$PLUGIN" volume="$D/split.E01" recovery-password-file="$TMP/rp" \
		--run 'nbdcopy "$uri" - | sha256sum' 2>"$TMP/err" | cut -c1-64)
	[ "$got" = "$SUM" ] && pass "nbdkit plugin serves an E01: published sha256" || fail "nbdkit on E01: $got $(head -2 "$TMP/err")"
else
	skip "containers: nbdkit plugin not available"
fi
EL="$SHARED/testdata/eventlogs/go-attestation/option_rom_eventlog"
if [ -f "$EL" ] && [ -f "$TOP/tests/eventlog_edit.py" ]; then
	python3 "$TOP/tests/eventlog_edit.py" "$EL" "$TMP/bad.log" unlock=0x40
	"$BDKIT" -q diagnose --volume "$D/one.E01" --json --good "$EL" --bad "$TMP/bad.log" >"$TMP/d.json" 2>"$TMP/err" &&
		grep -q 'no TPM protector' "$TMP/d.json" && pass "diagnose --volume reads the protectors out of an E01" ||
		fail "diagnose --volume on E01: $(head -2 "$TMP/err")"
fi
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	mkdir -p "$TMP/mnt"
	if "$BDKIT" -q mount --recovery-password-file "$TMP/rp" "$D/v.vhdx" "$TMP/mnt" >"$TMP/out" 2>&1; then
		got=$(sha256sum <"$TMP/mnt/bitlocker-volume" | cut -c1-64)
		"$BDKIT" -q umount "$TMP/mnt" 2>/dev/null || fusermount3 -u -z "$TMP/mnt"
		[ "$got" = "$SUM" ] && pass "mount of a VHDX: FUSE file equals the published sha256" || fail "mount VHDX: sha $got"
	else
		fail "mount VHDX: $(head -2 "$TMP/out")"
	fi
fi

# ---- damage, gaps, unsupported kinds, writes ----
# expect NAME CODE PATTERN -- args
expect() {
	name=$1 code=$2 pat=$3
	shift 4
	"$BDKIT" -q "$@" --no-prompt </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc -ge 128 ]; then fail "$name: crashed (exit $rc)"; return; fi
	if [ $rc != "$code" ]; then fail "$name: exit $rc, expected $code: $(head -2 "$TMP/err")"; return; fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$TMP/err"; then fail "$name: message lacks '$pat': $(head -2 "$TMP/err")"; return; fi
	pass "$name (exit $code)"
}
mkdir -p "$D/gap" && cp "$D"/split.E01 "$D"/split.E02 "$D"/split.E04 "$D/gap/"
expect "E01 set with a missing segment" 5 "incomplete" -- info "$D/gap/split.E01"
cp "$D/split.E03" "$D/gap/" && cp "$D"/split.E0[5-9] "$D/gap/" 2>/dev/null
python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(5000000); f.write(b"\xff"*64)' "$D/gap/split.E03"
expect "E01 chunk with a bad checksum: decrypt stops" 6 "checksum" -- decrypt "$D/gap/split.E01" -o "$TMP/x" --recovery-password-file "$TMP/rp"
rm -f "$TMP/x"
head -c 65536 "$D/v.qcow2" >"$D/trunc.qcow2"
expect "truncated QCOW2" 5 "QCOW image cannot be opened" -- info "$D/trunc.qcow2"
printf 'EVF2\r\n\201\000' >"$D/x.Ex01"; head -c 4096 /dev/urandom >>"$D/x.Ex01"
expect "Ex01 (EWF2) is not readable by Debian's libewf" 8 "Ex01" -- info "$D/x.Ex01"
printf 'LVF\t\r\n\377\000' >"$D/x.L01"; head -c 4096 /dev/zero >>"$D/x.L01"
expect "L01 logical evidence" 3 "logical evidence" -- info "$D/x.L01"
expect "metadata repair on a VHDX refused" 11 "only reads" -- metadata repair "$D/v.vhdx" --recovery-password-file "$TMP/rp"
expect "protector add on a QCOW2 refused" 11 "only reads" -- protector add recovery-password "$D/v.qcow2" --recovery-password-file "$TMP/rp"
sums=$(sha256sum "$D/one.E01" "$D/v.vhdx" "$D/v.qcow2" | cut -c1-64 | tr '\n' ' ')
"$BDKIT" -q decrypt "$D/one.E01" -o /dev/null --recovery-password-file "$TMP/rp" 2>/dev/null
[ "$sums" = "$(sha256sum "$D/one.E01" "$D/v.vhdx" "$D/v.qcow2" | cut -c1-64 | tr '\n' ' ')" ] &&
	pass "containers are never written" || fail "a container changed"
