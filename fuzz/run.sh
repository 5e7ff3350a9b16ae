#!/bin/sh
# Run each libFuzzer harness briefly over its seed corpus (make fuzz; FUZZ_SECONDS per harness, default 20).
secs=${1:-20}
cd "$(dirname "$0")/.." || exit 1
rc=0
# seeds are made at run time from bdkit-made volumes and ../shared (never stored in the repository)
rm -rf build-fuzz/seeds
./fuzz/seeds.sh "${BUILD:-build}" build-fuzz/seeds
for h in build-fuzz/fuzz_*; do
	[ -x "$h" ] || continue
	name=${h#build-fuzz/fuzz_}
	corpus=fuzz/corpus/$name
	seeds=build-fuzz/seeds/$name
	mkdir -p "$seeds" "$corpus"
	work=build-fuzz/corpus-$name
	mkdir -p "$work"
	echo "== $name ($secs s)"
	if ! "$h" -max_total_time="$secs" -max_len=65536 -timeout=10 "$work" "$corpus" "$seeds" >"$work.log" 2>&1; then
		echo "FAIL: fuzz_$name found a crash (see $work.log)"; tail -n 30 "$work.log"; rc=1
	else
		echo "PASS: fuzz_$name ran $secs s: $(grep -o 'Done [0-9]* runs' "$work.log" | tail -n 1)"
	fi
done
exit $rc
