#!/bin/sh
# The built-in example (make demo): make a small NTFS image with a few files, turn it into a
# BitLocker volume with a generated recovery password, show it, unlock it with that recovery
# password and read the files back from the decrypted image.
# Usage: scripts/demo.sh [BUILD_DIR]     (needs ntfs-3g: mkntfs, ntfscp, ntfsls, ntfscat)
set -e
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD="$TOP/$BUILD";; esac
BDKIT="$BUILD/bdkit"
[ -x "$BDKIT" ] || { echo "demo: $BDKIT is not built (run make)" >&2; exit 1; }
for t in mkntfs ntfscp ntfsls ntfscat; do
	command -v $t >/dev/null 2>&1 || { echo "demo: $t is missing (apt-get install ntfs-3g)" >&2; exit 1; }
done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/bdkit-demo.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A 32 MiB NTFS image with three files (mkntfs + ntfscp, no mount needed)"
truncate -s 32M "$DIR/plain.img"
run mkntfs -q -F -Q -s 512 -p 0 -H 255 -S 63 -L DEMO "$DIR/plain.img" 2>/dev/null
printf 'Hello from a BitLocker volume made on Linux by bdkit.\n' >"$DIR/hello.txt"
date -u '+Created %Y-%m-%d %H:%M:%S UTC' >"$DIR/created.txt"
seq -f 'line %g of a longer file' 1 2000 >"$DIR/lines.txt"
for f in hello.txt created.txt lines.txt; do
	ntfscp -q "$DIR/plain.img" "$DIR/$f" "$f"
done
run ntfsls -l "$DIR/plain.img"

step "2. Encrypt it into a BitLocker volume (XTS-AES-128, generated recovery password)"
run "$BDKIT" encrypt "$DIR/plain.img" -o "$DIR/bitlocker.img" --recovery-key-file "$DIR" | tee "$DIR/encrypt.out"
RP=$(grep -E -o '^ *[0-9]{6}(-[0-9]{6}){7} *$' "$DIR/encrypt.out" | tr -d ' ')
printf '%s\n' "$RP" >"$DIR/rp.txt"
echo "Saved by bdkit as in Windows: $(ls "$DIR" | grep 'BitLocker Recovery Key')"
echo "Sector 0 of the volume is now the BitLocker header:"
head -c 11 "$DIR/bitlocker.img" | tail -c 8; echo
echo "and the files' text is nowhere in the image:"
if grep -q 'Hello from a BitLocker' "$DIR/bitlocker.img"; then echo "  FOUND (unexpected)"; exit 1; else echo "  not found (encrypted)"; fi

has() { "$BDKIT" "$1" --help >/dev/null 2>&1; }
step "3. Show the volume"
if has info; then
	run "$BDKIT" info "$DIR/bitlocker.img"
elif command -v cryptsetup >/dev/null 2>&1; then
	echo "(bdkit info is not in this build; cryptsetup shows the metadata instead)"
	run cryptsetup bitlkDump "$DIR/bitlocker.img"
fi

step "4. Unlock it with the recovery password and write the decrypted image"
if has decrypt; then
	run "$BDKIT" decrypt --recovery-password-file "$DIR/rp.txt" "$DIR/bitlocker.img" -o "$DIR/decrypted.img"
elif command -v dislocker-file >/dev/null 2>&1; then
	echo "(bdkit decrypt is not in this build; dislocker decrypts instead)"
	run dislocker-file -q -V "$DIR/bitlocker.img" -p"$RP" -- "$DIR/decrypted.img"
else
	echo "demo: neither bdkit decrypt nor dislocker-file available" >&2
	exit 1
fi

step "5. Read the files back from the decrypted image (ntfs-3g)"
run ntfsls -l "$DIR/decrypted.img"
run ntfscat "$DIR/decrypted.img" hello.txt
run ntfscat "$DIR/decrypted.img" created.txt
ok=1
for f in hello.txt created.txt lines.txt; do
	ntfscat "$DIR/decrypted.img" "$f" | cmp -s - "$DIR/$f" || { echo "$f DIFFERS"; ok=0; }
done
[ $ok = 1 ] && echo "All three files read back byte for byte."
[ $ok = 1 ]
