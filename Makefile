# wazofs — Wazo plugins as a filesystem.
# core/ is a library without FUSE (built against libyaml and libarchive only);
# fs/ adds the FUSE layer; tests/unit link core alone.
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
CFLAGS ?= -O2 -g
# paths are bounded (config_finish keeps root and state under PATH_MAX/4)
WARN := -Wall -Wextra -Wno-format-truncation -Werror=implicit-function-declaration
CORE_PKGS := yaml-0.1 libarchive
BASE_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread
CORE_CFLAGS := $(BASE_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(CORE_PKGS))
FS_CFLAGS := $(CORE_CFLAGS) $(shell $(PKG_CONFIG) --cflags fuse3) -Icore
CORE_LIBS := $(shell $(PKG_CONFIG) --libs $(CORE_PKGS)) -pthread -lm
FS_LIBS := $(shell $(PKG_CONFIG) --libs fuse3) $(CORE_LIBS)

CORE_SRC := $(wildcard core/*.c)
FS_SRC := $(wildcard fs/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
CORE_OBJ := $(CORE_SRC:%.c=build/%.o)
FS_OBJ := $(FS_SRC:%.c=build/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

all: build/wazofs $(UNIT_BIN)

build/core/%.o: core/%.c $(wildcard core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c -o $@ $<

build/fs/%.o: fs/%.c $(wildcard fs/*.h core/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(FS_CFLAGS) -c -o $@ $<

build/libwazocore.a: $(CORE_OBJ)
	ar rcs $@ $^

build/wazofs: $(FS_OBJ) build/libwazocore.a
	$(CC) -o $@ $(FS_OBJ) build/libwazocore.a $(FS_LIBS)

build/tests/%: tests/unit/%.c tests/unit/check.h build/libwazocore.a
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -Icore -o $@ $< build/libwazocore.a $(CORE_LIBS)

test: all
	bash tests/run.sh

install: build/wazofs
	install -D -m 0755 build/wazofs $(DESTDIR)$(PREFIX)/bin/wazofs

clean:
	rm -rf build

.PHONY: all test install clean
