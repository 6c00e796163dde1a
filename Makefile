# ipborg -- build, run and test.
#
#   make          build build/ipborg
#   make run      install missing packages, build, serve (PORT=, DB= as for ipborg serve;
#                 default 127.0.0.1:8000 and sqlite:///ipborg.db)
#   make test     install missing packages, build, run every test (unit + end-to-end),
#                 then again under ASan+UBSan+LSan (build-asan/), then each fuzz
#                 target for FUZZ_BRIEF_SECONDS
#   make fuzz     run each libFuzzer target in fuzz/ for FUZZ_SECONDS (default 60)
#   make test-browser  install Chromium if missing, check the pages in it (not in `make test`)
#
# Every src/*.c is part of the binary; every tests/unit/test_*.c is a cmocka test
# program linked with all of src/ except main.c. Files under static/ are compiled
# into the binary (build/assets.c), so build/ipborg runs from any directory.

CC      ?= cc
PKGS    := libmicrohttpd jansson sqlite3 libpq zlib libpng
BUILD   ?= build
OPT     ?= -O2
CFLAGS_BASE := -std=c11 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -Isrc -I$(BUILD)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CFLAGS_BASE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(EXTRA_LDFLAGS)

SRCS      := $(wildcard src/*.c)
OBJS      := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS)) $(BUILD)/obj/assets.o
LIB_OBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
ASSETS    := $(sort $(wildcard static/*))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all run test unit e2e deps deps-test clean test-browser asan fuzz fuzz-build fuzz-bins
all: $(BUILD)/ipborg

deps:
	@scripts/install-deps.sh build
deps-test:
	@scripts/install-deps.sh test

$(BUILD)/ipborg: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/assets.c: $(ASSETS) scripts/embed.sh | $(BUILD)/obj
	scripts/embed.sh $(ASSETS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/assets.o: $(BUILD)/assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# make run [PORT=N] [DB=URL-or-file]: `ipborg serve` with only what is given
# added, so that it serves exactly what `ipborg serve` would: PORT and
# DATABASE_URL from the environment, else port 8000 and sqlite:///ipborg.db.
# DB= is a database URL, or a file path for SQLite. The server's own start-up
# line says where it listens, which database it serves and how many grids
# that holds. The recipe execs the server, so Ctrl-C (or a signal to make)
# stops it.
sq = '$(subst ','\'',$(1))'
RUN_DB_URL = $(if $(findstring ://,$(DB)),$(DB),sqlite:///$(DB))

run: deps
	@$(MAKE) --no-print-directory all
	@if [ -z "$(DB)" ] && [ -z "$$DATABASE_URL" ] && [ -f var/ipborg.db ] && [ ! -f ipborg.db ]; then \
		echo "make run: var/ipborg.db (where make run kept grids before) is not the default any more; DB=var/ipborg.db serves it"; fi
	@exec $(BUILD)/ipborg serve $(if $(PORT),--port=$(call sq,$(PORT))) $(if $(DB),--db-url=$(call sq,$(RUN_DB_URL)))

unit: $(UNIT_BINS)

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory asan fuzz-build
	@ASAN_BUILD=build-asan FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_BRIEF_SECONDS) \
		scripts/run-tests.sh

# --- sanitizers and fuzzing (clang) ----------------------------------------------
# build-asan/: the binary and the unit tests under ASan + UBSan (+ LSan), which
# run-tests.sh runs as a second pass. build/fuzz/: every src/ object with
# libFuzzer's coverage, and one fuzzer per fuzz/fuzz_NAME.c.
SAN_FLAGS          := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_BUILD         := build/fuzz
FUZZ_SECONDS       ?= 60
FUZZ_BRIEF_SECONDS ?= 5
FUZZ_BINS = $(patsubst fuzz/%.c,$(BUILD)/%,$(wildcard fuzz/fuzz_*.c))

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT=-O1 \
		EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" all unit

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB_OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

fuzz: deps-test fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh $(FUZZ_SECONDS)

test-browser:
	@scripts/install-deps.sh browser
	@$(MAKE) --no-print-directory all
	@python3 tests/browser/test_browser.py

clean:
	rm -rf build build-*

-include $(wildcard $(BUILD)/obj/*.d)
