#!/bin/sh
# Run every unit test program and every shell test, then print "N passed, N failed, N skipped".
# Usage: tests/run.sh [BUILD_DIR]   (TESTS="t_info t_decrypt" limits the shell tests)
BUILD=${1:-build}
export BUILD
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== $t"
	"$t" 2>&1 || echo "FAIL: $t exited with status $?"
done | tee -a "$log" | grep -v '^PASS:'
for t in tests/t_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$TESTS" ] && ! echo " $TESTS " | grep -q " $name "; then continue; fi
	echo "== $t"
	sh "$t" 2>&1 || echo "FAIL: $t exited with status $?"
done | tee -a "$log" | grep -v '^PASS:'
p=$(grep -c '^PASS:' "$log"); f=$(grep -c '^FAIL:' "$log"); s=$(grep -c '^SKIP:' "$log")
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
