#!/bin/bash
# make bench: decrypt the same volumes with bdkit, dislocker-file and libbde (pybde) in one run and print
# MB/s and ratios; time unlock against `cryptsetup bitlkOpen --test-passphrase`.
# All three decrypt with the same raw FVEK (dumped by cryptsetup), so the rates compare decryption, not key
# derivation; unlock is timed separately. Volumes: bdkit-made volumes of BENCH_SIZE MiB (default 1024) when
# `bdkit format` is available, and the real Windows images from ../shared.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BDKIT="$TOP/$BUILD/bdkit"
SHARED="$TOP/../shared"
PY=/usr/bin/python3      # Debian's python3, where pybde lives
W=$(mktemp -d "${TMPDIR:-/tmp}/bdkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
SIZE=${BENCH_SIZE:-1024}
REPEAT=${BENCH_REPEAT:-3}

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else printf "0" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.1fx", a / b; else printf "n/a" }'; }

# best_time CMD...: best wall time of REPEAT runs (seconds), FAIL if the command fails.
best_time() {
	local best="" t0 t1 t i
	for i in $(seq "$REPEAT"); do
		rm -f "$W/out"
		t0=$(now); "$@" >/dev/null 2>&1 || { echo FAIL; return; }; t1=$(now)
		t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
	done
	echo "$best"
}

# libbde's Python binding takes no raw keys here (set_keys refuses cryptsetup's FVEK), so it unlocks with the
# password and times only the reads after open(): decryption, as for the other two.
pybde_time() { # pybde_time IMG PASSWORD -> best seconds of REPEAT reads of the whole volume
	$PY - "$@" "$REPEAT" <<'PY' 2>/dev/null || echo FAIL
import sys, time, pybde
img, pw, rep = sys.argv[1], sys.argv[2], int(sys.argv[3])
v = pybde.volume(); v.set_password(pw); v.open(img)
n = v.get_size(); best = None
for _ in range(rep):
    t0 = time.monotonic(); off = 0
    with open("/dev/null", "wb") as o:
        while off < n:
            b = v.read_buffer_at_offset(min(4 << 20, n - off), off); o.write(b); off += len(b)
    t = time.monotonic() - t0; best = t if best is None or t < best else best
print("%.4f" % best)
PY
}

# dislocker's FVEK file: u16 method, then the key as the volume stores it (64 bytes).
dislocker_fvek() { # dislocker_fvek KEYFILE METHOD OUT
	$PY - "$@" <<'PY'
import sys, struct
k, m = open(sys.argv[1], "rb").read(), int(sys.argv[2], 0)
if m in (0x8000, 0x8001) and len(k) in (32, 64) and m == 0x8000 and len(k) == 32:
    k = k[:16] + bytes(16) + k[16:] + bytes(16)      # cryptsetup's repacked Elephant-128 key
elif m == 0x8001 and len(k) == 64:
    pass
open(sys.argv[3], "wb").write(struct.pack("<H", m) + k + bytes(64 - len(k)))
PY
}

declare -a vols pws
printf 'bench-password\n' > "$W/pw.bdkit"
# bdkit-made volumes holding real data: an NTFS image filled with a random file (90%), encrypted with
# `bdkit encrypt`, so neither the sparse output of bdkit nor zero pages favour anyone.
if "$BDKIT" encrypt --help >/dev/null 2>&1 && command -v mkntfs >/dev/null && command -v ntfscp >/dev/null; then
	plain="$W/plain.img"
	truncate -s "${SIZE}M" "$plain"
	mkntfs -F -Q -q "$plain" >/dev/null 2>&1
	head -c $((SIZE * 9 / 10))M /dev/urandom > "$W/random.bin"
	ntfscp -f "$plain" "$W/random.bin" random.bin >/dev/null 2>&1
	rm -f "$W/random.bin"
	for m in xts-128 cbc-elephant-128 cbc-128; do
		img="$W/bdkit-$m.img"
		if "$BDKIT" -q encrypt "$plain" -o "$img" --method "$m" --password-file "$W/pw.bdkit" \
			--no-recovery-password >/dev/null 2>&1; then
			vols+=("$img"); pws+=("bench-password")
		fi
	done
	rm -f "$plain"
fi
if [ -f "$SHARED/testdata/bitlk/bitlk-images.tar.xz" ]; then
	(cd "$W" && tar xJf "$SHARED/testdata/bitlk/bitlk-images.tar.xz" --sparse)
	for i in bitlk-aes-xts-128 bitlk-aes-xts-256 bitlk-aes-cbc-elephant-128 bitlk-aes-cbc-128; do
		vols+=("$W/bitlk-images/$i.img"); pws+=("anaconda")
	done
fi

echo "bdkit $("$BDKIT" --version | cut -d' ' -f2) benchmark: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "decryption of the whole volume, best of $REPEAT: bdkit and dislocker-file from the same raw FVEK to a file on $(df --output=fstype "$W" | tail -1)"
echo "(synced to disk, both); bdkit-* volumes are ${SIZE} MiB NTFS volumes 90% full of random data made by bdkit encrypt;"
echo "libbde (pybde) reads after unlocking (key derivation not timed)"
echo
printf '%-28s %6s %11s %11s %11s %10s %10s %13s %13s\n' volume MiB bdkit dislocker libbde "vs disl." "vs libbde" \
	"plain copy" "bdkit>null"
for idx in "${!vols[@]}"; do
	img=${vols[$idx]}; pw=${pws[$idx]}
	bytes=$(stat -c %s "$img")
	printf '%s' "$pw" > "$W/pw"
	rm -f "$W/fvek"
	cryptsetup bitlkDump --dump-volume-key --volume-key-file "$W/fvek" --key-file "$W/pw" "$img" >/dev/null 2>&1 || {
		printf '%-28s (cryptsetup could not dump the FVEK; skipped)\n' "$(basename "$img" .img)"; continue; }
	method=$("$BDKIT" info --json "$img" 2>/dev/null | sed -n 's/.*"method": *\([0-9]*\).*/\1/p' | head -1)
	[ -n "$method" ] || method=$("$BDKIT" info "$img" | sed -n 's/.*(\(0x80[0-9a-f]*\)).*/\1/p' | head -1)
	dislocker_fvek "$W/fvek" "$method" "$W/fvek.dis"
	tb=$(best_time "$BDKIT" -q decrypt "$img" --fvek "$W/fvek" -o "$W/out" -f)
	# bdkit syncs its output before it exits; dislocker-file does not, so its time includes a sync too
	td=$(best_time sh -c 'dislocker-file -V "$1" -k "$2" -- "$3" && sync "$3"' sh "$img" "$W/fvek.dis" "$W/out")
	tl=$(pybde_time "$img" "$pw")
	# the bounds on this machine: a plain copy of the encrypted volume (dd, synced), and bdkit's
	# decryption alone (output to /dev/null)
	tp=$(best_time dd if="$img" of="$W/out" bs=4M conv=fsync status=none)
	tn=$(best_time sh -c '"$1" -q decrypt "$2" --fvek "$3" -o - > /dev/null' sh "$BDKIT" "$img" "$W/fvek")
	rb=$([ "$tb" != FAIL ] && mbps "$bytes" "$tb" || echo 0)
	rd=$([ "$td" != FAIL ] && mbps "$bytes" "$td" || echo 0)
	rl=$([ "$tl" != FAIL ] && mbps "$bytes" "$tl" || echo 0)
	rp=$([ "$tp" != FAIL ] && mbps "$bytes" "$tp" || echo 0)
	rn=$([ "$tn" != FAIL ] && mbps "$bytes" "$tn" || echo 0)
	printf '%-28s %6d %6s MB/s %6s MB/s %6s MB/s %10s %10s %8s MB/s %8s MB/s\n' "$(basename "$img" .img)" \
		$((bytes >> 20)) "$rb" "$rd" "$rl" "$(ratio "$rb" "$rd")" "$(ratio "$rb" "$rl")" "$rp" "$rn"
done
rm -f "$W/out"

echo
img=${vols[0]:-}
if [ -n "$img" ]; then
	printf '%s' "${pws[0]}" > "$W/pw"
	tb=$(best_time "$BDKIT" -q decrypt "$img" --password-file "$W/pw" --test)
	tc=$(best_time cryptsetup bitlkOpen --test-passphrase --key-file "$W/pw" "$img")
	echo "unlock with a password (2^20-round SHA-256 stretch), $(basename "$img" .img), best of $REPEAT:"
	printf '  %-40s %8s s\n' "bdkit decrypt --test" "$tb" "cryptsetup bitlkOpen --test-passphrase" "$tc"
	echo "  cryptsetup / bdkit: $(ratio "$tc" "$tb")"
fi
[ -x "$TOP/bench/access.sh" ] && "$TOP/bench/access.sh" "$BUILD"
exit 0
