#!/bin/sh
# bdkit mount / umount (FUSE), judged against independent references:
#  - reads: the published SHA256SUM of each Windows volume (images.conf);
#  - writes: dislocker-file decrypts the volume afterwards, and ntfs-3g's tools
#    (ntfscat, ntfsfix -n) check the NTFS that mkntfs/ntfs-3g wrote through bdkit;
#    random writes are applied to a dislocker-made plain reference as well and the
#    two must agree; the raw header and metadata regions must stay byte-identical.
. "$(dirname "$0")/lib.sh"

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	skip "mount: /dev/fuse or fusermount3 is missing (install fuse3)"
	exit 0
fi
[ -x "$BDKIT" ] || { fail "mount: $BDKIT not built"; exit 0; }
need_images mount || exit 0
MNT="$TMP/mnt"
mkdir -p "$MNT"
# The daemon's stderr is /dev/null: under ASan/UBSan, collect its reports in files instead.
case $BUILD in *asan*)
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$TMP/asan" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$TMP/ubsan"
	export ASAN_OPTIONS UBSAN_OPTIONS ;;
esac
# Never leave a mount behind, whatever fails.
cleanup() {
	for d in "$TMP"/fs "$MNT"; do
		grep -q " $d " /proc/self/mounts 2>/dev/null && { fusermount3 -u -z "$d" 2>/dev/null || umount -l "$d"; }
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# secret IMAGE: write its recovery password to a file, print the path
secret() {
	conf "$1" RP > "$TMP/$1.rp"
	echo "$TMP/$1.rp"
}

# running PID: the process exists and has not exited (a zombie has: synced, keys wiped; only its reaping
# by whatever init adopted it is left, and container inits do that lazily)
running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }

# daemon_pid DIR: the pid of the bdkit daemon serving DIR
daemon_pid() {
	python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.bdkit.pid").decode())' "$1" 2>/dev/null
}

# raw_regions IMG: "offset length" of the parts of the raw image no write may touch:
# the volume header sector and the three 64 KiB metadata copies (format.md 1.3, 2.1).
raw_regions() {
	echo "0 512"
	for o in $(od -An -tu8 -j176 -N24 "$1"); do echo "$o 65536"; done
}

# same_regions A B: the raw_regions of A are byte-identical in B
same_regions() {
	raw_regions "$1" | while read -r off len; do
		cmp -s -n "$len" -i "$off:$off" "$1" "$2" || { echo "differs at raw $off+$len"; return 1; }
	done
}

# reserved IMG: "start end" byte ranges of the decrypted view that read as zeros and drop writes
reserved() {
	m1=$(od -An -tu8 -j176 -N8 "$1" | tr -d ' ')
	virt=$(od -An -tu8 -j$((m1 + 56)) -N8 "$1" | tr -d ' ')
	ns=$(od -An -tu4 -j$((m1 + 28)) -N4 "$1" | tr -d ' ')
	ss=$(od -An -tu2 -j11 -N2 "$1" | tr -d ' ')
	for o in $(od -An -tu8 -j176 -N24 "$1"); do echo "$o $((o + 65536))"; done
	echo "$virt $((virt + ns * ss))"
}

dislocker_decrypt() { # IMG RPFILE OUT
	rm -f "$3"
	dislocker-file -r -V "$1" -p"$(cat "$2")" -- "$3" >/dev/null 2>&1 && [ -s "$3" ]
}

# ---- 1. read-only mounts: the whole file matches the published checksum ----
for img in bitlk-aes-xts-128 bitlk-aes-cbc-elephant-256 bitlk-aes-xts-128-4k bitlk-togo-aes-cbc-128; do
	want=$(conf $img SHA256SUM)
	rp=$(secret $img)
	if ! out=$("$BDKIT" mount --recovery-password-file "$rp" "$IMGDIR/$img.img" "$MNT" 2>&1); then
		fail "mount $img: bdkit mount failed: $out"
		continue
	fi
	files=$(ls -A "$MNT")
	got=$(sha256sum < "$MNT/bitlocker-volume" | cut -d' ' -f1)
	pid=$(daemon_pid "$MNT")
	if [ "$files" != bitlocker-volume ]; then
		fail "mount $img: DIR shows '$files', expected only bitlocker-volume"
	elif [ "$got" != "$want" ]; then
		fail "mount $img: sha256 $got, images.conf says $want"
	else
		pass "mount $img: read through FUSE matches SHA256SUM"
	fi
	if [ $img = bitlk-aes-xts-128 ]; then
		if printf x | dd of="$MNT/bitlocker-volume" conv=notrunc status=none 2>/dev/null; then
			fail "mount read-only: a write succeeded"
		else
			pass "mount read-only: writes are refused"
		fi
		# what `mount -o loop` does: a loop device on the FUSE file (root and loop devices needed)
		if [ "$(id -u)" = 0 ] && loop=$(losetup -f --show -r "$MNT/bitlocker-volume" 2>/dev/null); then
			lsum=$(sha256sum < "$loop" | cut -d' ' -f1)
			losetup -d "$loop"
			[ "$lsum" = "$want" ] && pass "mount $img: a loop device on the file reads the same checksum" ||
				fail "mount $img: loop device sha256 $lsum"
		else
			skip "mount: loop devices unavailable (not root, or none in this container)"
		fi
		if [ "$(stat -c %s "$MNT/bitlocker-volume")" = 104857600 ]; then
			pass "mount: file size is the volume size"
		else
			fail "mount: size $(stat -c %s "$MNT/bitlocker-volume")"
		fi
	fi
	if ! out=$("$BDKIT" umount "$MNT" 2>&1); then
		fail "umount $img: $out"
	elif grep -q " $MNT " /proc/self/mounts || { [ -n "$pid" ] && running "$pid"; }; then
		fail "umount $img: mount or daemon (pid $pid) still there"
	else
		pass "umount $img: unmounted and the daemon exited"
	fi
done

# ---- 2. writing is refused on volumes in a conversion state; reading still works ----
for img in bitlk-partially-encrypted-aes-cbc-128 bitlk-aes-xts-128-eow; do
	rp=$(secret $img)
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/state.img"
	out=$("$BDKIT" mount --rw --recovery-password-file "$rp" "$TMP/state.img" "$MNT" 2>&1)
	rc=$?
	if [ $rc -eq 11 ] && echo "$out" | grep -q "without --rw" && ! grep -q " $MNT " /proc/self/mounts; then
		pass "mount --rw $img: refused (exit 11) with a message"
	else
		fail "mount --rw $img: exit $rc, output: $out"
		grep -q " $MNT " /proc/self/mounts && "$BDKIT" umount "$MNT"
	fi
	if "$BDKIT" mount --recovery-password-file "$rp" "$TMP/state.img" "$MNT" >/dev/null 2>&1 &&
	   [ "$(wc -c < "$MNT/bitlocker-volume")" = 104857600 ]; then
		pass "mount $img: read-only mount reads the whole volume"
	else
		fail "mount $img: read-only mount or whole read failed"
	fi
	grep -q " $MNT " /proc/self/mounts && "$BDKIT" umount "$MNT"
	cmp -s "$TMP/state.img" "$IMGDIR/$img.img" || fail "mount $img: the source changed"
	rm -f "$TMP/state.img"
done

# ---- 3. secrets never appear in any process's arguments ----
img=bitlk-aes-xts-128
rp=$(conf $img RP)
if "$BDKIT" -q mount --recovery-password "$rp" "$IMGDIR/$img.img" "$MNT" 2>/dev/null; then
	pid=$(daemon_pid "$MNT")
	# a bracket expression, so that grep's own arguments do not match
	pat="[$(echo "$rp" | cut -c1)]$(echo "$rp" | cut -c2-)"
	if grep -a -l "$pat" /proc/[0-9]*/cmdline 2>/dev/null | grep -q .; then
		fail "mount: the recovery password is visible in a process's arguments"
	elif [ -n "$pid" ] && tr '\0' ' ' < /proc/$pid/cmdline | grep -q "recovery-password"; then
		pass "mount: a command-line secret is wiped from the daemon's arguments"
	else
		fail "mount: daemon not found (pid '$pid')"
	fi
	"$BDKIT" umount "$MNT"
else
	fail "mount with --recovery-password failed"
fi

# ---- 4. read-write: mkntfs + ntfs-3g through bdkit, checked with dislocker and ntfsprogs ----
if ! command -v dislocker-file >/dev/null || ! command -v ntfs-3g >/dev/null || ! command -v mkntfs >/dev/null ||
   ! command -v ntfscat >/dev/null; then
	skip "mount --rw: needs dislocker-file, ntfs-3g, mkntfs and ntfscat"
	exit 0
fi
# rw_ntfs NAME ENC FSBYTES MKFS BDKIT-SECRET-OPTION DISLOCKER-SECRET-OPTION
# Through `bdkit mount --rw` (+ mkntfs first when MKFS=yes), ntfs-3g creates, writes and deletes
# files; then dislocker decrypts ENC and ntfsprogs check the files and the NTFS (FSBYTES long).
rw_ntfs() {
	n=$1 enc=$2 fsbytes=$3 mkfs=$4 bdsec=$5 dlsec=$6
	if "$BDKIT" mount --rw "$bdsec" "$enc" "$MNT" >/dev/null &&
	   { [ "$mkfs" = no ] ||
	     mkntfs -q -f -F -s 512 -L bdkit "$MNT/bitlocker-volume" $((fsbytes / 512)) >/dev/null 2>&1; } &&
	   ntfs-3g "$MNT/bitlocker-volume" "$TMP/fs" &&
	   cp "$TMP/big.bin" "$TMP/fs/big.bin" && cp "$TMP/small.txt" "$TMP/fs/small.txt" &&
	   mkdir -p "$TMP/fs/dir" && cp "$TMP/big.bin" "$TMP/fs/dir/gone.bin" && rm "$TMP/fs/dir/gone.bin" &&
	   umount "$TMP/fs" && "$BDKIT" umount "$MNT"; then
		pass "$n: mkntfs/ntfs-3g wrote, deleted through bdkit mount --rw"
	else
		fail "$n: writing through ntfs-3g failed"
	fi
	grep -q " $TMP/fs " /proc/self/mounts && umount "$TMP/fs"
	grep -q " $MNT " /proc/self/mounts && "$BDKIT" umount "$MNT"
	rm -f "$TMP/dec.img"
	if dislocker-file -r -V "$enc" "$dlsec" -- "$TMP/dec.img" >/dev/null 2>&1 && [ -s "$TMP/dec.img" ]; then
		truncate -s "$fsbytes" "$TMP/dec.img"   # the NTFS's own size (backup boot sector at its end)
		if ntfscat "$TMP/dec.img" big.bin | cmp -s - "$TMP/big.bin" &&
		   [ "$(ntfscat "$TMP/dec.img" small.txt)" = "hello bitlocker" ] &&
		   ! ntfscat "$TMP/dec.img" dir/gone.bin >/dev/null 2>&1; then
			pass "$n: dislocker decrypts the files written through bdkit (deleted file gone)"
		else
			fail "$n: files in the dislocker-decrypted volume differ"
		fi
		if out=$(ntfsfix -n "$TMP/dec.img" 2>&1); then
			pass "$n: ntfsfix -n finds the NTFS consistent"
		else
			fail "$n: ntfsfix -n: $(echo "$out" | tail -2 | tr '\n' ' ')"
		fi
	else
		fail "$n: dislocker-file cannot decrypt the volume after writing"
	fi
}

head -c 3000000 /dev/urandom > "$TMP/big.bin"
printf 'hello bitlocker\n' > "$TMP/small.txt"
mkdir -p "$TMP/fs"

# (a) a bdkit-made NTFS volume (bdkit encrypt of a fresh mkntfs image), when the writer is built
if "$BDKIT" encrypt --help >/dev/null 2>&1; then
	printf 'access-test-pw\n' > "$TMP/made.pw"
	truncate -s 48M "$TMP/plain.img"
	if mkntfs -q -f -F -L made "$TMP/plain.img" >/dev/null 2>&1 &&
	   "$BDKIT" -q encrypt "$TMP/plain.img" -o "$TMP/made.img" --password-file "$TMP/made.pw" \
		--no-recovery-password >/dev/null 2>&1; then
		cp "$TMP/made.img" "$TMP/made.orig"
		rw_ntfs "mount --rw bdkit-made" "$TMP/made.img" $((48 << 20)) no \
			--password-file="$TMP/made.pw" -uaccess-test-pw
		if out=$(same_regions "$TMP/made.orig" "$TMP/made.img"); then
			pass "mount --rw bdkit-made: raw volume header and metadata copies untouched"
		else
			fail "mount --rw bdkit-made: $out"
		fi
	else
		fail "mount --rw bdkit-made: mkntfs or bdkit encrypt failed"
	fi
	rm -f "$TMP/plain.img" "$TMP/made.orig"
else
	skip "mount --rw bdkit-made: bdkit encrypt is not available in this build"
fi

# (b) a copy of a Windows volume, with an NTFS made through bdkit in its first 32 MiB: the
# Windows volume's reserved areas start at 33.5 MiB, and mkntfs knows nothing about them (a
# Windows NTFS marks them as files FVE2.{GUID}); the test images hold no usable NTFS of their own.
img=bitlk-aes-xts-128
rp=$(secret $img)
enc="$TMP/rw.img"
cp --sparse=always "$IMGDIR/$img.img" "$enc"
rw_ntfs "mount --rw $img" "$enc" $((32 << 20)) yes --recovery-password-file="$rp" -p"$(cat "$rp")"
if out=$(same_regions "$IMGDIR/$img.img" "$enc"); then
	pass "mount --rw: raw volume header and metadata copies untouched"
else
	fail "mount --rw: $out"
fi

# ---- 5. --fs (ntfs-3g on top) read-write, stopped with SIGTERM: clean unmount, data kept ----
out=$("$BDKIT" mount --fs --rw --json --recovery-password-file "$rp" "$enc" "$TMP/fs" 2>&1)
pid=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
if [ -n "$pid" ] && [ "$(cat "$TMP/fs/small.txt" 2>/dev/null)" = "hello bitlocker" ]; then
	cp "$TMP/big.bin" "$TMP/fs/second.bin"
	kill -TERM "$pid"
	n=0
	while running "$pid" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	if running "$pid" || grep -q -e " $TMP/fs " -e "^$enc " /proc/self/mounts; then
		fail "mount --fs: SIGTERM did not unmount everything"
	elif dislocker_decrypt "$enc" "$rp" "$TMP/dec.img" && truncate -s 32M "$TMP/dec.img" &&
	     ntfscat "$TMP/dec.img" second.bin | cmp -s - "$TMP/big.bin" && ntfsfix -n "$TMP/dec.img" >/dev/null 2>&1; then
		pass "mount --fs --rw: SIGTERM unmounts cleanly; the file written is on disk, NTFS consistent"
	else
		fail "mount --fs --rw: after SIGTERM the written file or the NTFS is wrong"
	fi
else
	fail "mount --fs: $out"
fi
grep -q " $TMP/fs " /proc/self/mounts && "$BDKIT" umount "$TMP/fs"
# --fs read-only, unmounted with plain umount(8): the daemon notices and goes away by itself
out=$("$BDKIT" mount --fs --json --recovery-password-file "$rp" "$enc" "$TMP/fs" 2>&1)
pid=$(echo "$out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
# the decrypted files belong to the invoking user alone: no allow_other, umask 077 (issue 9, finding 12)
if [ -n "$pid" ] && [ -f "$TMP/fs/small.txt" ]; then
	mode=$(stat -c %a "$TMP/fs/small.txt")
	if grep " $TMP/fs " /proc/self/mountinfo | grep -q allow_other || [ $(( 0$mode & 077 )) != 0 ]; then
		fail "mount --fs: allow_other or files open to others (mode $mode): $(grep " $TMP/fs " /proc/self/mountinfo)"
	else
		pass "mount --fs: no allow_other, files mode $mode (owner only)"
	fi
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		chmod 711 "$TMP"
		if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$TMP/fs/small.txt" >/dev/null 2>&1; then
			fail "mount --fs: another user (nobody) reads the decrypted files"
		else
			pass "mount --fs: another user (nobody) cannot read the decrypted files"
		fi
		chmod 700 "$TMP"
	fi
fi
if [ -n "$pid" ] && [ "$(cat "$TMP/fs/small.txt" 2>/dev/null)" = "hello bitlocker" ] &&
   ! touch "$TMP/fs/new" 2>/dev/null && umount "$TMP/fs"; then
	n=0
	while running "$pid" && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	if running "$pid" || grep -q "^$enc " /proc/self/mounts; then
		fail "mount --fs: after umount of the file system the daemon stayed"
	else
		pass "mount --fs (read-only): umount of the file system ends the daemon too"
	fi
else
	fail "mount --fs read-only: $out"
fi
grep -q " $TMP/fs " /proc/self/mounts && "$BDKIT" umount "$TMP/fs"

# ---- 6. random unaligned writes, compared with the same writes on a dislocker-made reference ----
# rand_writes NAME ENC BDKIT-SECRET-OPTION DISLOCKER-SECRET-OPTION (ENC is modified)
rand_writes() {
	n=$1 enc=$2 bdsec=$3 dlsec=$4
	cp --sparse=always "$enc" "$TMP/orig.img"
	rm -f "$TMP/ref.img"
	dislocker-file -r -V "$enc" "$dlsec" -- "$TMP/ref.img" >/dev/null 2>&1 ||
		{ fail "random writes $n: dislocker-file failed"; return; }
	size=$(stat -c %s "$TMP/ref.img")
	reserved "$enc" > "$TMP/reserved"
	# 24 writes of 1..200000 bytes at arbitrary byte offsets (fixed seed), none inside a reserved area;
	# offset 0 is included: the relocated boot sectors must be written where they really live.
	awk -v size="$size" 'BEGIN { srand(4242) }
		{ rs[NR] = $1; re[NR] = $2 }
		END { print 0, 4000; n = 1
		      while (n < 24) { len = int(rand() * 200000) + 1; off = int(rand() * (size - len))
			ok = 1; for (i in rs) if (off < re[i] + 4096 && off + len > rs[i] - 4096) ok = 0
			if (ok) { print off, len; n++ } }
		      # and 8 O_DIRECT writes of whole 4 KiB blocks (direct_io mode for that open)
		      while (n < 32) { len = 4096 * (int(rand() * 16) + 1); off = 4096 * int(rand() * (size - len) / 4096)
			ok = 1; for (i in rs) if (off < re[i] + 4096 && off + len > rs[i] - 4096) ok = 0
			if (ok) { print off, len, "direct"; n++ } } }' "$TMP/reserved" > "$TMP/writes"
	ok=1 coherent=1
	if "$BDKIT" mount --rw "$bdsec" "$enc" "$MNT" >/dev/null; then
		cat "$MNT/bitlocker-volume" > /dev/null   # the whole file in the page cache before the writes
		while read -r off len how; do
			head -c "$len" /dev/urandom > "$TMP/chunk"
			dd if="$TMP/chunk" of="$TMP/ref.img" bs=65536 oflag=seek_bytes seek="$off" conv=notrunc status=none || ok=0
			flag=seek_bytes
			[ "$how" = direct ] && flag=seek_bytes,direct
			dd if="$TMP/chunk" of="$MNT/bitlocker-volume" bs=65536 oflag=$flag seek="$off" conv=notrunc status=none ||
				ok=0
		done < "$TMP/writes"
		# a cached read while mounted sees every write, the O_DIRECT ones too
		while read -r off len how; do
			cmp -s -i "$off:$off" -n "$len" "$MNT/bitlocker-volume" "$TMP/ref.img" || coherent=0
		done < "$TMP/writes"
		"$BDKIT" umount "$MNT" || ok=0
	else
		ok=0
	fi
	rm -f "$TMP/dec.img"
	[ $coherent = 1 ] && pass "random writes $n: the cached view while mounted shows every write (8 of them O_DIRECT)" ||
		fail "random writes $n: a cached read while mounted differs from the reference after the writes"
	if [ $ok = 0 ]; then
		fail "random writes $n: mount or dd through FUSE failed"
	elif ! dislocker-file -r -V "$enc" "$dlsec" -- "$TMP/dec.img" >/dev/null 2>&1; then
		fail "random writes $n: dislocker-file cannot decrypt afterwards"
	elif d=$(cmp "$TMP/dec.img" "$TMP/ref.img" 2>&1); then
		pass "random writes $n: dislocker's view equals the reference with the same 32 writes"
	else
		fail "random writes $n: first difference: $d"
	fi
	if out=$(same_regions "$TMP/orig.img" "$enc"); then
		pass "random writes $n: raw header and metadata untouched (offset-0 write went to the relocated area)"
	else
		fail "random writes $n: $out"
	fi
	rm -f "$TMP/orig.img" "$TMP/ref.img" "$TMP/dec.img"
}
for img in bitlk-aes-xts-128-4k bitlk-aes-cbc-elephant-128; do
	rp=$(secret $img)
	cp --sparse=always "$IMGDIR/$img.img" "$TMP/rand.img"
	rand_writes $img "$TMP/rand.img" --recovery-password-file="$rp" -p"$(cat "$rp")"
done
[ -f "$TMP/made.img" ] &&
	rand_writes bdkit-made "$TMP/made.img" --password-file="$TMP/made.pw" -uaccess-test-pw
rm -f "$TMP/rand.img" "$TMP/made.img"

# ---- 6b. writes over reserved areas (metadata copy, relocated boot sectors) are dropped ----
img=bitlk-aes-xts-128
rp=$(secret $img)
cp --sparse=always "$IMGDIR/$img.img" "$TMP/res.img"
m1=$(od -An -tu8 -j176 -N8 "$TMP/res.img" | tr -d ' ')
virt=$(od -An -tu8 -j$((m1 + 56)) -N8 "$TMP/res.img" | tr -d ' ')
# 1 MiB of random data from 256 KiB before the first metadata copy, over it and the relocated
# boot sectors that follow it (format.md 1.5, 2.1)
head -c 1048576 /dev/urandom > "$TMP/chunk"
if "$BDKIT" mount --rw --recovery-password-file "$rp" "$TMP/res.img" "$MNT" >/dev/null &&
   dd if="$TMP/chunk" of="$MNT/bitlocker-volume" bs=65536 oflag=seek_bytes seek=$((m1 - 262144)) \
	conv=notrunc,fsync status=none &&
   "$BDKIT" umount "$MNT"; then
	rm -f "$TMP/dec.img"
	if out=$(same_regions "$IMGDIR/$img.img" "$TMP/res.img") &&
	   cmp -s -n 8192 -i "$virt:$virt" "$IMGDIR/$img.img" "$TMP/res.img" &&
	   dislocker_decrypt "$TMP/res.img" "$rp" "$TMP/dec.img" &&
	   [ "$(head -c 8192 "$TMP/dec.img" | sha256sum)" = \
	     "$(dislocker_decrypt "$IMGDIR/$img.img" "$rp" "$TMP/dec0.img" && head -c 8192 "$TMP/dec0.img" | sha256sum)" ]; then
		pass "writes over reserved areas: metadata and relocated boot sectors untouched on disk"
	else
		fail "writes over reserved areas: the raw metadata or relocated boot sectors changed ${out:-}"
	fi
else
	fail "writes over reserved areas: mount or write failed"
	grep -q " $MNT " /proc/self/mounts && "$BDKIT" umount "$MNT"
fi
rm -f "$TMP/res.img" "$TMP/dec.img" "$TMP/dec0.img"

# ---- 7. kill -9 of the daemon while writing: metadata still validates, the volume still opens ----
img=bitlk-aes-xts-128
rp=$(secret $img)
enc="$TMP/kill.img"
cp --sparse=always "$IMGDIR/$img.img" "$enc"
if "$BDKIT" mount --rw --recovery-password-file "$rp" "$enc" "$MNT" >/dev/null; then
	pid=$(daemon_pid "$MNT")
	dd if=/dev/urandom of="$MNT/bitlocker-volume" bs=1M seek=1 count=30 conv=notrunc status=none 2>/dev/null &
	ddpid=$!
	sleep 0.3
	kill -9 "$pid"
	wait $ddpid 2>/dev/null
	"$BDKIT" umount "$MNT" >/dev/null 2>&1 || fusermount3 -u -z "$MNT"
	if ! grep -q " $MNT " /proc/self/mounts && out=$(same_regions "$IMGDIR/$img.img" "$enc") &&
	   [ "$("$BDKIT" info --json "$enc" 2>/dev/null | grep -c '"ok": true')" = 3 ] &&
	   dislocker_decrypt "$enc" "$rp" "$TMP/dec.img" &&
	   "$BDKIT" mount --recovery-password-file "$rp" "$enc" "$MNT" >/dev/null && "$BDKIT" umount "$MNT"; then
		pass "kill -9 during writes: metadata byte-identical, all 3 copies valid, bdkit and dislocker open the volume"
	else
		fail "kill -9 during writes: the volume is damaged or the mount stuck ($out)"
	fi
else
	fail "kill -9: mount --rw failed"
fi
# ---- secrets (issue 10 item 5): no FVEK in a core dump of the running daemon, before or after unmount ----
# The FVEK comes from cryptsetup (its own key derivation); gdb's gcore dumps the daemon while it serves
# reads from several FUSE threads, then again once `bdkit umount` made it close the volume (stopped at
# exit). Neither core may hold either half of the key (an AES key schedule begins with the key itself).
# (On the normal build only: under ASan the daemon's shadow memory makes a core of many GiB.)
img=bitlk-aes-xts-128
rp=$(secret $img)
rm -f "$TMP/vk"
case $BUILD in *asan*) core_check=0 ;; *) core_check=1 ;; esac
if [ $core_check = 0 ]; then
	:
elif ! command -v gdb >/dev/null 2>&1 || ! command -v cryptsetup >/dev/null 2>&1; then
	fail "core: gdb and cryptsetup are needed (scripts/install-deps.sh installs them)"
elif ! cryptsetup bitlkDump --dump-volume-key --volume-key-file "$TMP/vk" -q "$IMGDIR/$img.img" <"$rp" >/dev/null 2>&1 ||
     [ "$(stat -c %s "$TMP/vk")" != 32 ]; then
	fail "core: cryptsetup did not dump $img's FVEK"
elif ! "$BDKIT" mount --recovery-password-file "$rp" "$IMGDIR/$img.img" "$MNT" >/dev/null 2>&1; then
	fail "core: bdkit mount failed"
else
	pid=$(daemon_pid "$MNT")
	for part in 0 1 2 3; do
		dd if="$MNT/bitlocker-volume" bs=1M skip=$((part * 25)) count=25 status=none of=/dev/null &
	done
	wait
	# has_key CORE: the core holds either 16-byte half of the FVEK (0), does not (1), cannot be read (2)
	has_key() {
		python3 - "$1" "$TMP/vk" <<'PYEOF'
import mmap, sys
try:
    k = open(sys.argv[2], "rb").read()
    with open(sys.argv[1], "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        sys.exit(0 if (m.find(k[:16]) >= 0 or m.find(k[16:]) >= 0) else 1)
except (OSError, ValueError, MemoryError) as e:
    print("cannot scan %s: %s" % (sys.argv[1], e), file=sys.stderr)
    sys.exit(2)
PYEOF
	}
	# key_free CORE: 0 when the core was read and holds no half of the key
	key_free() { has_key "$1"; [ $? = 1 ]; }
	timeout 120 gdb -q -batch -p "$pid" -ex "gcore $TMP/core1" >"$TMP/gdb1.log" 2>&1
	if [ ! -s "$TMP/core1" ]; then
		fail "core: gcore of the running daemon failed: $(tail -2 "$TMP/gdb1.log")"
	elif ! key_free "$TMP/core1"; then
		fail "core: the running daemon's core dump holds the FVEK (or could not be scanned)"
	elif ! has_key "$TMP/vk"; then
		fail "core: the probe does not find the key even in the key file"
	else
		pass "core: gcore of the running daemon (after reads on 4 threads) holds no byte string of the FVEK"
	fi
	rm -f "$TMP/core1"
	# stop the daemon at its exit, after `bdkit umount` had it close the volume, and dump it there
	timeout 120 gdb -q -batch -p "$pid" -ex 'set breakpoint pending on' -ex 'break exit' -ex 'break _exit' \
		-ex continue -ex "gcore $TMP/core2" -ex detach >"$TMP/gdb2.log" 2>&1 &
	gdbpid=$!
	n=0
	while ! grep -q "Breakpoint 2 at\|Continuing" "$TMP/gdb2.log" 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
	"$BDKIT" umount "$MNT" >/dev/null 2>&1 &
	umpid=$!
	wait "$gdbpid"
	wait "$umpid"
	if [ ! -s "$TMP/core2" ]; then
		fail "core: no dump of the daemon at exit: $(tail -3 "$TMP/gdb2.log")"
	elif ! key_free "$TMP/core2"; then
		fail "core: the daemon's core after unmount (volume closed) holds the FVEK (or could not be scanned)"
	else
		pass "core: gcore of the daemon after unmount, stopped at exit, holds no byte string of the FVEK"
	fi
	rm -f "$TMP/core2" "$TMP/vk"
	grep -q " $MNT " /proc/self/mounts && fusermount3 -u -z "$MNT"
fi
for r in "$TMP"/asan.* "$TMP"/ubsan.*; do
	[ -f "$r" ] && fail "mount: sanitizer report: $(head -c 600 "$r")"
done
exit 0
