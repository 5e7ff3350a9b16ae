#!/bin/bash
# make bench: every rate bdkit is judged by, measured in one run next to its yardstick, as ratios.
#  1. decryption alone (`decrypt -o - > /dev/null`, -j 1 and -j N) against `openssl speed` x cores,
#     and -j N against -j 1, also to a file;
#  2. tmpfs to tmpfs against dislocker-file;
#  3. to a file on disk against a plain `dd conv=fsync` copy (and dislocker-file, libbde);
#  4. FUSE and NBD against dislocker-fuse (bench/access.sh);
#  5. unlocking against cryptsetup, the recovery-password search against hashcat -m 22100.
# All decryptions start from the same raw FVEK (dumped by cryptsetup), so they compare decryption, not key
# derivation. Volumes: bdkit-made NTFS volumes of BENCH_SIZE MiB (default 512; BENCH_DEC_SIZE, default 2048, for
# section 1) 85% full of random data, and the real Windows images from ../shared. Best of BENCH_REPEAT runs
# (default 3; section 1's runs are short and take BENCH_DEC_REPEAT, default 3 x BENCH_REPEAT). The machine should
# be idle: the load average is printed at the start and the end.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BDKIT="$TOP/$BUILD/bdkit"
SHARED="$TOP/../shared"
PY=/usr/bin/python3      # Debian's python3, where pybde lives
W=$(mktemp -d "${TMPDIR:-/tmp}/bdkit-bench.XXXXXX")
SHM=""
[ -d /dev/shm ] && SHM=$(mktemp -d /dev/shm/bdkit-bench.XXXXXX)
trap 'rm -rf "$W" ${SHM:+"$SHM"}' EXIT
SIZE=${BENCH_SIZE:-512}
REPEAT=${BENCH_REPEAT:-3}
DREPEAT=${BENCH_DEC_REPEAT:-$((REPEAT * 3))}
NCPU=$(nproc)

now() { date +%s.%N; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else printf "0" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2fx", a / b; else printf "n/a" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.0f%%", 100 * a / b; else printf "n/a" }'; }

# once CMD...: wall seconds of one run, FAIL if it fails
once() {
	local t0 t1
	rm -f "$W/out" ${SHM:+"$SHM/out"}
	t0=$(now); "$@" >/dev/null 2>&1 || { echo FAIL; return; }; t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
# best A B: the smaller time (FAIL only when both are)
best() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || a == "FAIL") print b; else if (b == "FAIL" || a + 0 <= b + 0) print a; else print b }'; }
# The contenders of one row run in turn, REPEAT rounds, best of each: a burst of load elsewhere then hits
# all of them alike instead of one.
rate_of() { [ "$2" != FAIL ] && mbps "$1" "$2" || echo 0; }

# openssl speed, 4 KiB blocks, in MB/s (10^6 bytes/s): one core, or with OSSL_MULTI=N N processes at once
# (the sum: what the cores really give together, shared caches, memory and any SMT siblings included)
ossl_speed() { # ossl_speed CIPHER [-decrypt]
	openssl speed ${OSSL_MULTI:+-multi "$OSSL_MULTI"} -elapsed -seconds 1 ${2:-} -bytes 4096 -evp "$1" 2>/dev/null |
		awk -v c="$1" 'tolower($1) == tolower(c) { v = $2; sub(/k$/, "", v); printf "%.0f", v * 1000 / 1e6 }'
}

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
if m == 0x8000 and len(k) == 32:
    k = k[:16] + bytes(16) + k[16:] + bytes(16)      # cryptsetup's repacked Elephant-128 key
open(sys.argv[3], "wb").write(struct.pack("<H", m) + k + bytes(64 - len(k)))
PY
}

flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'aes|vaes|pclmulqdq|vpclmulqdq|sha_ni|avx2|avx512f|avx512vl|avx512bw' |
	tr '\n' ' ')
echo "bdkit $("$BDKIT" --version | cut -d' ' -f2) benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "CPU: $NCPU cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); features: $flags"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every number)"
echo

declare -a vols pws dvols made
printf 'bench-password\n' > "$W/pw.bdkit"
# bdkit-made volumes holding real data: an NTFS image filled with a random file (90%), encrypted with
# `bdkit encrypt`, so neither the sparse output of bdkit nor zero pages favour anyone.
make_vols() { # make_vols MIB PREFIX: sets made=(the images)
	local plain="$W/plain.img" m img
	made=()
	truncate -s "${1}M" "$plain"
	mkntfs -F -Q -q "$plain" >/dev/null 2>&1
	head -c $(($1 * 85 / 100))M /dev/urandom > "$W/random.bin"
	ntfscp -f "$plain" "$W/random.bin" random.bin >/dev/null 2>&1
	rm -f "$W/random.bin"
	for m in xts-128 cbc-elephant-128 cbc-128; do
		img="$W/$2-$m.img"
		"$BDKIT" -q encrypt "$plain" -o "$img" --method "$m" --password-file "$W/pw.bdkit" \
			--no-recovery-password >/dev/null 2>&1 && made+=("$img")
	done
	rm -f "$plain"
}
# Section 1 times decryption alone at 10+ GB/s: on 512 MiB that is ~50 ms against a process start and
# unlock of 20-100 ms that is subtracted, so a few ms of noise in either moved the -j ratios by tens of
# percent. Its volumes are larger (BENCH_DEC_SIZE MiB, default 2048) so that the decryption dominates.
DSIZE=${BENCH_DEC_SIZE:-2048}
if "$BDKIT" encrypt --help >/dev/null 2>&1 && command -v mkntfs >/dev/null && command -v ntfscp >/dev/null; then
	make_vols "$SIZE" bdkit
	for img in "${made[@]}"; do vols+=("$img"); pws+=("bench-password"); done
	if [ "$DSIZE" = "$SIZE" ]; then
		dvols=("${made[@]}")
	else
		make_vols "$DSIZE" dec
		dvols=("${made[@]}")
	fi
fi
if [ -f "$SHARED/testdata/bitlk/bitlk-images.tar.xz" ]; then
	(cd "$W" && tar xJf "$SHARED/testdata/bitlk/bitlk-images.tar.xz" --sparse)
	for i in bitlk-aes-xts-128 bitlk-aes-xts-256 bitlk-aes-cbc-elephant-128 bitlk-aes-cbc-128; do
		vols+=("$W/bitlk-images/$i.img"); pws+=("anaconda")
	done
fi

# per volume: the method and the raw FVEK files for bdkit and dislocker
declare -A method
all=("${vols[@]}") allpw=("${pws[@]}")
for img in "${dvols[@]}"; do
	case " ${vols[*]} " in *" $img "*) ;; *) all+=("$img"); allpw+=("bench-password") ;; esac
done
for idx in "${!all[@]}"; do
	img=${all[$idx]}
	printf '%s' "${allpw[$idx]}" > "$W/pw"
	cryptsetup bitlkDump --dump-volume-key --volume-key-file "$img.fvek" --key-file "$W/pw" "$img" >/dev/null 2>&1 ||
		{ rm -f "$img.fvek"; continue; }
	m=$("$BDKIT" info --json "$img" 2>/dev/null | sed -n 's/.*"method": *\([0-9]*\).*/\1/p' | head -1)
	method[$img]=$m
	dislocker_fvek "$img.fvek" "$m" "$img.dis"
done

# ---- 1. decryption alone against openssl speed ----
# the best of REPEAT one-second runs, like bdkit's best
o_xts=0 o_cbc=0 m_xts=0 m_cbc=0
for i in $(seq "$REPEAT"); do
	o_xts=$(awk -v a="$o_xts" -v b="$(ossl_speed aes-128-xts)" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
	o_cbc=$(awk -v a="$o_cbc" -v b="$(ossl_speed aes-128-cbc -decrypt)" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
	m_xts=$(awk -v a="$m_xts" -v b="$(OSSL_MULTI=$NCPU ossl_speed aes-128-xts)" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
	m_cbc=$(awk -v a="$m_cbc" -v b="$(OSSL_MULTI=$NCPU ossl_speed aes-128-cbc -decrypt)" \
		'BEGIN { print (b + 0 > a + 0) ? b : a }')
done
echo "1. Decryption alone: bdkit decrypt -o - > /dev/null (source in the page cache), against"
echo "   openssl speed -evp (4 KiB, one core: aes-128-xts ${o_xts:-?} MB/s, aes-128-cbc decrypt ${o_cbc:-?} MB/s) x $NCPU cores;"
echo "   and -j $NCPU against -j 1, to /dev/null and to a file in tmpfs (target: >= 50% of openssl x cores; >= 1.8x)."
echo "   openssl itself on all $NCPU cores at once (speed -multi $NCPU): aes-128-xts $m_xts MB/s ($(ratio "$m_xts" "$o_xts") of one core),"
echo "   aes-128-cbc decrypt $m_cbc MB/s ($(ratio "$m_cbc" "$o_cbc")): the machine's own ceiling for the scaling; 'of multi' is bdkit -j $NCPU against it."
echo "   Rates net of the process start and unlock (the time of decrypt --test with the same key, shown as 'start');"
echo "   best of $DREPEAT runs (BENCH_DEC_REPEAT)."
printf '   %-32s %7s %10s %10s %10s %8s %8s %11s %11s %9s\n' volume start "-j 1" "-j $NCPU" "openssl" "of ossl" "of multi" \
	"file -j 1" "file -j $NCPU" "scaling"
BRW="$TOP/$BUILD/bench_rw"
[ -x "$BRW" ] || make -s -C "$TOP" "$BUILD/bench_rw" >/dev/null 2>&1
rfloor=() wfloor=()
for img in "${dvols[@]}"; do
	[ -f "$img.fvek" ] || continue
	bytes=$(stat -c %s "$img")
	case ${method[$img]} in 32772|32773) o=$o_xts om=$m_xts ;; *) o=$o_cbc om=$m_cbc ;; esac
	cat "$img" > /dev/null
	out=${SHM:-$W}/out
	t1="" tn="" f1="" fn="" t0="" w1="" wn="" p1="" pn=""
	for i in $(seq "$DREPEAT"); do
		t0=$(best "$t0" "$(once "$BDKIT" -q decrypt "$img" --fvek "$img.fvek" --test)")
		if [ -x "$BRW" ]; then
			p1=$(best "$p1" "$("$BRW" r "$img" 1 2>/dev/null || echo FAIL)")
			pn=$(best "$pn" "$("$BRW" r "$img" "$NCPU" 2>/dev/null || echo FAIL)")
			w1=$(best "$w1" "$("$BRW" w "$out" "$bytes" 1 2>/dev/null || echo FAIL)")
			wn=$(best "$wn" "$("$BRW" w "$out" "$bytes" "$NCPU" 2>/dev/null || echo FAIL)")
		fi
		t1=$(best "$t1" "$(once sh -c '"$1" -q decrypt "$2" --fvek "$3" -j 1 -o - > /dev/null' sh "$BDKIT" "$img" "$img.fvek")")
		tn=$(best "$tn" "$(once sh -c '"$1" -q decrypt "$2" --fvek "$3" -j "$4" -o - > /dev/null' sh "$BDKIT" "$img" \
			"$img.fvek" "$NCPU")")
		f1=$(best "$f1" "$(once "$BDKIT" -q decrypt "$img" --fvek "$img.fvek" -j 1 -o "$out" -f)")
		fn=$(best "$fn" "$(once "$BDKIT" -q decrypt "$img" --fvek "$img.fvek" -j "$NCPU" -o "$out" -f)")
	done
	net() { [ "$1" != FAIL ] && [ "$t0" != FAIL ] && awk -v a="$1" -v b="$t0" 'BEGIN { print (a > b) ? a - b : 0 }' || echo FAIL; }
	r1=$(rate_of "$bytes" "$(net "$t1")"); rn=$(rate_of "$bytes" "$(net "$tn")")
	q1=$(rate_of "$bytes" "$(net "$f1")"); qn=$(rate_of "$bytes" "$(net "$fn")")
	printf '   %-32s %5.2fs %5s MB/s %5s MB/s %5s MB/s %8s %8s %6s MB/s %6s MB/s %4s %4s\n' \
		"$(basename "$img" .img) ($((bytes >> 20)) MiB)" "$t0" \
		"$r1" "$rn" "$((${o:-0} * NCPU))" "$(pct "$rn" "$((${o:-0} * NCPU))")" "$(pct "$rn" "${om:-0}")" "$q1" "$qn" \
		"$(ratio "$rn" "$r1")" "$(ratio "$qn" "$q1")"
	# Amdahl with a part that scales only as the copy does: the copy's share c of -j 1's net time at the
	# readers' own scaling, the rest at N (more than the cipher gets: openssl -multi is below N too)
	ceil=$(awk -v p1="${p1:-0}" -v pn="${pn:-0}" -v t="$(net "$t1")" -v n="$NCPU" 'BEGIN {
		if (p1 + 0 <= 0 || pn + 0 <= 0 || t + 0 <= 0) { printf "n/a"; exit }
		c = p1 / t; if (c > 1) c = 1
		printf "%.0f%% of -j 1'"'"'s time, so -j %d would reach about %.2fx", 100 * c, n, 1 / (c / (p1 / pn) + (1 - c) / n) }')
	rfloor+=("$(basename "$img" .img): $(rate_of "$bytes" "${p1:-FAIL}") MB/s with 1 thread, $(rate_of "$bytes" "${pn:-FAIL}") MB/s with $NCPU ($(ratio "${p1:-0}" "${pn:-0}")); the copy is $ceil")
	wfloor+=("$(basename "$img" .img): $(rate_of "$bytes" "${w1:-FAIL}") MB/s with 1 thread, $(rate_of "$bytes" "${wn:-FAIL}") MB/s with $NCPU ($(ratio "${w1:-0}" "${wn:-0}"))")
done
rm -f ${SHM:+"$SHM/out"}
if [ ${#rfloor[@]} -gt 0 ]; then
	echo "   The input side alone (bench_rw r: the volume read in 4 MiB blocks from the page cache, no cipher). Decrypt makes"
	echo "   the same copy, so -j $NCPU scales about as the copy does for the copy's share of -j 1 and at most ${NCPU}x for the rest:"
	for l in "${rfloor[@]}"; do echo "     $l"; done
fi
if [ ${#wfloor[@]} -gt 0 ]; then
	echo "   The output side alone (bench_rw w: as many bytes in 4 MiB writes to a new file in ${SHM:-$W}, no reading, no"
	echo "   cipher), from 1 and $NCPU threads: where $NCPU writers are no faster than one, the file takes one write at a time"
	echo "   (tmpfs holds the file's lock for each write's copy) and 'file -j $NCPU' cannot scale past the share of the"
	echo "   writing in 'file -j 1' (bdkit leaves all-zero 4 KiB blocks as holes, so it writes a little less than this):"
	for l in "${wfloor[@]}"; do echo "     $l"; done
fi
echo

# ---- 2. tmpfs to tmpfs against dislocker-file ----
if [ -n "$SHM" ]; then
	echo "2. tmpfs to tmpfs, same FVEK: bdkit decrypt -j $NCPU against dislocker-file (target: XTS >= 8x, Elephant >= 15x)"
	printf '   %-26s %6s %12s %12s %9s\n' volume MiB bdkit dislocker ratio
	for img in "${vols[@]}"; do
		[ -f "$img.fvek" ] || continue
		case $(basename "$img") in bdkit-*) ;; *) continue ;; esac
		s="$SHM/$(basename "$img")"
		cp "$img" "$s"
		bytes=$(stat -c %s "$s")
		tb="" td=""
		for i in $(seq "$REPEAT"); do
			tb=$(best "$tb" "$(once "$BDKIT" -q decrypt "$s" --fvek "$img.fvek" -o "$SHM/out" -f)")
			td=$(best "$td" "$(once dislocker-file -V "$s" -k "$img.dis" -- "$SHM/out")")
		done
		rm -f "$s" "$SHM/out"
		rb=$(rate_of "$bytes" "$tb"); rd=$(rate_of "$bytes" "$td")
		printf '   %-26s %6d %7s MB/s %7s MB/s %9s\n' "$(basename "$img" .img)" $((bytes >> 20)) "$rb" "$rd" "$(ratio "$rb" "$rd")"
	done
	echo
fi

# ---- 3. to a file on disk ----
echo "3. To a file on $(df --output=fstype "$W" | tail -1) (synced, all): bdkit, dislocker-file, libbde (pybde, reads after"
echo "   unlocking) and a plain dd conv=fsync copy of the same volume (target: bdkit >= the plain copy)"
printf '   %-26s %6s %11s %11s %11s %11s %9s %9s\n' volume MiB bdkit dislocker libbde "plain copy" "vs disl." "vs copy"
for idx in "${!vols[@]}"; do
	img=${vols[$idx]}; pw=${pws[$idx]}
	[ -f "$img.fvek" ] || { printf '   %-26s (cryptsetup could not dump the FVEK; skipped)\n' "$(basename "$img" .img)"; continue; }
	bytes=$(stat -c %s "$img")
	# bdkit syncs its output before it exits; dislocker-file does not, so its time includes a sync too
	tb="" td="" tp=""
	for i in $(seq "$REPEAT"); do
		tb=$(best "$tb" "$(once "$BDKIT" -q decrypt "$img" --fvek "$img.fvek" -o "$W/out" -f)")
		td=$(best "$td" "$(once sh -c 'dislocker-file -V "$1" -k "$2" -- "$3" && sync "$3"' sh "$img" "$img.dis" "$W/out")")
		tp=$(best "$tp" "$(once dd if="$img" of="$W/out" bs=4M conv=fsync status=none)")
	done
	tl=$(pybde_time "$img" "$pw")
	rb=$(rate_of "$bytes" "$tb"); rd=$(rate_of "$bytes" "$td"); rl=$(rate_of "$bytes" "$tl"); rp=$(rate_of "$bytes" "$tp")
	printf '   %-26s %6d %6s MB/s %6s MB/s %6s MB/s %6s MB/s %9s %9s\n' "$(basename "$img" .img)" $((bytes >> 20)) \
		"$rb" "$rd" "$rl" "$rp" "$(ratio "$rb" "$rd")" "$(ratio "$rb" "$rp")"
done
rm -f "$W/out"
echo

# ---- 5. key stretch: unlock and the recovery-password search ----
img=${vols[0]:-}
if [ -n "$img" ]; then
	printf '%s' "${pws[0]}" > "$W/pw"
	tb="" tc=""
	for i in $(seq "$REPEAT"); do
		tb=$(best "$tb" "$(once "$BDKIT" -q decrypt "$img" --password-file "$W/pw" --test)")
		tc=$(best "$tc" "$(once cryptsetup bitlkOpen --test-passphrase --key-file "$W/pw" "$img")")
	done
	echo "5. Unlock with a password (one 2^20-round SHA-256 stretch), $(basename "$img" .img), best of $REPEAT:"
	printf '   %-40s %8s s\n' "bdkit decrypt --test" "$tb" "cryptsetup bitlkOpen --test-passphrase" "$tc"
	echo "   cryptsetup / bdkit: $(ratio "$tc" "$tb") (target: >= 1x)"
fi
[ -x "$TOP/$BUILD/bench_kdf" ] || make -s -C "$TOP" "$BUILD/bench_kdf" >/dev/null 2>&1
[ -x "$TOP/$BUILD/bench_kdf" ] && "$TOP/$BUILD/bench_kdf" 3 | sed 's/^/   /'
# the search itself, all threads: blocks 2 and 3 partly unknown (91 x 9 = 819 candidates, none right: block 7
# replaced by another valid block). Enough batches per thread (32 AVX-512 lanes or 4 SHA-NI streams each) that
# the last, partly empty one and the start-up weigh little: the steady rate.
sr="" hc=""
RPIMG="$W/bitlk-images/bitlk-aes-xts-128.img"
if [ -f "$RPIMG" ]; then
	RP=$(awk '$0 == "[bitlk-aes-xts-128]" { on = 1; next } /^\[/ { on = 0 } on && /^RP=/ { print substr($0, 4) }' \
		"$W/bitlk-images/images.conf")
	b2=$(echo "$RP" | cut -d- -f2); b3=$(echo "$RP" | cut -d- -f3); b7=$(echo "$RP" | cut -d- -f7)
	w7=$(printf '%06d' $(( (1$b7 - 1000000 + 22) % 720896 )))
	pat=$(echo "$RP" | awk -F- -v a="$(echo "$b2" | sed 's/^\(..\)...\(.\)$/\1???\2/')" \
		-v c="$(echo "$b3" | sed 's/^\(..\)..\(..\)$/\1??\2/')" -v b="$w7" \
		'BEGIN { OFS = "-" } { $2 = a; $3 = c; $7 = b; print }')
	printf '%s\n' "$pat" > "$W/pat"
	NCAND=$("$BDKIT" recover-password "$RPIMG" --pattern-file "$W/pat" --dry-run --json </dev/null 2>/dev/null |
		sed -n 's/^{"count": \([0-9]*\),.*/\1/p')
	NCAND=${NCAND:-819}
	# hashcat runs right after, in turn, REPEAT rounds; best of each
	for i in $(seq "$REPEAT"); do
		# exit 4: none of the candidates opens the volume, as planned
		t=$(once sh -c '"$1" recover-password "$2" --pattern-file "$3" </dev/null; [ $? = 4 ]' sh "$BDKIT" "$RPIMG" "$W/pat")
		s1=$(awk -v t="$t" -v n="$NCAND" 'BEGIN { if (t + 0 > 0) printf "%.1f", n / t }')
		sr=$(awk -v a="$sr" -v b="$s1" 'BEGIN { print (b + 0 > a + 0) ? b : a }')
		if command -v hashcat >/dev/null; then
			# "Speed.#*" is the sum over devices where there are several, else the one "Speed.#1" line
			h1=$(timeout 900 hashcat -m 22100 -b 2>/dev/null | awk '/^Speed\.#/ { v = $2; if ($3 == "kH/s") v *= 1000;
				if ($1 ~ /#\*/) { all = v } else if (first == "") { first = v } }
				END { if (all != "") print all; else if (first != "") print first }')
			hc=$(awk -v a="$hc" -v b="$h1" 'BEGIN { if (b + 0 > a + 0) print b; else if (a != "") print a }')
		fi
	done
	echo "   bdkit recover-password, $NCAND candidates (one protector: one stretch each), $NCPU threads: $sr candidates/s"
fi
if [ -n "$hc" ]; then
	echo "   hashcat -m 22100 -b (BitLocker, OpenCL on this CPU), best of $REPEAT: $hc H/s"
else
	hc=32
	echo "   hashcat -m 22100 -b: not available here (needs hashcat and an OpenCL runtime such as pocl-opencl-icd);"
	echo "   recorded figure on the 2-core development machine, 2026-11-25: $hc H/s"
fi
[ -n "$sr" ] && echo "   search / hashcat: $(ratio "$sr" "$hc") (target: >= 1.5x)"
echo

# ---- 4. FUSE and NBD ----
[ -x "$TOP/bench/access.sh" ] && "$TOP/bench/access.sh" "$BUILD"
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
