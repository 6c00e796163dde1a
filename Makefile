# ipborg -- build, run and test.
#
#   make          build build/ipborg
#   make run      install missing packages, build, serve on sqlite:///var/ipborg.db :8000
#   make test     install missing packages, build, run every test (unit + end-to-end)
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

.PHONY: all run test unit e2e deps deps-test clean test-browser
all: $(BUILD)/ipborg

deps:
	@scripts/install-deps.sh build
deps-test:
	@scripts/install-deps.sh test

$(BUILD)/ipborg: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -MMD -c -o $@ $<

$(BUILD)/assets.c: $(ASSETS) scripts/embed.sh | $(BUILD)/obj
	scripts/embed.sh $(ASSETS) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/assets.o: $(BUILD)/assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@echo "ipborg: serving http://127.0.0.1:8000/ (database var/ipborg.db; Ctrl-C stops)"
	exec $(BUILD)/ipborg serve --port 8000 --db-url sqlite:///var/ipborg.db

unit: $(UNIT_BINS)

test: deps-test
	@$(MAKE) --no-print-directory all unit
	@scripts/run-tests.sh

test-browser:
	@scripts/install-deps.sh browser
	@$(MAKE) --no-print-directory all
	@python3 tests/browser/test_browser.py

clean:
	rm -rf build build-*

-include $(wildcard $(BUILD)/obj/*.d)
