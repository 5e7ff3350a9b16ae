#!/bin/sh
# make install (issue 10 item 6): bdkit, libbdkit.so.0 (SONAME, only the public bd_* functions
# exported), the header, bdkit.pc, the man pages and the nbdkit plugin land under a temporary
# DESTDIR; a small program built with `pkg-config --cflags --libs bdkit` against the installed copy
# (and nothing from the tree) unlocks a real Windows volume through bd_unlock and reads it: the
# decrypted bytes match the published sha256 of that volume.
. "$(dirname "$0")/lib.sh"

# The install is of the normal build; the ASan pass has nothing to add here.
case $BUILD in *asan*) exit 0 ;; esac
need_images install || exit 0

R="$TMP/root"
P=/usr/local
make -s -C "$TOP" install BUILD="$BUILD" PREFIX=$P DESTDIR="$R" >"$TMP/install.log" 2>&1 &&
	pass "install: make install PREFIX=$P DESTDIR=... succeeds" || fail "install: make install: $(tail -3 "$TMP/install.log")"

L="$R$P/lib"
[ -x "$R$P/bin/bdkit" ] && "$R$P/bin/bdkit" --version >/dev/null 2>&1 && pass "install: bin/bdkit runs" ||
	fail "install: bin/bdkit missing or does not run"
son=$(readelf -d "$L/libbdkit.so.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$son" = libbdkit.so.0 ] && [ "$(readlink "$L/libbdkit.so")" = libbdkit.so.0 ] &&
	pass "install: lib/libbdkit.so.0 with SONAME libbdkit.so.0, libbdkit.so links to it" ||
	fail "install: SONAME '$son', libbdkit.so -> $(readlink "$L/libbdkit.so")"
other=$(nm -D --defined-only "$L/libbdkit.so.0" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' | grep -v '^bd_' | head -3)
[ -z "$other" ] && pass "install: libbdkit.so.0 exports only bd_* functions" || fail "install: also exports: $other"
# Public functions carry version BDKIT_0; the few internal ones libbdkit-escrow calls carry
# BDKIT_PRIVATE_0 (no header declares them); no other internal one is exported.
objdump -T "$L/libbdkit.so.0" | awk '$2 == "g" && $4 == ".text" { print $6, $7 }' > "$TMP/dynsyms"
n=$(grep -c '^BDKIT_0 bd_' "$TMP/dynsyms")
priv=$(grep '^BDKIT_PRIVATE_0 ' "$TMP/dynsyms" | cut -d' ' -f2 | tr '\n' ' ')
odd=$(grep -v '^BDKIT_0 bd_\|^BDKIT_PRIVATE_0 bd_' "$TMP/dynsyms" | head -3 | tr '\n' ' ')
[ "$n" -gt 50 ] && [ -z "$odd" ] && ! grep -q '^BDKIT_0 bd_\(vmk_\|prot_\|datum_\|err$\|stretch$\)' "$TMP/dynsyms" &&
	! grep -q 'bd_\(datum_\|prot_\|stretch\)' "$TMP/dynsyms" &&
	pass "install: $n public functions exported (BDKIT_0); private to libbdkit-escrow (BDKIT_PRIVATE_0): $priv" ||
	fail "install: $n exported; other: $odd"
for h in "$TOP"/include/bdkit/*.h; do sed -n 's/^[a-z].*[ *]\(bd_[a-z0-9_]*\)(.*/\1/p' "$h"; done | sort -u > "$TMP/declared"
leak=$(echo $priv | tr ' ' '\n' | grep -xFf "$TMP/declared" | head -3)
[ -z "$leak" ] && pass "install: no BDKIT_PRIVATE_0 function is declared in a public header" || fail "install: private yet declared: $leak"
# libbdkit-escrow.so.0: its own SONAME, only escrow.h's functions, linked to libbdkit.so.0
son=$(readelf -d "$L/libbdkit-escrow.so.0" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
eexp=$(objdump -T "$L/libbdkit-escrow.so.0" | awk '$2 == "g" && $4 == ".text" { print $7 }' | sort)
edecl=$(sed -n 's/^[a-z].*[ *]\(bd_[a-z0-9_]*\)(.*/\1/p' "$TOP/include/bdkit/escrow.h" | sort -u)
[ "$son" = libbdkit-escrow.so.0 ] && [ "$eexp" = "$edecl" ] && [ "$(readlink "$L/libbdkit-escrow.so")" = libbdkit-escrow.so.0 ] &&
	readelf -d "$L/libbdkit-escrow.so.0" | grep -q 'NEEDED.*\[libbdkit.so.0\]' &&
	pass "install: lib/libbdkit-escrow.so.0 (SONAME), exports exactly escrow.h's $(echo "$eexp" | wc -l) functions, needs libbdkit.so.0" ||
	fail "install: libbdkit-escrow.so.0: SONAME '$son', exports $(echo $eexp | head -c 200) vs $(echo $edecl | head -c 200)"
# The core (library, command, plugin) links no LDAP or HTTP stack; the escrow library and helper do.
stacks='libldap\|liblber\|libcurl'
for f in "$L/libbdkit.so.0" "$R$P/bin/bdkit" "$TOP/$BUILD/bdkit" "$TOP/$BUILD/nbdkit-bdkit-plugin.so"; do
	bad=$(readelf -d "$f" 2>&1 | grep 'NEEDED' | grep "$stacks" | sed 's/.*\[\(.*\)\]/\1/' | tr '\n' ' ')
	[ -f "$f" ] && [ -z "$bad" ] && pass "install: readelf -d ${f#$R}: no libldap, liblber or libcurl" ||
		fail "install: ${f#$R} needs $bad"
done
readelf -d "$R$P/libexec/bdkit/bdkit-escrow" 2>/dev/null | grep -q 'NEEDED.*libldap' &&
	pass "install: libexec/bdkit/bdkit-escrow is the program that links LDAP" || fail "install: no libexec/bdkit/bdkit-escrow (with LDAP)"
# `bdkit escrow` from the temporary prefix runs the installed helper (../libexec/bdkit/)
"$R$P/bin/bdkit" escrow --help >"$TMP/eh.out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q '^Usage: bdkit escrow lookup' "$TMP/eh.out" && "$R$P/bin/bdkit" --help | grep -q '^  escrow ' &&
	pass "install: the installed bdkit escrow --help runs the helper (exit 0), bdkit --help lists escrow" ||
	fail "install: bdkit escrow --help: exit $rc: $(head -3 "$TMP/eh.out")"
"$R$P/bin/bdkit" escrow lookup --ldap >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && pass "install: the helper's exit code comes through (usage error: 2)" || fail "install: bdkit escrow lookup --ldap: exit $rc"
missing=
for h in "$TOP"/include/bdkit/*.h; do [ -f "$R$P/include/bdkit/${h##*/}" ] || missing="$missing ${h##*/}"; done
[ -z "$missing" ] && pass "install: include/bdkit/: $(cd "$R$P/include/bdkit" && echo *.h)" || fail "install: headers missing:$missing"
# each wing header stands alone (includes what it needs), in C and C++
bad=
for h in "$R$P"/include/bdkit/*.h; do
	printf '#include <bdkit/%s>\n' "${h##*/}" > "$TMP/hdr.c"
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$R$P/include" "$TMP/hdr.c" 2>>"$TMP/hdr.log" || bad="$bad ${h##*/}"
	if command -v c++ >/dev/null 2>&1; then
		c++ -x c++ -Wall -Werror -fsyntax-only -I"$R$P/include" "$TMP/hdr.c" 2>>"$TMP/hdr.log" || bad="$bad ${h##*/}(C++)"
	fi
done
[ -z "$bad" ] && pass "install: every installed header compiles alone" || fail "install: headers that do not compile alone:$bad: $(head -3 "$TMP/hdr.log")"
[ -f "$L/pkgconfig/bdkit.pc" ] && [ -f "$L/pkgconfig/bdkit-escrow.pc" ] && pass "install: lib/pkgconfig/bdkit.pc, bdkit-escrow.pc" ||
	fail "install: no bdkit.pc or bdkit-escrow.pc"

# man bdkit, through MANPATH
if command -v man >/dev/null 2>&1; then
	MANPATH="$R$P/share/man" man -w bdkit 2>/dev/null | grep -q "$R$P/share/man/man1/bdkit.1" &&
		pass "install: man bdkit finds the installed page (MANPATH)" || fail "install: man -w bdkit: $(MANPATH="$R$P/share/man" man -w bdkit 2>&1)"
	MANPATH="$R$P/share/man" man -w bdkit-repair >/dev/null 2>&1 && pass "install: man bdkit-repair too" ||
		fail "install: man bdkit-repair not found"
else
	fail "install: man is not installed (scripts/install-deps.sh installs man-db)"
fi

# the nbdkit plugin in nbdkit's own plugin directory: `nbdkit bdkit` finds it by name
pd=$(pkg-config --variable=plugindir nbdkit 2>/dev/null)
if [ -n "$pd" ]; then
	[ -f "$R$pd/nbdkit-bdkit-plugin.so" ] && pass "install: plugin in nbdkit's plugin directory ($pd)" ||
		fail "install: no $R$pd/nbdkit-bdkit-plugin.so"
	exp=$(nm -D --defined-only "$R$pd/nbdkit-bdkit-plugin.so" | awk '$2 == "T" { print $3 }' | tr '\n' ' ')
	[ "$exp" = "plugin_init " ] && pass "install: the plugin exports plugin_init only" || fail "install: plugin exports: $exp"
else
	fail "install: nbdkit's pkg-config file (nbdkit-plugin-dev) is missing"
fi

# a program built against the installed library only
cat > "$TMP/prog.c" <<'CEOF'
#include <stdio.h>
#include <string.h>
#include <bdkit/bdkit.h>

int main(int argc, char **argv)
{
	char rp[128];
	bd_volume *v;
	struct bd_open_opts o = BD_OPEN_OPTS_INIT(.offset = -1);
	static unsigned char buf[1 << 20];

	if (argc != 2 || !fgets(rp, sizeof(rp), stdin))
		return 2;
	rp[strcspn(rp, "\n")] = 0;
	if (bd_volume_open(argv[1], &o, &v))
		return fprintf(stderr, "open: %s\n", bd_last_error()), 3;
	const char *rps[] = { "000000-000000-000000-000000-000000-000000-000000-000000", rp };
	struct bd_secrets s = BD_SECRETS_INIT;
	s.recovery_passwords = rps;
	s.n_recovery_passwords = 2;
	int r = bd_unlock(v, &s);
	memset(rp, 0, sizeof(rp));
	if (r)
		return fprintf(stderr, "unlock: %s\n", bd_last_error()), 4;
	for (uint64_t off = 0, size = bd_volume_size(v); off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
		ssize_t got = bd_volume_pread(v, buf, n, off);
		if (got <= 0 || fwrite(buf, 1, (size_t)got, stdout) != (size_t)got)
			return 5;
		off += (uint64_t)got;
	}
	bd_volume_close(v);
	return 0;
}
CEOF
export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$R"
flags=$(pkg-config --cflags --libs bdkit 2>&1)
case "$flags" in *"-L$L"*"-lbdkit"*) pass "install: pkg-config --cflags --libs bdkit: $flags" ;;
	*) fail "install: pkg-config says: $flags" ;; esac
unset PKG_CONFIG_SYSROOT_DIR
if ${CC:-cc} -std=c11 -Wall -Werror -o "$TMP/prog" "$TMP/prog.c" $flags -Wl,-rpath,"$L" 2>"$TMP/cc.log"; then
	pass "install: a program compiles and links with pkg-config's flags"
	ldd "$TMP/prog" | grep -q "libbdkit.so.0 => $L/libbdkit.so.0" && pass "install: it loads the installed libbdkit.so.0" ||
		fail "install: ldd: $(ldd "$TMP/prog" | grep bdkit)"
	bad=$(ldd "$TMP/prog" | grep -o 'libldap[^ ]*\|liblber[^ ]*\|libcurl[^ ]*' | tr '\n' ' ')
	[ -z "$bad" ] && pass "install: the program (bdkit.pc) loads no libldap, liblber or libcurl" || fail "install: it loads $bad"
	img=bitlk-aes-xts-128
	sum=$(conf $img RP | "$TMP/prog" "$IMGDIR/$img.img" 2>"$TMP/prog.err" | sha256sum | cut -d' ' -f1)
	[ "$sum" = "$(conf $img SHA256SUM)" ] &&
		pass "install: the program unlocks $img through bd_unlock (a wrong recovery password first): published sha256" ||
		fail "install: program on $img: $(cat "$TMP/prog.err")"
else
	fail "install: compile: $(head -5 "$TMP/cc.log")"
fi

# a program of the escrow library, built with pkg-config --libs bdkit-escrow: parses a key ID (the
# recovery screen's 8 digits and a full GUID), and a bad one fails with the message in the core's
# bd_last_error (one error state for both libraries)
cat > "$TMP/eprog.c" <<'CEOF'
#include <stdio.h>
#include <bdkit/escrow.h>

int main(int argc, char **argv)
{
	struct bd_escrow_key_id id;
	char g[37];

	for (int i = 1; i < argc; i++) {
		int r = bd_escrow_key_id_parse(argv[i], &id);
		if (r) {
			printf("%s: %s: %s\n", argv[i], bd_strerror(r), bd_last_error());
			continue;
		}
		bd_guid_format(id.guid, g);
		printf("%s: full=%d %.*s\n", argv[i], id.full, id.full ? 36 : 8, g);
	}
	return 0;
}
CEOF
export PKG_CONFIG_PATH="$L/pkgconfig"
eflags=$(PKG_CONFIG_SYSROOT_DIR="$R" pkg-config --cflags --libs bdkit-escrow 2>&1)
case "$eflags" in *-lbdkit-escrow*-lbdkit*) pass "install: pkg-config --cflags --libs bdkit-escrow: $eflags" ;;
	*) fail "install: pkg-config bdkit-escrow says: $eflags" ;; esac
if ${CC:-cc} -std=c11 -Wall -Werror -o "$TMP/eprog" "$TMP/eprog.c" $eflags -Wl,-rpath,"$L" 2>"$TMP/ecc.log"; then
	"$TMP/eprog" 1F9DA098 '{1F9DA098-1234-5678-9ABC-DEF012345678}' zz >"$TMP/eprog.out" 2>&1
	grep -q '^1F9DA098: full=0 1f9da098$' "$TMP/eprog.out" &&
		grep -q '^{1F9DA098-1234-5678-9ABC-DEF012345678}: full=1 1f9da098-1234-5678-9abc-def012345678$' "$TMP/eprog.out" &&
		grep -q '^zz: [a-z].*: ..*' "$TMP/eprog.out" &&
		ldd "$TMP/eprog" | grep -q "libbdkit-escrow.so.0 => $L/libbdkit-escrow.so.0" &&
		pass "install: a program built with bdkit-escrow's flags parses key IDs; a bad one's message reaches bd_last_error" ||
		fail "install: escrow program: $(cat "$TMP/eprog.out" | tr '\n' '|')"
else
	fail "install: compile with bdkit-escrow: $(head -5 "$TMP/ecc.log")"
fi

# `nbdkit bdkit ...` by name (issue 10 item 6): nbdkit looks for nbdkit-bdkit-plugin.so in its
# compiled-in plugin directory. make install puts it where pkg-config says; that must be the
# directory nbdkit itself uses. Then the plugin make install made is put there for real (as root,
# on CI's throwaway machine; only when no such plugin is there, removed again on exit) and
# `nbdkit bdkit volume=... recovery-password-file=...` serves a real Windows volume whose bytes,
# read by nbdcopy, match the published sha256.
ndir=$(nbdkit --dump-config 2>/dev/null | sed -n 's/^plugindir=//p')
[ -n "$ndir" ] && [ "$ndir" = "$pd" ] && pass "install: make install's plugin directory is nbdkit's plugindir ($ndir)" ||
	fail "install: pkg-config plugindir '$pd', nbdkit --dump-config plugindir '$ndir'"
if [ "$(id -u)" -ne 0 ]; then
	skip "install: nbdkit bdkit by name: not root, so the plugin cannot be put into $ndir (CI runs as root)"
elif [ -z "$ndir" ] || [ ! -f "$R$pd/nbdkit-bdkit-plugin.so" ]; then
	fail "install: nbdkit bdkit by name: no plugin directory or no installed plugin"
elif [ -e "$ndir/nbdkit-bdkit-plugin.so" ]; then
	skip "install: nbdkit bdkit by name: $ndir/nbdkit-bdkit-plugin.so is there already and is not this test's"
elif ! command -v nbdcopy >/dev/null 2>&1; then
	fail "install: nbdkit bdkit by name: nbdcopy (libnbd-bin) is missing"
else
	trap 'rm -f "$ndir/nbdkit-bdkit-plugin.so"; rm -rf "$TMP"' EXIT INT TERM
	install -m 755 "$R$pd/nbdkit-bdkit-plugin.so" "$ndir/nbdkit-bdkit-plugin.so"
	img=bitlk-aes-xts-256
	conf $img RP > "$TMP/rp"
	sum=$(nbdkit -U "$TMP/nbd.sock" bdkit volume="$IMGDIR/$img.img" recovery-password-file="$TMP/rp" \
		--run 'nbdcopy "$uri" - | sha256sum' 2>"$TMP/nbdkit.err" | cut -d' ' -f1)
	rm -f "$ndir/nbdkit-bdkit-plugin.so"
	[ "$sum" = "$(conf $img SHA256SUM)" ] &&
		pass "install: nbdkit bdkit volume=$img.img recovery-password-file=... (the plugin by name from $ndir): nbdcopy matches the published sha256" ||
		fail "install: nbdkit bdkit by name: sha256 '$sum' ($(head -c 300 "$TMP/nbdkit.err"))"
	[ ! -e "$ndir/nbdkit-bdkit-plugin.so" ] && pass "install: the plugin is removed from $ndir again" ||
		fail "install: $ndir/nbdkit-bdkit-plugin.so left behind"
fi

# make uninstall removes everything make install put there
make -s -C "$TOP" uninstall BUILD="$BUILD" PREFIX=$P DESTDIR="$R" >"$TMP/uninstall.log" 2>&1 ||
	fail "install: make uninstall: $(tail -3 "$TMP/uninstall.log")"
left=$(find "$R" -type f -o -type l | sed "s|^$R||" | head -5 | tr '\n' ' ')
[ -z "$left" ] && pass "install: make uninstall removes every installed file" || fail "install: left after uninstall: $left"
