# bdkit build. Entry points: make, make check, make demo, make bench, make asan, make fuzz.
# Sources are picked up by wildcard: lib/<wing>/*.c -> libbdkit.a, src/*.c -> bdkit,
# tests/unit/test_*.c -> one test program each, fuzz/fuzz_*.c -> one libFuzzer harness each.
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
PKGS    ?= libcrypto zlib fuse3 json-c libcurl p11-kit-1
# Evidence containers (lib/io_*.c) through the libyal libraries, each used when pkg-config finds
# it (scripts/install-deps.sh installs all four); without one, that container gives a clear error.
CONTAINER_PKGS := $(foreach p,libewf libvhdi libvmdk libqcow,$(shell pkg-config --exists $(p) 2>/dev/null && echo $(p)))
PKGS    += $(CONTAINER_PKGS)
# The library in wings (doc/architecture.md): fve (the format, unlock), io (inputs and containers),
# tcg (boot logs, diagnose), escrow (AD, Graph), search (recovery-password and memory key search);
# the public header in include/bdkit/.
WINGS    := fve io tcg escrow search
WING_INC := -Iinclude -Iinclude/bdkit $(addprefix -Ilib/,$(WINGS))
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS  += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(OPT) $(SAN) $(WARN) -pthread \
           $(WING_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
           $(foreach p,$(CONTAINER_PKGS),-DBD_HAVE_$(shell echo $(p) | tr a-z A-Z))
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lldap -llber -pthread
LDFLAGS += $(SAN)

LIB_SRC  := $(wildcard lib/*/*.c)
CLI_SRC  := $(wildcard src/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HDRS     := $(wildcard include/bdkit/*.h lib/*/*.h src/*.h tests/unit/*.h)

.PHONY: clang-build all deps bench-deps check demo bench asan asan-build fuzz fuzz-build clean plugin install uninstall shared
all: $(BUILD)/bdkit $(BUILD)/bdkit-test $(BUILD)/libbdkit.so $(UNIT_BIN) plugin

deps:
	@./scripts/install-deps.sh

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libbdkit.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bdkit: $(CLI_OBJ) $(BUILD)/libbdkit.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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
$(BUILD)/bdkit-test: $(filter-out $(HOOK_CLI_SRC:%.c=$(BUILD)/%.o),$(CLI_OBJ)) $(HOOK_CLI_OBJ) $(HOOK_OBJ) $(BUILD)/libbdkit.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libbdkit.a $(HOOK_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/hooks $(LDFLAGS) -o $@ $< $(HOOK_OBJ) $(BUILD)/libbdkit.a $(LDLIBS)

# Position-independent objects for the shared library and the nbdkit plugin. The version scripts
# say what each exports: libbdkit.so.0 the public API (every function the headers in include/bdkit/ declare),
# the plugin only plugin_init. -fno-semantic-interposition keeps calls inside the library direct.
PIC_OBJ    := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
$(BUILD)/pic/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fno-semantic-interposition -c -o $@ $<
$(BUILD)/libbdkit-pic.a: $(PIC_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared library: libbdkit.so.0 (SONAME), exporting only the bd_* functions of the public header.
SOVERSION := 0
SONAME    := libbdkit.so.$(SOVERSION)
PUB_HDRS  := $(wildcard include/bdkit/*.h)
$(BUILD)/libbdkit.map: $(PUB_HDRS)
	@mkdir -p $(dir $@)
	@{ echo 'BDKIT_0 {'; echo '  global:'; \
	  sed -n 's/^[a-z].*[ *]\(bd_[a-z0-9_]*\)(.*/    \1;/p' $(PUB_HDRS) | sort -u; \
	  echo '  local: *;'; echo '};'; } > $@
$(BUILD)/$(SONAME): $(PIC_OBJ) $(BUILD)/libbdkit.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/libbdkit.map -Wl,--as-needed \
	  -o $@ $(PIC_OBJ) $(LDFLAGS) $(LDLIBS)
$(BUILD)/libbdkit.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@
shared: $(BUILD)/libbdkit.so

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
	  $(PLUGIN_SRC) $(BUILD)/libbdkit-pic.a $(LDFLAGS) -Wl,--as-needed $(LDLIBS)
else
plugin:
endif

# make install [PREFIX=/usr/local] [DESTDIR=]: bdkit, libbdkit.so.0 (+ the .so link and the static
# library), the public headers (include/bdkit/*.h), bdkit.pc, the man pages, and the nbdkit plugin into nbdkit's own
# plugin directory (so that `nbdkit bdkit volume=...` finds it by name).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
NBDKIT_PLUGINDIR ?= $(shell pkg-config --variable=plugindir nbdkit 2>/dev/null)
VERSION    := $(shell sed -n 's/^\#define BDKIT_VERSION "\(.*\)"/\1/p' include/bdkit/base.h)
$(BUILD)/bdkit.pc: Makefile include/bdkit/base.h
	@mkdir -p $(dir $@)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: bdkit' \
	  'Description: BitLocker (FVE) volumes: unlock, read, write, manage, repair, diagnose' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lbdkit' 'Libs.private: $(LDLIBS)' \
	  'Cflags: -I$${includedir}' > $@
install: $(BUILD)/bdkit $(BUILD)/libbdkit.so $(BUILD)/libbdkit.a $(BUILD)/bdkit.pc plugin
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/bdkit \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/bdkit $(DESTDIR)$(BINDIR)/bdkit
	install -m 755 $(BUILD)/$(SONAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libbdkit.so
	install -m 644 $(BUILD)/libbdkit.a $(DESTDIR)$(LIBDIR)/libbdkit.a
	install -m 644 $(PUB_HDRS) $(DESTDIR)$(INCLUDEDIR)/bdkit/
	install -m 644 $(BUILD)/bdkit.pc $(DESTDIR)$(PKGCONFIGDIR)/bdkit.pc
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	$(if $(and $(PLUGIN_SRC),$(NBDKIT_OK),$(NBDKIT_PLUGINDIR)),install -d $(DESTDIR)$(NBDKIT_PLUGINDIR) && \
	  install -m 755 $(BUILD)/nbdkit-bdkit-plugin.so $(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-bdkit-plugin.so)
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/bdkit $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libbdkit.so \
	  $(DESTDIR)$(LIBDIR)/libbdkit.a $(DESTDIR)$(PKGCONFIGDIR)/bdkit.pc \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/bdkit/,$(notdir $(PUB_HDRS))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1))) \
	  $(if $(NBDKIT_PLUGINDIR),$(DESTDIR)$(NBDKIT_PLUGINDIR)/nbdkit-bdkit-plugin.so)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/bdkit 2>/dev/null

# make check: the suite on the normal build and under ASan+UBSan, then each fuzzer briefly.
CHECK_FUZZ_SECONDS ?= 10
check: deps all clang-build asan-build fuzz-build
	@FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) ./tests/run.sh $(BUILD) build-asan

demo: deps all
	@./scripts/demo.sh $(BUILD)

bench-deps:
	@./scripts/install-deps.sh --bench
bench: bench-deps all $(BUILD)/bench_kdf $(BUILD)/bench_randio
	@./bench/run.sh $(BUILD)

# Crypto micro-benchmarks (not part of all): make build/bench_kdf build/bench_sector
$(BUILD)/bench_%: bench/bench_%.c $(BUILD)/libbdkit.a $(HDRS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbdkit.a $(LDLIBS)

# The tree must also build warning-free with clang (-Werror).
clang-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-clang build-clang/bdkit build-clang/libbdkit.a

# The same test suite under AddressSanitizer + UndefinedBehaviorSanitizer (no nbdkit plugin:
# nbdkit itself is not instrumented; the NBD tests use build/'s plugin).
asan-build:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" build-asan/bdkit build-asan/bdkit-test \
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
