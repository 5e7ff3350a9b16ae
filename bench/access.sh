#!/bin/bash
# Access benchmark (called by bench/run.sh, or: bench/access.sh [BUILD]):
# sequential and random read/write rates through `bdkit mount` (FUSE) and the nbdkit plugin
# (NBD), next to dislocker's FUSE mount (dislocker-fuse) on copies of the same volume,
# with ratios. Sequential: dd bs=1M over the whole volume (reads, cold FUSE page cache)
# and over a 32 MiB data area (writes, with fdatasync); random: 4 KiB O_DIRECT requests
# (FUSE) or synchronous NBD requests (libnbd), from the same C client. Best of BENCH_RUNS.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BDKIT="$TOP/$BUILD/bdkit"
PLUGIN="$TOP/$BUILD/nbdkit-bdkit-plugin.so"
SHARED="$TOP/../shared"
RUNS=${BENCH_RUNS:-3}
# The images live on tmpfs where there is one, so that the disk is out of the way: dislocker-fuse does not
# implement fsync (its writes are never made durable), bdkit's fsync is real; on tmpfs it costs nothing and
# the comparison is of the two FUSE/NBD servers, not of the disk's flush latency.
W=$(mktemp -d "/dev/shm/bdkit-access-bench.XXXXXX" 2>/dev/null || mktemp -d "${TMPDIR:-/tmp}/bdkit-access-bench.XXXXXX")
cleanup() {
	for d in "$W/bd" "$W/dl" "$W/nf"; do
		grep -q " $d " /proc/self/mounts 2>/dev/null && { "$BDKIT" umount "$d" 2>/dev/null || umount -l "$d"; }
	done
	rm -rf "$W"
}
trap cleanup EXIT

if [ ! -c /dev/fuse ] || [ ! -x "$BDKIT" ] || [ ! -f "$SHARED/testdata/bitlk/bitlk-images.tar.xz" ]; then
	echo "access benchmark skipped: needs /dev/fuse, $BDKIT and ../shared/testdata/bitlk"
	exit 0
fi
(cd "$W" && tar xJf "$SHARED/testdata/bitlk/bitlk-images.tar.xz" --sparse bitlk-images/bitlk-aes-xts-128.img \
	bitlk-images/images.conf)
NAME=bitlk-aes-xts-128
SRC="$W/bitlk-images/$NAME.img"
RP=$(awk -v s="[$NAME]" '$0 == s { on = 1; next } /^\[/ { on = 0 } on && /^RP=/ { print substr($0, 4) }' \
	"$W/bitlk-images/images.conf")
printf '%s\n' "$RP" > "$W/rp"
SIZE=$(stat -c %s "$SRC")
# Writes stay in [1 MiB, 33 MiB): below the first metadata copy of this volume, where
# both tools write plain data sectors.
WOFF=$((1 << 20)) WLEN=$((32 << 20))
head -c $WLEN /dev/urandom > "$W/data"

mbps() { awk -v b="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.0f", b / 1048576 / t; else printf "0" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", a / b; else printf "n/a" }'; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || return; t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'; }

# random 4 KiB requests: one small C client for every contender (bench/bench_randio.c), so that no
# client-side overhead (an interpreter, a foreign-function layer) favours FUSE or NBD
RANDIO="$TOP/$BUILD/bench_randio"
[ -x "$RANDIO" ] || make -s -C "$TOP" "$BUILD/bench_randio" >/dev/null 2>&1
NR=3000   # random reads
NW=1500   # random writes

# One measurement, printed in seconds (nothing on failure). FUSE contenders are files, NBD ones URIs.
seqread() {
	case $1 in
	nbd*) secs nbdcopy "$1" null: ;;
	*) dd if="$1" iflag=nocache count=0 status=none 2>/dev/null   # drop the FUSE page cache
	   secs dd if="$1" of=/dev/null bs=1M ;;
	esac
}
seqwrite() {
	case $1 in
	nbd*) secs nbdcopy --flush "$W/data" "$1" ;;   # to the first 32 MiB, also below the metadata
	*) secs dd if="$W/data" of="$1" bs=1M seek=$((WOFF >> 20)) conv=notrunc,fdatasync ;;
	esac
}
randread() { "$RANDIO" "$1" r $NR 0 "$SIZE"; }
randwrite() { "$RANDIO" "$1" w $NW $WOFF $((WOFF + WLEN)); }

cp --sparse=always "$SRC" "$W/bd.img"
cp --sparse=always "$SRC" "$W/dl.img"
cp --sparse=always "$SRC" "$W/nbd.img"
cat "$W"/*.img > /dev/null   # the source images in the host page cache for every contender
mkdir -p "$W/bd" "$W/dl"

# All contenders up at once, so that the runs can alternate between them (background load then
# hits all alike). The NBD server starts before timing, so its unlock is not timed.
contenders=()
"$BDKIT" -q mount --rw --recovery-password-file "$W/rp" "$W/bd.img" "$W/bd" && contenders+=(bd)
if command -v dislocker-fuse >/dev/null && dislocker-fuse -V "$W/dl.img" -p"$RP" -- "$W/dl" >/dev/null 2>&1; then
	contenders+=(dl)
fi
if command -v nbdkit >/dev/null && command -v nbdcopy >/dev/null && [ -f "$PLUGIN" ] &&
   nbdkit -U "$W/s1" -P "$W/p1" "$PLUGIN" "$W/nbd.img" recovery-password-file="$W/rp" rw=true; then
	contenders+=(nb)
fi
# The floors: servers that do no I/O and no cryptography (bench/bench_nullfuse.c, set up like bdkit's
# mount; nbdkit's null plugin). What they reach is all the kernel's FUSE round trip or NBD's transport
# allow on this machine, so they bound the ratio any server can reach.
NULLFUSE="$TOP/$BUILD/bench_nullfuse"
[ -x "$NULLFUSE" ] || make -s -C "$TOP" "$BUILD/bench_nullfuse" >/dev/null 2>&1
mkdir -p "$W/nf"
[ -x "$NULLFUSE" ] && "$NULLFUSE" "$SIZE" "$W/nf" -o clone_fd 2>/dev/null && contenders+=(nf)
if command -v nbdkit >/dev/null && nbdkit -U "$W/s2" -P "$W/p2" null "$SIZE" 2>/dev/null; then
	contenders+=(nn)
fi
target() {
	case $1 in
	bd) echo "$W/bd/bitlocker-volume" ;;
	dl) echo "$W/dl/dislocker-file" ;;
	nb) echo "nbd+unix:///?socket=$W/s1" ;;
	nf) echo "$W/nf/zero" ;;
	nn) echo "nbd+unix:///?socket=$W/s2" ;;
	esac
}
for m in seqread seqwrite randread randwrite; do
	for i in $(seq "$RUNS"); do
		for c in "${contenders[@]}"; do
			$m "$(target $c)" >> "$W/t.$c.$m" 2>/dev/null
		done
	done
done
grep -q " $W/bd " /proc/self/mounts && "$BDKIT" umount "$W/bd"
grep -q " $W/dl " /proc/self/mounts && umount "$W/dl"
grep -q " $W/nf " /proc/self/mounts && { fusermount3 -u "$W/nf" 2>/dev/null || umount "$W/nf"; }
[ -f "$W/p1" ] && kill "$(cat "$W/p1")"
[ -f "$W/p2" ] && kill "$(cat "$W/p2")"

# rate C METRIC BYTES: MB/s of the best (shortest) successful run, 0 when none
rate() {
	local t
	t=$(awk '$1 > 0' "$W/t.$1.$2" 2>/dev/null | sort -g | head -1)
	mbps "$3" "${t:-0}"
}
result() { echo "$(rate "$1" seqread "$SIZE") $(rate "$1" seqwrite $WLEN) $(rate "$1" randread $((NR * 4096)))" \
	"$(rate "$1" randwrite $((NW * 4096)))"; }
bd=$(result bd) dl=$(result dl) nb=$(result nb) nf=$(result nf) nn=$(result nn)

echo
echo "4. Access: $NAME ($((SIZE >> 20)) MiB, on $(df --output=fstype "$W" | tail -1)) on $(nproc) cores; MB/s, best of $RUNS;"
echo "   ratios against dislocker-fuse"
printf '%-24s %12s %12s %15s %11s %11s\n' "" "bdkit FUSE" "bdkit NBD" "dislocker-fuse" "FUSE ratio" "NBD ratio"
set -- $bd; b1=$1 b2=$2 b3=$3 b4=$4
set -- $nb; n1=$1 n2=$2 n3=$3 n4=$4
set -- $dl; d1=$1 d2=$2 d3=$3 d4=$4
row() { printf '%-24s %12s %12s %15s %11s %11s\n' "$1" "$2" "$3" "$4" "$(ratio "$2" "$4")" "$(ratio "$3" "$4")"; }
row "sequential read 1 MiB" "$b1" "$n1" "$d1"
row "sequential write 1 MiB" "$b2" "$n2" "$d2"
row "random read 4 KiB" "$b3" "$n3" "$d3"
row "random write 4 KiB" "$b4" "$n4" "$d4"
echo "(targets: FUSE sequential read >= 5x, sequential write >= 8x, random read >= 2x, random write >= 1.5x"
echo " dislocker-fuse; NBD random read >= FUSE random read: $(ratio "$n3" "$b3")"
set -- $nf; f3=$3 f4=$4
set -- $nn; z3=$3 z4=$4
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.0f%%", 100 * a / b; else printf "n/a" }'; }
echo "   The floors, servers that do no I/O and no cryptography (MB/s, 4 KiB random read / write):"
echo "   null FUSE server (bench_nullfuse, set up like bdkit mount): $f3 / $f4, $(ratio "$f3" "$d3") / $(ratio "$f4" "$d4")"
echo "   of dislocker-fuse (the most any FUSE server can reach here); bdkit FUSE is at $(pct "$b3" "$f3") / $(pct "$b4" "$f4") of it."
echo "   nbdkit null plugin: $z3 / $z4, $(ratio "$z3" "$f3") of the null FUSE server's random read; bdkit NBD is at"
echo "   $(pct "$n3" "$z3") / $(pct "$n4" "$z4") of it."
exit 0
