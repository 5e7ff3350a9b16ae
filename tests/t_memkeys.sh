#!/bin/sh
# bdkit memkeys, judged by independent parties:
#  - the keys come from real readers' memory: dislocker-fuse holding bitlk-aes-xts-128 open, and a
#    small OpenSSL program (tests/helpers/keyholder.c) holding keys as a disk driver does, both
#    dumped by gdb's gcore; the key values themselves are what dislocker prints (-vvvv);
#  - the cores are embedded at a random offset in random data, in LiME framing and in
#    synthetic Windows crash dumps; bdkit must find exactly dislocker's FVEK / VMK, its decryption
#    must equal the published sha256, and aeskeyfind must list the same schedules;
#  - random data and a process holding other AES keys give nothing the volume accepts.
. "$(dirname "$0")/lib.sh"

for t in gdb aeskeyfind dislocker-fuse dislocker-file python3; do
	command -v $t >/dev/null || { skip "memkeys: $t is missing (scripts/install-deps.sh installs it)"; exit 0; }
done
need_images memkeys || exit 0
CC=${CC:-cc}
W="$TMP/m"
mkdir -p "$W"
case $BUILD in *asan*) RANDOM_MIB=48 ;; *) RANDOM_MIB=128 ;; esac

# dislocker's view of a volume's keys: "vmk HEX" and "fvek HEX" from its debug output
dislocker_keys() { # IMAGE RP OUT
	timeout 60 dislocker-file -vvvv -V "$1" -p"$2" -- "$W/dl.out" >"$W/dl.log" 2>&1
	rm -f "$W/dl.out"
	python3 - "$W/dl.log" >"$3" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
def dump(marker):
    i = t.find(marker)
    if i < 0:
        return ''
    out = ''
    for line in t[i:].split('\n')[1:]:
        m = re.search(r'0x[0-9a-f]{8} ((?:[0-9a-f]{2}[ -]){1,16})', line)
        if not m:
            if out:
                break
            continue
        out += m.group(1).replace('-', ' ').replace(' ', '')
    return out
print('vmk', dump('Algo: VMK'))
print('fvek', dump('FVEK ----'))
EOF
}

# core OUT ARGS...: run ARGS under gdb, stop at a breakpoint, dump the process
core_at() { # BREAKPOINT OUT ARGS...
	bp=$1 out=$2
	shift 2
	timeout 120 gdb -q -batch -ex 'set breakpoint pending on' -ex "break $bp" -ex run -ex "gcore $out" -ex kill \
		--args "$@" >"$W/gdb.log" 2>&1
	[ -s "$out" ]
}

# found_key KEYFILE LABEL: the hex of that line of a bdkit key file
found_key() { awk -v l="$2" '$1 == l { print $NF; exit }' "$1"; }  # the first: dislocker -vvvv may print a key twice

# ---- 1. dislocker-fuse holding bitlk-aes-xts-128 ----
IMG=bitlk-aes-xts-128
conf $IMG RP >"$TMP/rp"
dislocker_keys "$IMGDIR/$IMG.img" "$(conf $IMG RP)" "$W/dl128.keys"
DLFVEK=$(found_key "$W/dl128.keys" fvek)
mkdir -p "$W/mnt"
if ! core_at fuse_main_real "$W/dl.core" dislocker-fuse -f -V "$IMGDIR/$IMG.img" -p"$(conf $IMG RP)" -- "$W/mnt"; then
	skip "memkeys: gdb cannot run and dump a process here ($(tail -1 "$W/gdb.log")); the unit test covers the search"
	exit 0
fi
"$BDKIT" -q memkeys "$W/dl.core" --volume "$IMGDIR/$IMG.img" -o "$W/k1" >"$W/out" 2>&1
rc=$?
got=$(found_key "$W/k1" fvek)
[ $rc = 0 ] && [ -n "$DLFVEK" ] && [ "$got" = "$DLFVEK" ] &&
	pass "memkeys: dislocker-fuse's core yields exactly dislocker's FVEK (both XTS halves)" ||
	fail "memkeys dislocker core: exit $rc, got '$got', dislocker says '$DLFVEK': $(head -3 "$W/out")"
[ "$(stat -c %a "$W/k1" 2>/dev/null)" = 600 ] && pass "memkeys: key file is mode 0600" || fail "memkeys: key file mode $(stat -c %a "$W/k1")"
grep -q "$DLFVEK" "$W/out" && fail "memkeys: key material on the terminal" || pass "memkeys: no key material in its output"
aeskeyfind -q "$W/dl.core" >"$W/akf" 2>/dev/null
k1=$(echo "$DLFVEK" | cut -c1-32) k2=$(echo "$DLFVEK" | cut -c33-64)
grep -qx "$k1" "$W/akf" && grep -qx "$k2" "$W/akf" && pass "aeskeyfind lists the same two schedules in the core" ||
	fail "aeskeyfind on the core: $(tr '\n' ' ' <"$W/akf")"

# embedded at a random offset in random data
head -c $((RANDOM_MIB << 20)) /dev/urandom >"$W/ram.raw"
off=$(( ($(od -An -N4 -tu4 /dev/urandom) % ((RANDOM_MIB - 8) << 20)) ))
dd if="$W/dl.core" of="$W/ram.raw" bs=64K oflag=seek_bytes seek=$off conv=notrunc 2>/dev/null
"$BDKIT" -q memkeys "$W/ram.raw" --volume "$IMGDIR/$IMG.img" -o "$W/k2" --decrypt-to "$W/dec.img" >"$W/out" 2>&1
rc=$?
sum=$(sha256sum <"$W/dec.img" 2>/dev/null | cut -c1-64)
# the search stops at the first proven key: the FVEK's schedules or the raw VMK, whichever a thread proves
# first (under ASan the VMK often wins); either must be dislocker's
DLVMK=$(found_key "$W/dl128.keys" vmk)
got2=$(found_key "$W/k2" fvek) kind2=FVEK
[ -z "$got2" ] && [ -n "$DLVMK" ] && got2=$(found_key "$W/k2" vmk) kind2=VMK && DLKEY=$DLVMK || DLKEY=$DLFVEK
[ $rc = 0 ] && [ -n "$got2" ] && [ "$got2" = "$DLKEY" ] && [ "$sum" = "$(conf $IMG SHA256SUM)" ] &&
	pass "memkeys: core at offset $off in $RANDOM_MIB MiB of random data: $kind2 found (dislocker's), --decrypt-to equals the published sha256" ||
	fail "memkeys in random data: exit $rc, sha $sum, key file $(tail -1 "$W/k2"): $(head -3 "$W/out")"
rm -f "$W/dec.img"
# the key file opens the volume with bdkit decrypt and with dislocker (its FVEK file format)
kopt=--fvek-file
[ "$kind2" = VMK ] && kopt=--vmk-file
set -- $( { "$BDKIT" -q decrypt "$IMGDIR/$IMG.img" $kopt "$W/k2" -o - --no-prompt 2>/dev/null; } | sha256sum)
[ "$1" = "$(conf $IMG SHA256SUM)" ] && pass "bdkit decrypt $kopt KEYFILE (memkeys' file) equals the published sha256" ||
	fail "decrypt $kopt keyfile: $1"

# LiME framing: three ranges, the core in the middle one
python3 - "$W/dl.core" "$W/ram.lime" <<'EOF'
import os, struct, sys
core = open(sys.argv[1], 'rb').read()
ranges = [(0x1000, os.urandom(4 << 20)), (0x10000000, core), (0x40000000, os.urandom(3 << 20))]
with open(sys.argv[2], 'wb') as f:
    for start, data in ranges:
        f.write(struct.pack('<IIQQQ', 0x4C694D45, 1, start, start + len(data) - 1, 0))
        f.write(data)
EOF
"$BDKIT" -q memkeys "$W/ram.lime" --volume "$IMGDIR/$IMG.img" -o "$W/k3" --json >"$W/out" 2>&1
rc=$?
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "LiME" and d["fvek_found"], d
for p in d["fvek"]["parts"]:
    assert 0x10000000 <= p["address"] < 0x10000000 + (16 << 20), p
' "$W/out" 2>/dev/null && [ $rc = 0 ] && [ "$(found_key "$W/k3" fvek)" = "$DLFVEK" ] &&
	pass "memkeys: LiME image: FVEK found at a physical address inside the core's range" ||
	fail "memkeys LiME: exit $rc: $(head -c 400 "$W/out")"
aeskeyfind -q "$W/ram.lime" >"$W/akf" 2>/dev/null
grep -qx "$k1" "$W/akf" && grep -qx "$k2" "$W/akf" && pass "aeskeyfind lists the same schedules in the LiME image" ||
	fail "aeskeyfind on the LiME image: $(tr '\n' ' ' <"$W/akf")"
# aeskeyfind's list as --candidates (a decayed cold-boot image: aeskeyfind -t finds, bdkit proves)
: >"$W/empty"
"$BDKIT" -q memkeys "$W/empty" --format raw --volume "$IMGDIR/$IMG.img" --candidates "$W/akf" -o "$W/k4" >"$W/out" 2>&1 &&
	[ "$(found_key "$W/k4" fvek)" = "$DLFVEK" ] && pass "memkeys --candidates: aeskeyfind's keys proven" ||
	fail "memkeys --candidates: $(head -2 "$W/out")"

# Windows crash dumps (64-bit full dump with two runs, and a bitmap dump) around the core
python3 - "$W/dl.core" "$W/full.dmp" "$W/bitmap.dmp" <<'EOF'
import os, struct, sys
core = open(sys.argv[1], 'rb').read()
core += bytes(-len(core) % 4096)
pages = len(core) // 4096
a = os.urandom(64 * 4096)
def header(dump_type):
    h = bytearray(0x2000)
    h[0:8] = b'PAGEDU64'
    struct.pack_into('<I', h, 0xF98, dump_type)
    return h
h = header(1)
struct.pack_into('<IIQ', h, 0x88, 2, 0, 64 + pages)
struct.pack_into('<QQQQ', h, 0x98, 0x100, 64, 0x80000, pages)
open(sys.argv[2], 'wb').write(bytes(h) + a + core)
h = header(5)
first = 0x4000
bitmap = bytearray(0x1000)
present = list(range(16, 80)) + list(range(0x400, 0x400 + pages))
for p in present:
    bitmap[p // 8] |= 1 << (p % 8)
b = bytearray(0x38)
b[0:8] = b'SDMPDUMP'
struct.pack_into('<QQQ', b, 0x20, first, len(present), 0x8000)
blob = bytes(h) + bytes(b) + bytes(bitmap)
blob += bytes(first - len(blob))
open(sys.argv[3], 'wb').write(blob + a + core)
EOF
for d in full bitmap; do
	"$BDKIT" -q memkeys "$W/$d.dmp" --volume "$IMGDIR/$IMG.img" -o "$W/k5" -f --json >"$W/out" 2>&1
	rc=$?
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "Windows crash dump" and d["fvek_found"], d
lo = 0x80000 * 4096 if sys.argv[2] == "full" else 0x400 * 4096
for p in d["fvek"]["parts"]:
    assert lo <= p["address"] < lo + (16 << 20), hex(p["address"])
' "$W/out" $d 2>/dev/null && [ $rc = 0 ] && [ "$(found_key "$W/k5" fvek)" = "$DLFVEK" ] &&
		pass "memkeys: Windows $d crash dump: FVEK found, physical address from the dump's page list" ||
		fail "memkeys $d crash dump: exit $rc: $(head -c 400 "$W/out")"
done

# ---- 2. an OpenSSL program holding an XTS-256 FVEK, a raw VMK, or other keys ----
if ! $CC -O1 -o "$W/holder" "$TOP/tests/helpers/keyholder.c" -lcrypto 2>"$W/cc.log"; then
	fail "memkeys: cannot build the key holder: $(head -2 "$W/cc.log")"
	exit 0
fi
IMG=bitlk-aes-xts-256
dislocker_keys "$IMGDIR/$IMG.img" "$(conf $IMG RP)" "$W/dl256.keys"
VMK=$(found_key "$W/dl256.keys" vmk) FVEK=$(found_key "$W/dl256.keys" fvek)
echo "fvek 8005 $FVEK" >"$W/h.fvek"
echo "vmk $VMK" >"$W/h.vmk"
echo "random 40" >"$W/h.other"
for k in fvek vmk other; do
	core_at ready "$W/$k.core" "$W/holder" "$W/h.$k" || fail "memkeys: no core of the key holder ($k)"
done
"$BDKIT" -q memkeys "$W/fvek.core" --volume "$IMGDIR/$IMG.img" -o "$W/k6" >"$W/out" 2>&1 &&
	[ "$(found_key "$W/k6" fvek)" = "$FVEK" ] && pass "memkeys: XTS-256 FVEK held by OpenSSL contexts found (both halves)" ||
	fail "memkeys XTS-256 holder: $(head -3 "$W/out")"
aeskeyfind -q "$W/fvek.core" >"$W/akf" 2>/dev/null
grep -qx "$(echo "$FVEK" | cut -c1-64)" "$W/akf" && grep -qx "$(echo "$FVEK" | cut -c65-128)" "$W/akf" &&
	pass "aeskeyfind lists the same two AES-256 schedules" || fail "aeskeyfind XTS-256: $(tr '\n' ' ' <"$W/akf")"
# the raw VMK (never expanded) in random data: found, then reveal gives the published recovery password
head -c $(( (RANDOM_MIB / 4) << 20 )) /dev/urandom >"$W/vmk.raw"
cat "$W/vmk.core" >>"$W/vmk.raw"
head -c $((4 << 20)) /dev/urandom >>"$W/vmk.raw"
"$BDKIT" -q memkeys "$W/vmk.raw" --volume "$IMGDIR/$IMG.img" -o "$W/k7" --reveal --key-package-out "$W/kp" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 0 ] && [ "$(found_key "$W/k7" vmk)" = "$VMK" ] && grep -q "$(conf $IMG RP)" "$W/out" &&
	pass "memkeys: raw VMK found in random data; --reveal prints the published recovery password" ||
	fail "memkeys raw VMK: exit $rc: $(head -3 "$W/err")"
"$BDKIT" -q keypackage info "$W/kp" 2>/dev/null | grep -qi "$(conf $IMG GUID)" &&
	pass "memkeys --key-package-out: a key package of the volume" || fail "memkeys key package: $(ls -la "$W/kp" 2>&1)"
set -- $( { "$BDKIT" -q decrypt "$IMGDIR/$IMG.img" --vmk-file "$W/k7" -o - --no-prompt 2>/dev/null; } | sha256sum)
[ "$1" = "$(conf $IMG SHA256SUM)" ] && pass "bdkit decrypt --vmk-file KEYFILE equals the published sha256" || fail "decrypt --vmk keyfile: $1"

# the audit record: where the keys were, never the keys
"$BDKIT" -q memkeys "$W/fvek.core" --volume "$IMGDIR/$IMG.img" --audit "$W/audit.json" >/dev/null 2>&1
python3 - "$W/audit.json" "$FVEK" <<'EOF' 2>"$W/err"
import json, sys
text = open(sys.argv[1]).read()
k = sys.argv[2]
assert k[:32] not in text and k[64:96] not in text, 'key material in the audit record'
d = json.load(open(sys.argv[1]))
assert d['command'] == 'memkeys' and d['result'] == 'success' and d['search']['fvek_found']
assert [p['key'] for p in d['search']['proven_keys']] == ['FVEK key', 'FVEK tweak key'], d['search']
assert d['memory_image']['format'] == 'ELF core' and d['unlock']['with'] == 'raw FVEK'
EOF
[ ! -s "$W/err" ] && pass "memkeys --audit: where the keys were and how the volume opened, no key material" ||
	fail "memkeys --audit: $(tail -2 "$W/err")"

# ---- 3. false positives ----
"$BDKIT" -q memkeys "$W/other.core" --volume "$IMGDIR/$IMG.img" -o "$W/k8" >"$W/out" 2>&1
rc=$?
n=$(aeskeyfind -q "$W/other.core" 2>/dev/null | wc -l)
[ $rc = 4 ] && [ ! -e "$W/k8" ] && [ "$n" -ge 40 ] &&
	pass "memkeys: a process holding $n other AES schedules: nothing accepted (exit 4, no key file)" ||
	fail "memkeys other keys: exit $rc, aeskeyfind saw $n: $(head -2 "$W/out")"
head -c $((RANDOM_MIB << 20)) /dev/urandom >"$W/ram.raw"
"$BDKIT" -q memkeys "$W/ram.raw" --volume "$IMGDIR/bitlk-aes-xts-128.img" >"$W/out" 2>&1
rc=$?
[ $rc = 4 ] && pass "memkeys: $RANDOM_MIB MiB of random data: nothing accepted (exit 4)" || fail "memkeys random: exit $rc: $(head -2 "$W/out")"

# ---- 4. errors ----
printf 'hibr' >"$W/hiberfil.sys"; head -c 8192 /dev/zero >>"$W/hiberfil.sys"
"$BDKIT" -q memkeys "$W/hiberfil.sys" --volume "$IMGDIR/$IMG.img" >"$W/out" 2>&1
[ $? = 8 ] && grep -q "hibernation" "$W/out" && pass "memkeys: hibernation file refused with exit 8" || fail "memkeys hiberfil: $(head -2 "$W/out")"
python3 -c '
import os, struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IIQQQ", 0x4C694D45, 1, 0, 4095, 0) + os.urandom(4096))
    f.write(b"garbage!" * 4 + os.urandom(4096))
' "$W/bad.lime"
"$BDKIT" -q memkeys "$W/bad.lime" --volume "$IMGDIR/$IMG.img" >"$W/out" 2>&1
[ $? = 5 ] && grep -q "LiME" "$W/out" && pass "memkeys: damaged LiME framing: exit 5 names the offset" || fail "memkeys bad LiME: $(head -2 "$W/out")"
"$BDKIT" -q memkeys "$W/dl.core" >"$W/out" 2>&1
[ $? = 2 ] && pass "memkeys without --volume or --list: usage error" || fail "memkeys no volume: $(head -2 "$W/out")"
"$BDKIT" -q memkeys "$W/fvek.core" --list -o "$W/all" >"$W/out" 2>&1 && grep -q "$(echo "$FVEK" | cut -c1-64)" "$W/all" &&
	pass "memkeys --list: every key seen goes to the 0600 file" || fail "memkeys --list: $(head -2 "$W/out")"
