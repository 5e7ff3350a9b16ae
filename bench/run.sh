#!/bin/bash
# make bench: decrypt the same volumes with bdkit, dislocker-file and libbde (pybde) in one run,
# print MB/s and ratios; time unlock against `cryptsetup bitlkOpen --test-passphrase`.
# Volumes: bdkit-made 1 GiB volumes (XTS-128, AES-CBC+Elephant-128) when `bdkit format` is available,
# else the real Windows images from ../shared. BENCH_SIZE overrides the size (MiB).
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BDKIT="$TOP/$BUILD/bdkit"
SHARED="$TOP/../shared"
W=$(mktemp -d "${TMPDIR:-/tmp}/bdkit-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
SIZE=${BENCH_SIZE:-1024}
PW=benchmark-password

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? b / 1048576 / t : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "n/a" }'; }

run_timed() { # run_timed CMD...: prints seconds; output to /dev/null
	local t0 t1
	t0=$(now); "$@" >/dev/null 2>&1 || { echo FAIL; return; }; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

printf '%s\n' "$PW" > "$W/pw"
volumes=()
if "$BDKIT" format --help >/dev/null 2>&1; then
	for m in xts-128 cbc-elephant-128 cbc-128; do
		img="$W/$m.img"
		truncate -s "${SIZE}M" "$img"
		if "$BDKIT" -q format "$img" --method "$m" --password-file "$W/pw" --fill-random --force >/dev/null 2>&1 ||
		   "$BDKIT" -q format "$img" --method "$m" --password-file "$W/pw" --force >/dev/null 2>&1; then
			volumes+=("$img")
		fi
	done
fi
if [ ${#volumes[@]} -eq 0 ] && [ -f "$SHARED/testdata/bitlk/bitlk-images.tar.xz" ]; then
	(cd "$W" && tar xJf "$SHARED/testdata/bitlk/bitlk-images.tar.xz" --sparse)
	PW=anaconda; printf '%s\n' "$PW" > "$W/pw"
	for i in bitlk-aes-xts-128 bitlk-aes-cbc-elephant-128 bitlk-aes-cbc-128; do
		volumes+=("$W/bitlk-images/$i.img")
	done
fi

echo "bdkit benchmark on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo
printf '%-28s %8s %10s %10s %10s %12s %12s\n' volume MiB "bdkit" "dislocker" "libbde" "vs dislocker" "vs libbde"
for img in "${volumes[@]}"; do
	bytes=$(stat -c %s "$img")
	tb=$(run_timed "$BDKIT" -q decrypt "$img" --password-file "$W/pw" -o "$W/out")
	rm -f "$W/out"
	td=$(run_timed dislocker-file -V "$img" -u"$PW" -- "$W/out")
	rm -f "$W/out"
	tl=$(run_timed python3 - "$img" "$PW" <<'PY'
import sys, pybde
v = pybde.volume(); v.set_password(sys.argv[2]); v.open(sys.argv[1])
n = v.get_size(); off = 0
with open("/dev/null", "wb") as o:
    while off < n:
        b = v.read_buffer_at_offset(min(4 << 20, n - off), off); o.write(b); off += len(b)
PY
)
	rb=$( [ "$tb" != FAIL ] && mbps "$bytes" "$tb" || echo 0)
	rd=$( [ "$td" != FAIL ] && mbps "$bytes" "$td" || echo 0)
	rl=$( [ "$tl" != FAIL ] && mbps "$bytes" "$tl" || echo 0)
	printf '%-28s %8d %7s MB/s %5s MB/s %5s MB/s %12s %12s\n' "$(basename "$img" .img)" $((bytes >> 20)) \
		"$rb" "$rd" "$rl" "$(ratio "$rb" "$rd")" "$(ratio "$rb" "$rl")"
done

echo
img=${volumes[0]:-}
if [ -n "$img" ]; then
	printf '%-40s %10s\n' "unlock (password, 2^20 SHA-256 rounds)" seconds
	tb=$(run_timed sh -c "'$BDKIT' -q decrypt '$img' --password-file '$W/pw' --test")
	tc=$(run_timed sh -c "cryptsetup bitlkOpen --test-passphrase --key-file '$W/pw' --keyfile-size ${#PW} '$img'")
	printf '%-40s %10s\n' "bdkit decrypt --test" "$tb" "cryptsetup bitlkOpen --test-passphrase" "$tc"
	echo "unlock ratio (cryptsetup / bdkit): $(ratio "$tc" "$tb")"
fi
[ -x "$TOP/bench/access.sh" ] && "$TOP/bench/access.sh" "$BUILD"
exit 0
