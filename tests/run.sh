#!/bin/sh
# Run every unit test program and every shell test for each build directory given (default: build),
# then the fuzzers briefly when FUZZ_SECONDS is set, and print "N passed, N failed, N skipped".
# TESTS="t_info t_decrypt" limits the shell tests.
[ $# -eq 0 ] && set -- build
first=$1
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for BUILD in "$@"; do
	export BUILD
	case $BUILD in *asan*) export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ;; esac
	sh tests/unpack-images.sh 2>&1 | tee -a "$log"
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		echo "== $t"
		"$t" 2>&1 || echo "FAIL: $t exited with status $?"
	done | tee -a "$log" | grep -v '^PASS:'
	for t in tests/t_*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .sh)
		if [ -n "$TESTS" ] && ! echo " $TESTS " | grep -q " $name "; then continue; fi
		echo "== $t ($BUILD)"
		sh "$t" 2>&1 || echo "FAIL: $t exited with status $?"
	done | tee -a "$log" | grep -v '^PASS:'
done
if [ -n "$FUZZ_SECONDS" ]; then
	BUILD=$first ./fuzz/run.sh "$FUZZ_SECONDS" 2>&1 | tee -a "$log"
fi
p=$(grep -c '^PASS:' "$log"); f=$(grep -c '^FAIL:' "$log"); s=$(grep -c '^SKIP:' "$log")
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
