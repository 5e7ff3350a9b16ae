#!/bin/sh
# The user-facing surface: every subcommand listed by `bdkit --help` answers --help (exit 0, usage on
# stdout) and refuses an unknown option (exit 2, nothing on stdout); each is documented in a man page
# (its own or a shared one naming it), is listed in bdkit(1), and every page in man/ renders without
# warnings and is in bdkit(1)'s SEE ALSO.
. "$(dirname "$0")/lib.sh"
MAN="$TOP/man"

cmds=$("$BDKIT" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
if [ -z "$cmds" ]; then
	fail "cli: bdkit --help lists no commands"
	exit 0
fi
n=$(echo "$cmds" | wc -l)
[ "$n" -ge 16 ] && pass "cli: bdkit --help lists $n commands" || fail "cli: bdkit --help lists only $n commands"

"$BDKIT" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass "cli: bdkit with no command exits 2" || fail "cli: bdkit with no command exits $rc, expected 2"
"$BDKIT" no-such-command >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass "cli: unknown command exits 2" || fail "cli: unknown command exits $rc, expected 2"

# the NAME line of a man page ("bdkit-protector, bdkit-suspend, bdkit-resume \- ...")
name_line() { sed -n '/^\.SH NAME/{n;p;q}' "$1"; }

for c in $cmds; do
	"$BDKIT" "$c" --help >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	if [ $rc != 0 ]; then
		fail "cli: $c --help exits $rc, expected 0: $(head -1 "$TMP/err")"
	elif ! grep -q "bdkit $c" "$TMP/out"; then
		fail "cli: $c --help prints no 'bdkit $c' usage on stdout"
	else
		pass "cli: $c --help"
	fi
	"$BDKIT" "$c" --no-such-option </dev/null >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ $rc != 2 ]; then
		fail "cli: $c --no-such-option exits $rc, expected 2"
	elif [ -s "$TMP/out" ] || [ ! -s "$TMP/err" ]; then
		fail "cli: $c --no-such-option: the complaint belongs on stderr only"
	else
		pass "cli: $c rejects an unknown option (exit 2)"
	fi
	page=
	if [ -f "$MAN/bdkit-$c.1" ]; then
		page="$MAN/bdkit-$c.1"
	else
		for f in "$MAN"/bdkit-*.1; do
			if name_line "$f" | grep -q "bdkit-$c\\([, ]\\|$\\)"; then page=$f; break; fi
		done
	fi
	if [ -z "$page" ]; then
		fail "cli: $c has no man page (man/bdkit-$c.1 or a page naming bdkit-$c)"
	elif ! grep -q "bdkit $c\\|bdkit \\\\fB$c\\|^\\.B bdkit $c" "$page"; then
		fail "cli: $(basename "$page") names bdkit-$c but does not show 'bdkit $c'"
	else
		pass "cli: $c is documented in $(basename "$page")"
	fi
	if grep -q "^\\.B $c\\>\\|\\\\fB$c\\\\fR\\|\\\\fB$c\$\\|\\\\fB$c\\>" "$MAN/bdkit.1"; then
		pass "cli: bdkit(1) lists $c"
	else
		fail "cli: bdkit(1) does not list $c under COMMANDS"
	fi
done

# every page renders without warnings and is referred to from bdkit(1)
if command -v groff >/dev/null 2>&1; then
	for f in "$MAN"/*.1; do
		p=$(basename "$f" .1)
		w=$(groff -man -ww -z "$f" 2>&1)
		[ -z "$w" ] && pass "man: $p renders without warnings" || fail "man: $p: $(echo "$w" | head -2)"
	done
elif command -v man >/dev/null 2>&1; then
	for f in "$MAN"/*.1; do
		p=$(basename "$f" .1)
		w=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
		[ -z "$w" ] && pass "man: $p renders without warnings" || fail "man: $p: $(echo "$w" | head -2)"
	done
else
	skip "man: neither groff nor man is installed; pages not rendered"
fi
see=$(sed -n '/^\.SH SEE ALSO/,/^\.SH/p' "$MAN/bdkit.1")
for f in "$MAN"/*.1; do
	p=$(basename "$f" .1)
	[ "$p" = bdkit ] && continue
	echo "$see" | grep -q "^\\.BR $p (1)" && pass "man: bdkit(1) SEE ALSO has $p" ||
		fail "man: bdkit(1) SEE ALSO lacks $p"
done

# ---- test hooks are not in the product (issue 10 item 4) ----
# bdkit neither has the fault injector nor reads BDKIT_* test variables; bdkit-test (the same CLI
# built with -DBDKIT_TEST_HOOKS) does, and the tests that inject faults use it.
hooks=$(strings "$BDKIT" | grep -E 'BDKIT_(FAULT_RANGES|FAIL_WRITES_AFTER|REPAIR_STOP_AFTER)|fault injection' | head -3)
[ -z "$hooks" ] && pass "hooks: bdkit holds no test hook (no BDKIT_* test variable, no fault injector)" ||
	fail "hooks: bdkit still holds: $hooks"
strings "$BDKIT_HOOKS" | grep -q BDKIT_FAULT_RANGES && pass "hooks: bdkit-test has them (the tests use it)" ||
	fail "hooks: bdkit-test lacks BDKIT_FAULT_RANGES"
"$BDKIT" repair --help 2>&1 | grep -q 'BDKIT_' && fail "hooks: bdkit repair --help names a test variable" ||
	pass "hooks: bdkit repair --help names no test variable"
nm -D --defined-only "$BDKIT" 2>/dev/null | grep -q bd_io_fault_wrap && fail "hooks: bd_io_fault_wrap exported" ||
	{ grep -q bd_io_fault_wrap "$TOP/include/bdkit/bdkit.h" && fail "hooks: bd_io_fault_wrap still in the public header" ||
		pass "hooks: bd_io_fault_wrap is no public API"; }
