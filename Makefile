# wazofs — Wazo plugins as a filesystem.
# core/ is a library without FUSE, in layers (ARCHITECTURE.md): base, yaml, plugin,
# config, jobs, daemon; fs/ adds the FUSE layer; tests/unit link core alone.
CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build
PREFIX ?= /usr/local
# where wazofs-archive is installed (the daemon also finds it beside itself, in build/)
LIBEXECDIR ?= $(PREFIX)/lib/wazofs
CFLAGS ?= -O2 -g
# Warnings for gcc and for clang (CC=clang): the same set, plus what only one knows.
# WERROR=1 (CI) makes every warning an error.
WARN := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
	-Wundef -Werror=implicit-function-declaration
ifeq ($(WERROR),1)
WARN += -Werror
endif
CORE_PKGS := yaml-0.1 libarchive nettle zlib
# where libfakeroot lives (core/base/fakeroot.c)
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH)
BASE_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread \
	$(if $(MULTIARCH),-DWAZOFS_MULTIARCH='"$(MULTIARCH)"') -DWAZOFS_LIBEXECDIR='"$(LIBEXECDIR)"'
CORE_CFLAGS := $(BASE_CFLAGS) -Icore $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS))
FS_CFLAGS := $(CORE_CFLAGS) $(shell $(PKG_CONFIG) --cflags fuse3) -DFUSE_USE_VERSION=314
CORE_LIBS := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS)) -pthread -lm
FS_LIBS := $(shell $(PKG_CONFIG) --libs fuse3) $(CORE_LIBS)
DAEMON_LIBS := $(shell $(PKG_CONFIG) --libs fuse3 $(filter-out libarchive,$(CORE_PKGS))) -pthread -lm

CORE_SRC := $(wildcard core/*/*.c)
CORE_HDR := $(wildcard core/*/*.h)
FS_SRC := $(wildcard fs/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
FS_OBJ := $(FS_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SCRIPT_BIN := $(patsubst scripts/%.c,$(BUILD)/%,$(wildcard scripts/*.c))

all: $(BUILD)/wazofs $(BUILD)/wazofs-archive $(UNIT_BIN) $(SCRIPT_BIN)

$(BUILD)/core/%.o: core/%.c $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c -o $@ $<

$(BUILD)/fs/%.o: fs/%.c $(wildcard fs/*.h) $(CORE_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(FS_CFLAGS) -c -o $@ $<

# made anew: `ar r` into an old archive would keep members whose source is gone
$(BUILD)/libwazocore.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

# The daemon never links libarchive (nor its chain: libxml2, ICU, libstdc++): what reads
# or writes an archive runs in wazofs-archive (core/plugin/archive_helper.h). An object
# of the daemon that calls libarchive makes this link fail.
$(BUILD)/wazofs: $(FS_OBJ) $(BUILD)/libwazocore.a
	$(CC) $(CFLAGS) -o $@ $(FS_OBJ) $(BUILD)/libwazocore.a $(DAEMON_LIBS)

$(BUILD)/wazofs-archive: helper/wazofs_archive.c $(BUILD)/libwazocore.a $(CORE_HDR)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(BUILD)/libwazocore.a $(CORE_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libwazocore.a
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -o $@ $< $(BUILD)/libwazocore.a $(CORE_LIBS)

# fs/router.c is pure (no FUSE): its unit test builds it in
$(BUILD)/tests/test_router: tests/unit/test_router.c fs/router.c fs/router.h $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -Ifs -o $@ $< fs/router.c

# fs/nodes.c uses libfuse's types only: its unit test builds it in
$(BUILD)/tests/test_nodes: tests/unit/test_nodes.c fs/nodes.c fs/nodes.h $(wildcard tests/unit/*.h) $(BUILD)/libwazocore.a
	@mkdir -p $(dir $@)
	$(CC) $(FS_CFLAGS) -Ifs -o $@ $< fs/nodes.c $(BUILD)/libwazocore.a

# Every program under scripts/ (the benchmarks' helpers: deb_write_bench, wazofs's .deb
# writer on a directory; passthrough_bench, a minimal libfuse passthrough, P2's
# baseline) is built by `all`, so CI's WERROR=1 builds keep them in step with the code.
$(BUILD)/%_bench: scripts/%_bench.c $(BUILD)/libwazocore.a $(CORE_HDR)
	$(CC) $(FS_CFLAGS) -o $@ $< $(BUILD)/libwazocore.a $(FS_LIBS)

test: all
	BUILD=$(BUILD) bash tests/run.sh

# The plugin.yml test over the shared corpus of real plugins (beside the repository).
SHARED_CORPUS ?= ../shared/corpus/plugin-yml
corpus: $(BUILD)/tests/test_plugin_meta
	WAZOFS_CORPUS=$(SHARED_CORPUS) WAZOFS_CORPUS_MIN=150 $(BUILD)/tests/test_plugin_meta

# The same suites with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/).
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined" test

# Static analysis: clang's analyzer over the whole build, then cppcheck; any finding
# fails. (scan-build and cppcheck come from scripts/install-deps.sh.)
analyze:
	rm -rf build-analyze
	scan-build --status-bugs -o build-analyze/report $(MAKE) BUILD=build-analyze all
	cppcheck -q --std=c11 --enable=warning,portability,performance --inline-suppr \
		--error-exitcode=1 -D_GNU_SOURCE -Icore core fs helper

# ThreadSanitizer (build-tsan/): the unit tests, then the mount tests that run jobs,
# removals and reads at once (the daemon's threads); any report fails the program.
TSAN_TESTS ?= tests/integration/test_concurrency.sh tests/integration/test_faults.sh
tsan:
	$(MAKE) BUILD=build-tsan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" all
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" BUILD=build-tsan \
		bash tests/run.sh $(TSAN_TESTS)

# libFuzzer targets (clang): build-fuzz/fuzz_*; `make fuzz-run` runs each for
# FUZZ_SECONDS, seeded from tests/data, and stops at the first crash or invalid status.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 20
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libwazocore.a
	$(MAKE) BUILD=build-fuzz CC=clang $(FUZZ_BIN)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/unit/*.h tests/fuzz/*.h) build-fuzz/libwazocore.a
	clang -O1 -g -std=gnu11 -D_GNU_SOURCE -Icore $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS)) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $< build-fuzz/libwazocore.a $(CORE_LIBS)

fuzz-run: fuzz
	@for t in $(FUZZ_BIN); do \
		mkdir -p build-fuzz/corpus/$${t##*/}; \
		echo "# $$t ($(FUZZ_SECONDS) s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
			build-fuzz/corpus/$${t##*/} tests/data/hostile examples/helloworld/wazo \
			2>build-fuzz/$${t##*/}.log || { tail -40 build-fuzz/$${t##*/}.log; exit 1; }; \
		grep -E '^Done|^#[0-9]+.*DONE' build-fuzz/$${t##*/}.log | tail -1; \
	done

# No include goes from a lower layer of core/ to a higher one, none into fs/, and no
# FUSE header is in core/ (scripts/check-layers.sh).
check-layers:
	bash scripts/check-layers.sh

# No function of core/ or fs/ over 60 lines (scripts/check-functions.sh).
check-functions:
	bash scripts/check-functions.sh

# The C style of .clang-format, checked (apply with: clang-format -i FILES).
FORMAT_FILES := $(wildcard core/*/*.[ch] fs/*.[ch] helper/*.c tests/unit/*.[ch] tests/fuzz/*.[ch])
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# The binary, its man page, the systemd unit, a commented config, conf.d and checks.d
# (with a README saying what goes there); the build
# user (build_user's default) is created when installing on the machine itself (the
# Debian package's postinst does it there).
UNITDIR ?= /lib/systemd/system
SYSCONFDIR ?= /etc
install: $(BUILD)/wazofs $(BUILD)/wazofs-archive
	install -D -m 0755 $(BUILD)/wazofs $(DESTDIR)$(PREFIX)/bin/wazofs
	install -D -m 0755 $(BUILD)/wazofs-archive $(DESTDIR)$(LIBEXECDIR)/wazofs-archive
	install -D -m 0644 doc/wazofs.8 $(DESTDIR)$(PREFIX)/share/man/man8/wazofs.8
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/wazofs/conf.d \
		$(DESTDIR)$(SYSCONFDIR)/wazofs/checks.d
	install -m 0644 dist/checks.d-README $(DESTDIR)$(SYSCONFDIR)/wazofs/checks.d/README
	sed 's|/usr/bin/wazofs|$(PREFIX)/bin/wazofs|' dist/wazofs.service \
		>$(DESTDIR)$(UNITDIR)/wazofs.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/wazofs.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/wazofs/config.yml ] || \
		install -m 0644 dist/config.yml $(DESTDIR)$(SYSCONFDIR)/wazofs/config.yml
	if [ -z "$(DESTDIR)" ] && ! getent passwd wazofs >/dev/null; then \
		useradd --system --home-dir /nonexistent --no-create-home \
			--shell /usr/sbin/nologin wazofs; \
	fi

clean:
	rm -rf build build-asan build-fuzz build-analyze build-tsan build-clang

.PHONY: all test corpus asan fuzz fuzz-run format-check check-layers check-functions analyze tsan install clean
