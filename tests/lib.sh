# Shared helpers for shell tests. Sourced by tests/t_*.sh; run by tests/run.sh.
# Each check prints "PASS: name", "FAIL: name: why" or "SKIP: name: reason".
: "${BUILD:=build}"
TOP=$(cd "$(dirname "$0")/.." && pwd)
BDKIT="$TOP/$BUILD/bdkit"
# the same CLI built with its test hooks (-DBDKIT_TEST_HOOKS): BDKIT_FAULT_RANGES, BDKIT_FAIL_WRITES_AFTER,
# BDKIT_REPAIR_STOP_AFTER; the product bdkit reads none of them
BDKIT_HOOKS="$TOP/$BUILD/bdkit-test"
SHARED="$TOP/../shared"
# Real Windows volumes, unpacked once (sparse) into a cache beside the build.
IMGDIR="$TOP/$BUILD/testdata/bitlk-images"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bdkit-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }

# need_images: unpack ../shared/testdata/bitlk once; returns 1 (after a SKIP line) when absent.
need_images() {
	if [ -f "$IMGDIR/images.conf" ]; then return 0; fi
	if [ ! -f "$SHARED/testdata/bitlk/bitlk-images.tar.xz" ]; then
		skip "${1:-images}: ../shared/testdata/bitlk is absent; real Windows volumes not available"
		return 1
	fi
	mkdir -p "$TOP/$BUILD/testdata"
	(cd "$TOP/$BUILD/testdata" && tar xJf "$SHARED/testdata/bitlk/bitlk-images.tar.xz" --sparse) || return 1
	chmod u+w "$IMGDIR"/* 2>/dev/null
	return 0
}

# conf IMAGE KEY: value of KEY in images.conf's [IMAGE] section.
conf() {
	awk -v sec="[$1]" -v key="$2" '
		$0 == sec { on = 1; next } /^\[/ { on = 0 }
		on && index($0, key "=") == 1 { print substr($0, length(key) + 2); exit }' "$IMGDIR/images.conf"
}

# images: names of all images in images.conf
images() { sed -n 's/^\[\(.*\)\]$/\1/p' "$IMGDIR/images.conf"; }

# find_judges: which independent readers are here (HAVE_CS cryptsetup, HAVE_DIS dislocker-file,
# HAVE_BDE pybde of libbde), one SKIP line for each that is missing (install-deps.sh installs all).
find_judges() {
	HAVE_CS=0; command -v cryptsetup >/dev/null 2>&1 && HAVE_CS=1
	HAVE_DIS=0; command -v dislocker-file >/dev/null 2>&1 && HAVE_DIS=1
	HAVE_BDE=0; "${PY:-/usr/bin/python3}" -c 'import pybde' 2>/dev/null && HAVE_BDE=1
	[ $HAVE_CS = 1 ] || skip "cryptsetup checks: cryptsetup not installed"
	[ $HAVE_DIS = 1 ] || skip "dislocker checks: dislocker-file not installed"
	[ $HAVE_BDE = 1 ] || skip "libbde checks: python3 pybde (python3-libbde) not installed"
}
