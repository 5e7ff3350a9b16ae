# Unpack ../shared/testdata/bitlk into $BUILD/testdata before any test runs, so that unit tests which read the real
# Windows volumes do not depend on a shell test having run first. Prints a SKIP line when ../shared is absent.
. "$(dirname "$0")/lib.sh"
need_images "real Windows volumes for $BUILD" || exit 0
