# bdkit build. Entry points: make, make check, make demo, make bench, make asan, make fuzz.
# Sources are picked up by wildcard: lib/{fve,io,tcg,search}/*.c -> libbdkit.a (the core: libcrypto,
# zlib, p11-kit, libyal; no LDAP or HTTP), lib/escrow/*.c -> libbdkit-escrow.a (libldap, libcurl,
# json-c), src/*.c -> bdkit (without src/cmd_escrow.c) and bdkit-escrow (the escrow subcommand, which
# `bdkit escrow` runs), tests/unit/test_*.c -> one test program each, fuzz/fuzz_*.c -> one harness each.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
PKGS    ?= libcrypto zlib fuse3 json-c libcurl p11-kit-1
# Evidence containers (lib/io_*.c) through the libyal libraries, each used when pkg-config finds
# it (scripts/install-deps.sh installs all four); without one, that container gives a clear error.
CONTAINER_PKGS := $(foreach p,libewf libvhdi libvmdk libqcow,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p)))
PKGS    += $(CONTAINER_PKGS)
# What each part links: the core library, the command (FUSE, json-c for --json/audit records), and
# the escrow wing (LDAP, HTTP).
CORE_PKGS   := libcrypto zlib p11-kit-1 $(CONTAINER_PKGS)
CLI_PKGS    := fuse3 json-c
ESCROW_PKGS := libcurl json-c
CORE_LDLIBS   := $(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null) -pthread
CLI_LDLIBS    := $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)
ESCROW_LDLIBS := $(shell pkg-config --libs $(ESCROW_PKGS) 2>/dev/null) -lldap -llber
# The library in wings (doc/architecture.md): fve (the format, unlock), io (inputs and containers),
# tcg (boot logs, diagnose), escrow (AD, Graph), search (recovery-password and memory key search);
# the public header in include/bdkit/.
WINGS    := fve io tcg escrow search
WING_INC := -Iinclude -Iinclude/bdkit $(addprefix -Ilib/,$(WINGS))
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(OPT) $(SAN) $(WARN) -pthread \
           $(WING_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
           $(foreach p,$(CONTAINER_PKGS),-DBD_HAVE_$(shell echo $(p) | tr a-z A-Z))
# Everything (unit tests, bdkit-test, fuzzers).
LDLIBS  += $(ESCROW_LDLIBS) $(CLI_LDLIBS) $(CORE_LDLIBS)
LDFLAGS += $(SAN)

CORE_WINGS := fve io tcg search
CORE_SRC   := $(foreach w,$(CORE_WINGS),$(wildcard lib/$(w)/*.c))
ESCROW_SRC := $(wildcard lib/escrow/*.c)
LIB_SRC  := $(CORE_SRC) $(ESCROW_SRC)
CLI_SRC  := $(wildcard src/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
ESCROW_OBJ := $(ESCROW_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
# The subcommands that live in a program of their own (src/cmd_<name>.c -> bdkit-<name>).
HELPER_CMDS := escrow
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HDRS     := $(wildcard include/bdkit/*.h lib/*/*.h src/*.h tests/unit/*.h)

.PHONY: clang-build all deps bench-deps check demo bench asan asan-build fuzz fuzz-build clean plugin install uninstall shared
all: $(BUILD)/bdkit $(BUILD)/bdkit-escrow $(BUILD)/bdkit-test $(BUILD)/libbdkit.so \
     $(BUILD)/libbdkit-escrow.so $(UNIT_BIN) plugin

deps:
	@./scripts/install-deps.sh

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The Elephant diffusers' vector loops: -O3 makes them 1.3-1.75x faster (bench_sector-style CPU-time runs,
# AVX-512 and AVX2, 512- and 4096-byte sectors); the rest of the library stays at $(OPT).
$(BUILD)/lib/fve/elephant.o $(BUILD)/pic/lib/fve/elephant.o: CFLAGS += -O3
# The search's 2 x 16-lane AVX-512 stretch (kdf.c, stretch_zm32): gcc 12 -O3 ran it 7-8% faster than
# -O2 (63.1 against 58.7 stretches/s per thread, thread CPU time, best of 6 alternating, Zen 5).
$(BUILD)/lib/fve/kdf.o $(BUILD)/pic/lib/fve/kdf.o: CFLAGS += -O3

$(BUILD)/libbdkit.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/libbdkit-escrow.a: $(ESCROW_OBJ)
	@rm -f $@
	ar rcs $@ $^

# bdkit: every subcommand but the helpers' (their weak cmd_<name> stays NULL and bdkit runs
# bdkit-<name>, found next to bdkit, then in ../libexec/bdkit/, then in $(HELPERDIR)).
# A helper program is the same main with its cmd_<name>.o and what it uses of the CLI's shared
# files (from an archive, so that only those come in).
HELPER_OBJ := $(HELPER_CMDS:%=$(BUILD)/src/cmd_%.o)
BDKIT_OBJ  := $(filter-out $(HELPER_OBJ),$(CLI_OBJ))
$(BUILD)/bdkit: $(BDKIT_OBJ) $(BUILD)/libbdkit.a
	$(CC) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(CLI_LDLIBS) $(CORE_LDLIBS)
$(BUILD)/src/bdkit.o: CFLAGS += -DBDKIT_HELPERDIR='"$(HELPERDIR)"'
$(BUILD)/libbdkit-cli.a: $(filter-out $(BUILD)/src/bdkit.o $(HELPER_OBJ),$(CLI_OBJ))
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/bdkit-escrow: $(BUILD)/src/bdkit.o $(BUILD)/src/cmd_escrow.o $(BUILD)/libbdkit-cli.a \
		$(BUILD)/libbdkit-escrow.a $(BUILD)/libbdkit.a
	$(CC) $(LDFLAGS) -o $@ $^ -Wl,--as-needed $(ESCROW_LDLIBS) $(CLI_LDLIBS) $(CORE_LDLIBS)

# Test hooks (fault injection, a repair stop) exist only in test builds: tests/hooks/*.c and the
# CLI files that read BDKIT_* test variables, compiled with -DBDKIT_TEST_HOOKS into bdkit-test
# (used by the shell tests that set them) and linked into the unit tests. bdkit has none of it.
HOOK_SRC     := $(wildcard tests/hooks/*.c)
HOOK_CLI_SRC := $(shell grep -l BDKIT_TEST_HOOKS $(CLI_SRC))
HOOK_OBJ     := $(HOOK_SRC:%.c=$(BUILD)/hooks/%.o)
HOOK_CLI_OBJ := $(HOOK_CLI_SRC:%.c=$(BUILD)/hooks/%.o)
HDRS         += $(wildcard tests/hooks/*.h)
$(BUILD)/hooks/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DBDKIT_TEST_HOOKS -Itests/hooks -c -o $@ $<
$(BUILD)/bdkit-test: $(filter-out $(HOOK_CLI_SRC:%.c=$(BUILD)/%.o),$(CLI_OBJ)) $(HOOK_CLI_OBJ) $(HOOK_OBJ) \
		$(BUILD)/libbdkit-escrow.a $(BUILD)/libbdkit.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbdkit-escrow.a $(BUILD)/libbdkit.a $(HOOK_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/hooks $(LDFLAGS) -o $@ $< $(HOOK_OBJ) $(BUILD)/libbdkit-escrow.a $(BUILD)/libbdkit.a $(LDLIBS)

# Position-independent objects for the shared library and the nbdkit plugin. The version scripts
# say what each exports: libbdkit.so.0 the public API (every function the headers in include/bdkit/ declare),
# the plugin only plugin_init. -fno-semantic-interposition keeps calls inside the library direct.
PIC_OBJ    := $(CORE_SRC:%.c=$(BUILD)/pic/%.o)
ESCROW_PIC_OBJ := $(ESCROW_SRC:%.c=$(BUILD)/pic/%.o)
$(BUILD)/pic/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fno-semantic-interposition -c -o $@ $<
$(BUILD)/libbdkit-pic.a: $(PIC_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared libraries: libbdkit.so.0 (SONAME), exporting the bd_* functions of the core's public
# headers (version BDKIT_0), and libbdkit-escrow.so.0, exporting those of escrow.h and linked to
# libbdkit.so.0. The few internal functions the escrow wing calls (bd_err, bd_vmk_stretched, locked
# memory, ...; found by nm) are exported under version BDKIT_PRIVATE_0 only: no header declares them,
# and they keep one error state and one copy of the key code for both libraries.
SOVERSION := 0
SONAME    := libbdkit.so.$(SOVERSION)
ESCROW_SONAME := libbdkit-escrow.so.$(SOVERSION)
PUB_HDRS  := $(wildcard include/bdkit/*.h)
CORE_HDRS := $(filter-out include/bdkit/escrow.h,$(PUB_HDRS))
PUB_SYMS   = sed -n 's/^[a-z].*[ *]\(bd_[a-z0-9_]*\)(.*/\1/p' $(1) | sort -u
$(BUILD)/libbdkit.map: $(CORE_HDRS) $(ESCROW_PIC_OBJ)
	@mkdir -p $(dir $@)
	@$(call PUB_SYMS,$(CORE_HDRS)) > $@.pub
	@nm --defined-only $(ESCROW_PIC_OBJ) | awk 'NF == 3 { print $$3 }' | sort -u > $@.esc
	@nm -u $(ESCROW_PIC_OBJ) | awk '$$2 ~ /^bd_/ { print $$2 }' | sort -u | comm -23 - $@.esc | comm -23 - $@.pub > $@.priv
	@{ echo 'BDKIT_0 {'; echo '  global:'; sed 's/.*/    &;/' $@.pub; echo '  local: *;'; echo '};'; \
	  echo 'BDKIT_PRIVATE_0 {'; echo '  global:'; sed 's/.*/    &;/' $@.priv; echo '} BDKIT_0;'; } > $@
	@rm -f $@.pub $@.esc $@.priv
$(BUILD)/libbdkit-escrow.map: include/bdkit/escrow.h
	@mkdir -p $(dir $@)
	@{ echo 'BDKIT_ESCROW_0 {'; echo '  global:'; $(call PUB_SYMS,include/bdkit/escrow.h) | sed 's/.*/    &;/'; \
	  echo '  local: *;'; echo '};'; } > $@
$(BUILD)/$(SONAME): $(PIC_OBJ) $(BUILD)/libbdkit.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/libbdkit.map -Wl,--as-needed \
	  -o $@ $(PIC_OBJ) $(LDFLAGS) $(CORE_LDLIBS)
$(BUILD)/libbdkit.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@
$(BUILD)/$(ESCROW_SONAME): $(ESCROW_PIC_OBJ) $(BUILD)/libbdkit-escrow.map $(BUILD)/$(SONAME)
	$(CC) -shared -Wl,-soname,$(ESCROW_SONAME) -Wl,--version-script=$(BUILD)/libbdkit-escrow.map \
	  -Wl,--as-needed -o $@ $(ESCROW_PIC_OBJ) $(LDFLAGS) $(BUILD)/$(SONAME) $(ESCROW_LDLIBS) $(CORE_LDLIBS)
$(BUILD)/libbdkit-escrow.so: $(BUILD)/$(ESCROW_SONAME)
	ln -sf $(ESCROW_SONAME) $@
shared: $(BUILD)/libbdkit.so $(BUILD)/libbdkit-escrow.so

# nbdkit plugin (built when nbdkit's plugin header is present): the plugin source linked with a
# position-independent copy of the library, so only the objects it needs (and the shared libraries
# they need) come in; only plugin_init is exported.
PLUGIN_SRC := $(wildcard plugin/*.c)
NBDKIT_OK  := $(shell pkg-config --exists nbdkit 2>/dev/null && echo yes)
ifneq ($(and $(PLUGIN_SRC),$(NBDKIT_OK)),)
plugin: $(BUILD)/nbdkit-bdkit-plugin.so
$(BUILD)/nbdkit-bdkit-plugin.so: $(PLUGIN_SRC) $(BUILD)/libbdkit-pic.a $(HDRS) plugin/plugin.map
	$(CC) $(CFLAGS) $(shell pkg-config --cflags nbdkit) -fPIC -fvisibility=hidden -shared \
	  -Wl,--version-script=plugin/plugin.map -o $@ \
	  $(PLUGIN_SRC) $(BUILD)/libbdkit-pic.a $(LDFLAGS) -Wl,--as-needed $(CORE_LDLIBS)
else
plugin:
endif

# make install [PREFIX=/usr/local] [DESTDIR=]: bdkit; its helper bdkit-escrow in $(HELPERDIR);
# libbdkit.so.0 and libbdkit-escrow.so.0 (+ the .so links and the static libraries); the public
# headers (include/bdkit/*.h); bdkit.pc and bdkit-escrow.pc; the man pages; and the nbdkit plugin
# into nbdkit's own plugin directory (so that `nbdkit bdkit file=...` finds it by name).
# make uninstall removes all of it.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
HELPERDIR  ?= $(LIBEXECDIR)/bdkit
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
NBDKIT_PLUGINDIR ?= $(shell pkg-config --variable=plugindir nbdkit 2>/dev/null)
VERSION    := $(shell sed -n 's/^\#define BDKIT_VERSION "\(.*\)"/\1/p' include/bdkit/base.h)
PC_HEAD     = 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Version: $(VERSION)' \
	      'Cflags: -I$${includedir}'
$(BUILD)/bdkit.pc: Makefile include/bdkit/base.h
	@mkdir -p $(dir $@)
	@printf '%s\n' $(PC_HEAD) 'Name: bdkit' \
	  'Description: BitLocker (FVE) volumes: unlock, read, write, manage, repair, diagnose' \
	  'Libs: -L$${libdir} -lbdkit' 'Libs.private: $(CORE_LDLIBS)' > $@
$(BUILD)/bdkit-escrow.pc: Makefile include/bdkit/base.h
	@mkdir -p $(dir $@)
	@printf '%s\n' $(PC_HEAD) 'Name: bdkit-escrow' \
	  'Description: BitLocker recovery passwords in Active Directory (LDAP) and Entra ID (Graph)' \
	  'Requires: bdkit = $(VERSION)' 'Libs: -L$${libdir} -lbdkit-escrow' 'Libs.private: $(ESCROW_LDLIBS)' > $@
INSTALLED_LIBS := $(SONAME) libbdkit.so libbdkit.a $(ESCROW_SONAME) libbdkit-escrow.so libbdkit-escrow.a
install: $(BUILD)/bdkit $(HELPER_CMDS:%=$(BUILD)/bdkit-%) $(BUILD)/libbdkit.so $(BUILD)/libbdkit.a \
		$(BUILD)/libbdkit-escrow.so $(BUILD)/libbdkit-escrow.a $(BUILD)/bdkit.pc $(BUILD)/bdkit-escrow.pc plugin
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(HELPERDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/bdkit \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/bdkit $(DESTDIR)$(BINDIR)/bdkit
	install -m 755 $(HELPER_CMDS:%=$(BUILD)/bdkit-%) $(DESTDIR)$(HELPERDIR)/
	install -m 755 $(BUILD)/$(SONAME) $(BUILD)/$(ESCROW_SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libbdkit.so
	ln -sf $(ESCROW_SONAME) $(DESTDIR)$(LIBDIR)/libbdkit-escrow.so
	install -m 644 $(BUILD)/libbdkit.a $(BUILD)/libbdkit-escrow.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(PUB_HDRS) $(DESTDIR)$(INCLUDEDIR)/bdkit/
	install -m 644 $(BUILD)/bdkit.pc $(BUILD)/bdkit-escrow.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(if $(and $(PLUGIN_SRC),$(NBDKIT_OK),$(NBDKIT_PLUGINDIR)),install -d $(DESTDIR)$(NBDKIT_PLUGINDIR) && \
	  install -m 755 $(BUILD)/nbdkit-bdkit-plugin.so $(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-bdkit-plugin.so)
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bdkit $(HELPER_CMDS:%=$(DESTDIR)$(HELPERDIR)/bdkit-%) \
	  $(addprefix $(DESTDIR)$(LIBDIR)/,$(INSTALLED_LIBS)) \
	  $(DESTDIR)$(PKGCONFIGDIR)/bdkit.pc $(DESTDIR)$(PKGCONFIGDIR)/bdkit-escrow.pc \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/bdkit/,$(notdir $(PUB_HDRS))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1))) \
	  $(if $(NBDKIT_PLUGINDIR),$(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-bdkit-plugin.so)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/bdkit $(DESTDIR)$(HELPERDIR) 2>/dev/null

# make check: the suite on the normal build and under ASan+UBSan, then each fuzzer briefly.
CHECK_FUZZ_SECONDS ?= 10
check: deps all clang-build asan-build fuzz-build
	@FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) ./tests/run.sh $(BUILD) build-asan

demo: deps all
	@./scripts/demo.sh $(BUILD)

bench-deps:
	@./scripts/install-deps.sh --bench
bench: bench-deps all $(BUILD)/bench_kdf $(BUILD)/bench_randio $(BUILD)/bench_nullfuse $(BUILD)/bench_rw
	@./bench/run.sh $(BUILD)

# Crypto micro-benchmarks (not part of all): make build/bench_kdf build/bench_sector
$(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libbdkit.a $(HDRS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbdkit.a $(CORE_LDLIBS)
# the FUSE floor for the access bench: a libfuse3 server with no I/O and no cryptography
$(BUILD)/bench_nullfuse: bench/bench_nullfuse.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CLI_LDLIBS)

# The tree must also build warning-free with clang (-Werror).
clang-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-clang build-clang/bdkit build-clang/bdkit-escrow \
	  build-clang/libbdkit.a build-clang/libbdkit-escrow.a

# The same test suite under AddressSanitizer + UndefinedBehaviorSanitizer (no nbdkit plugin:
# nbdkit itself is not instrumented; the NBD tests use build/'s plugin).
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" build-asan/bdkit build-asan/bdkit-escrow build-asan/bdkit-test \
	  $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%) \
	  $(if $(and $(PLUGIN_SRC),$(NBDKIT_OK)),build-asan/nbdkit-bdkit-plugin.so)
asan: deps asan-build
	@./tests/run.sh build-asan

# libFuzzer harnesses (clang); each runs briefly over its seed corpus.
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
build-fuzz/%: fuzz/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined $(WING_INC) \
	  $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -o $@ $< $(LIB_SRC) $(LDLIBS)
fuzz-build: $(FUZZ_BIN)
fuzz: deps fuzz-build
	@./fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-fuzz build-clang
