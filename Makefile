# mallog - one non-recursive Makefile. `make help` lists the targets.
#
# Variants: build/release (default), build/debug, build/asan (ASan+UBSan; never for preload/).
# V=1 shows full commands.

SHELL := /bin/bash
CC ?= cc
CXX ?= g++
VARIANT ?= release
B := build/$(VARIANT)

WARN := -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers -Wno-format-truncation
BASE_CFLAGS := -std=gnu11 $(WARN) -g -MMD -MP -D_GNU_SOURCE
ifeq ($(VARIANT),release)
  OPT := -O2
else ifeq ($(VARIANT),debug)
  OPT := -O0
else ifeq ($(VARIANT),asan)
  OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
  $(error unknown VARIANT $(VARIANT))
endif
CFLAGS_ALL := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
LDLIBS_ALL := -lzstd -lm -lpthread -ldl
# The recorder: never sanitized, hidden symbols, no builtins (gcc would fuse malloc+memset into a
# call to our own calloc), bound now so lazy PLT resolution never re-enters malloc.
# Frame pointers kept: --stacks=fp walks through our own frames first.
PRELOAD_CFLAGS := -std=gnu11 $(WARN) -g -O2 -MMD -MP -fPIC -fvisibility=hidden -fno-builtin \
                  -ftls-model=initial-exec -D_GNU_SOURCE -fno-omit-frame-pointer
PRELOAD_LDFLAGS := -shared -Wl,-z,now -Wl,-z,nodelete -Wl,--no-undefined

Q := $(if $(V),,@)

LIB_SRC := $(wildcard lib/*.c)
# common/ holds the helpers every tool shares (message shape, recordings): linked into the unit tests.
TOOL_SRC := $(wildcard replay/*.c analyze/*.c plots/*.c common/*.c)
CLI_SRC := $(wildcard cli/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
PROG_C := $(wildcard tests/progs/*.c)
PROG_CXX := $(wildcard tests/progs/*.cc)
BENCH_C := $(wildcard bench/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(B)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(B)/%.o)
# The recorder's objects, under the variant's folder like the rest (built with PRELOAD_CFLAGS in
# every variant: it never runs sanitized).
PRELOAD_B := $(B)/so
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(PRELOAD_B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
PROG_BIN := $(PROG_C:tests/progs/%.c=build/progs/%) $(PROG_CXX:tests/progs/%.cc=build/progs/%)
BENCH_BIN := $(BENCH_C:bench/%.c=build/bench/%)

MALLOG := $(B)/mallog
LIBMLG := $(B)/libmlg.a
PRELOAD_SO := $(B)/libmallog.so
# The same recorder with libunwind for --stacks (a separate library, so plain recording does not
# load libunwind into the program).
PRELOAD_UNWIND_SO := $(B)/libmallog-unwind.so
PRELOAD_UNWIND_OBJ := $(filter-out $(PRELOAD_B)/preload/stacks.o,$(PRELOAD_OBJ)) $(PRELOAD_B)/preload/stacks-unwind.o

DEB_PACKAGES := build-essential libzstd-dev zstd libjemalloc-dev libjemalloc2 libcmocka-dev bc procps time gdb \
                gnuplot-nox libmimalloc2.0 libgoogle-perftools4 python3 git hyperfine libunwind-dev binutils
DEB_OPTIONAL := heaptrack chromium
# What `make test` also installs when it can: chromium renders the report (t_report_browser).
# Without root or sudo, or when apt-get fails, the test is skipped and the summary says why.
DEB_TEST := chromium

.PHONY: all help deps deps-optional deps-test test unit unit-asan e2e e2e-asan bench demo clean progs format fuzz fuzz-build fuzz-replay fuzz-replay-run tsan man install

## all: build the mallog CLI, libmallog.so, test programs
all: $(MALLOG) $(PRELOAD_SO) $(PRELOAD_UNWIND_SO) progs

## help: list targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

## deps: install the Debian packages mallog needs (checks first; apt-get only what is missing)
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: all present"; fi

## deps-optional: also install heaptrack (bench comparison) and chromium (report browser test)
deps-optional: deps
	@missing=$$(for p in $(DEB_OPTIONAL); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || echo "deps-optional: could not install $$missing"; fi

## deps-test: also install what only the tests use (chromium), when apt-get can
deps-test: deps
	@missing=$$(for p in $(DEB_TEST); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ $$(id -u) -ne 0 ] && ! sudo -n true 2>/dev/null; then \
	    echo "deps-test: no root and no sudo: $$missing not installed; its tests will be skipped"; \
	  else SUDO=$$([ $$(id -u) -eq 0 ] || echo sudo); echo "deps-test: installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	    echo "deps-test: apt-get could not install $$missing; its tests will be skipped"; fi; \
	fi

# A stamp of the flags per variant: changing CFLAGS (or CC) rebuilds what they compile.
FLAGS_STAMP := $(B)/.flags
PRELOAD_STAMP := $(PRELOAD_B)/.flags
$(shell mkdir -p $(B) $(PRELOAD_B); \
  echo '$(CC) $(CFLAGS_ALL)' | cmp -s - $(FLAGS_STAMP) || echo '$(CC) $(CFLAGS_ALL)' > $(FLAGS_STAMP); \
  echo '$(CC) $(PRELOAD_CFLAGS) $(PRELOAD_LDFLAGS)' | cmp -s - $(PRELOAD_STAMP) || \
  echo '$(CC) $(PRELOAD_CFLAGS) $(PRELOAD_LDFLAGS)' > $(PRELOAD_STAMP))

$(B)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(PRELOAD_B)/%.o: %.c $(PRELOAD_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC [preload] $<")
	$(Q)$(CC) $(PRELOAD_CFLAGS) -c $< -o $@

$(LIBMLG): $(LIB_OBJ)
	$(Q)ar rcs $@ $^

$(MALLOG): $(CLI_OBJ) $(TOOL_OBJ) $(LIBMLG)
	$(if $(Q),@echo "  LD $@")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(TOOL_OBJ) $(LIBMLG) $(LDLIBS_ALL)

$(PRELOAD_SO): $(PRELOAD_OBJ)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD $@")
	$(Q)$(CC) $(PRELOAD_LDFLAGS) -o $@ $^ -ldl -lpthread

$(PRELOAD_B)/preload/stacks-unwind.o: preload/stacks.c $(PRELOAD_STAMP)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC [preload+libunwind] $<")
	$(Q)$(CC) $(PRELOAD_CFLAGS) -DMLG_WITH_LIBUNWIND -c $< -o $@

$(PRELOAD_UNWIND_SO): $(PRELOAD_UNWIND_OBJ)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD $@")
	$(Q)$(CC) $(PRELOAD_LDFLAGS) -o $@ $^ -lunwind -ldl -lpthread

# Unit tests link what they test: the tool modules and lib/ as archives, so the linker takes only
# the objects a test reaches (test_format: lib/ alone; test_arena: the arena and what it calls);
# never cli/. Real zstd, real cmocka.
TOOLS_A := $(B)/libtools.a
$(TOOLS_A): $(TOOL_OBJ)
	$(if $(Q),@echo "  AR $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tests/%: tests/unit/%.c tests/unit/unit.h $(TOOLS_A) $(LIBMLG)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC $<")
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(TOOLS_A) $(LIBMLG) -lcmocka $(LDLIBS_ALL)

# Test programs: plain -O1 so the compiler keeps every call we count.
build/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O1 -g -fno-builtin -Wall -Wextra -Werror -pthread -o $@ $< -lm

build/progs/%: tests/progs/%.cc
	@mkdir -p $(dir $@)
	$(Q)$(CXX) -std=c++17 -O1 -g -fno-builtin -Wall -Wextra -Werror -pthread -o $@ $<

build/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -O2 -g -fno-builtin -Wall -Wextra -Werror -pthread -o $@ $< -lm

progs: $(PROG_BIN) $(BENCH_BIN)

## unit: cmocka unit tests (this variant)
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

## unit-asan: the unit tests under ASan+UBSan
unit-asan:
	$(Q)$(MAKE) --no-print-directory VARIANT=asan unit

## e2e: end-to-end tests that record real programs
e2e: all
	@bash tests/e2e/run.sh $(MALLOG) $(PRELOAD_SO)

## e2e-asan: the end-to-end tests of recording, damaged logs and analysis with the mallog CLI
## built with ASan+UBSan (the preloaded library stays the release one: it never runs under ASan).
## Replays are left out: under ASan the "glibc" allocator would be ASan's own.
E2E_ASAN := ^t_(record|stats|check|diff|life_(daemon|endings|fork_storm|kill_midrun|signals_tls|static))
e2e-asan: all
	$(Q)$(MAKE) --no-print-directory VARIANT=asan build/asan/mallog
	$(Q)ln -sf $(abspath $(PRELOAD_SO) $(PRELOAD_UNWIND_SO)) build/asan/
	@bash tests/e2e/run.sh build/asan/mallog $(PRELOAD_SO) '$(E2E_ASAN)'

## test: everything: deps (and chromium), build, unit (release + ASan/UBSan), end-to-end (release + ASan/UBSan)
test: deps deps-test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit-asan
	$(Q)$(MAKE) --no-print-directory fuzz-replay
	$(Q)$(MAKE) --no-print-directory tsan
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory e2e-asan

# make install: the release build and what it reads at run time, laid out so the binary finds
# them from its own place (PREFIX/bin/mallog -> PREFIX/lib/mallog/libmallog.so,
# PREFIX/share/mallog/plots/*.gp); DESTDIR stages the tree for a package.
PREFIX ?= /usr/local
DESTDIR ?=
MAN_DIR := build/man

$(MAN_DIR)/.stamp: $(MALLOG) docs/man.sh
	$(if $(Q),@echo "  MAN $(MAN_DIR)")
	$(Q)rm -rf $(MAN_DIR) && bash docs/man.sh $(MALLOG) $(MAN_DIR) && touch $@

## man: the man pages (mallog.1, mallog-<command>.1) from the commands' help text, in build/man
man: $(MAN_DIR)/.stamp

## install: install mallog under PREFIX (default /usr/local; DESTDIR=... to stage): the binary,
## the recorder libraries, the gnuplot scripts, man pages and bash completion
install: $(MALLOG) $(PRELOAD_SO) $(PRELOAD_UNWIND_SO) man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/mallog \
	    $(DESTDIR)$(PREFIX)/share/mallog/plots $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(MALLOG) $(DESTDIR)$(PREFIX)/bin/mallog
	install -m 644 $(PRELOAD_SO) $(PRELOAD_UNWIND_SO) $(DESTDIR)$(PREFIX)/lib/mallog/
	install -m 644 plots/*.gp $(DESTDIR)$(PREFIX)/share/mallog/plots/
	install -m 644 $(MAN_DIR)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 cli/completion.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mallog

## bench: overhead, bytes/event, replay and analysis throughput (side-by-side ratios)
bench: deps all
	@bash bench/run.sh $(MALLOG) $(PRELOAD_SO)

## demo: record a fragmenting program, replay it on several allocators, write the report
demo: deps all
	@bash tests/e2e/demo.sh $(MALLOG)

# Fuzz targets (tests/fuzz/): libFuzzer, built with clang and linked with lib/ and the tool
# modules compiled again with the fuzzer's coverage and ASan+UBSan into build/fuzz/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(filter-out -Wno-format-truncation,$(WARN)) -g -O1 -D_GNU_SOURCE -Wno-unused-but-set-variable $(FUZZ_SAN)
FUZZ_TARGETS := reader reader_crc reader_events sites pack summary budget maps trap specs
FUZZ_BIN := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_TOOL_OBJ := $(TOOL_SRC:%.c=build/fuzz/%.o)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC [fuzz] $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/fuzz_reader_crc: FUZZ_DEFS := -DFUZZ_FIX_CRC
build/fuzz/fuzz_reader_events: FUZZ_DEFS := -DFUZZ_EVENTS
build/fuzz/fuzz_reader build/fuzz/fuzz_reader_crc build/fuzz/fuzz_reader_events: tests/fuzz/fuzz_reader.c
build/fuzz/fuzz_sites: tests/fuzz/fuzz_sites.c
build/fuzz/fuzz_pack: tests/fuzz/fuzz_pack.c
build/fuzz/fuzz_summary: tests/fuzz/fuzz_summary.c
build/fuzz/fuzz_maps: tests/fuzz/fuzz_maps.c
build/fuzz/fuzz_trap: tests/fuzz/fuzz_trap.c
build/fuzz/fuzz_specs: tests/fuzz/fuzz_specs.c
# budget.c's parser is static: the target includes analyze/budget.c, so budget.o stays out.
build/fuzz/fuzz_budget: tests/fuzz/fuzz_budget.c
build/fuzz/fuzz_budget: FUZZ_LINK := $(filter-out build/fuzz/analyze/budget.o,$(FUZZ_TOOL_OBJ))
$(FUZZ_BIN): FUZZ_LINK ?= $(FUZZ_TOOL_OBJ)
$(FUZZ_BIN): tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ) $(FUZZ_TOOL_OBJ)
	$(if $(Q),@echo "  LD [fuzz] $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) -fsanitize=fuzzer -o $@ $(filter tests/fuzz/%.c,$^) \
	    $(FUZZ_LINK) $(FUZZ_LIB_OBJ) $(LDLIBS_ALL)

# The same targets without libFuzzer (tests/fuzz/standalone.c runs each input once), built with
# this variant's compiler, flags and objects: `make test` replays the corpus and every kept crash
# input through them under ASan+UBSan (fuzz-replay), in seconds and without clang.
FUZZ_REPLAY_BIN := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
$(B)/fuzz/fuzz_reader_crc: FUZZ_DEFS := -DFUZZ_FIX_CRC
$(B)/fuzz/fuzz_reader_events: FUZZ_DEFS := -DFUZZ_EVENTS
$(B)/fuzz/fuzz_reader $(B)/fuzz/fuzz_reader_crc $(B)/fuzz/fuzz_reader_events: tests/fuzz/fuzz_reader.c
$(B)/fuzz/fuzz_sites: tests/fuzz/fuzz_sites.c
$(B)/fuzz/fuzz_pack: tests/fuzz/fuzz_pack.c
$(B)/fuzz/fuzz_summary: tests/fuzz/fuzz_summary.c
$(B)/fuzz/fuzz_maps: tests/fuzz/fuzz_maps.c
$(B)/fuzz/fuzz_trap: tests/fuzz/fuzz_trap.c
$(B)/fuzz/fuzz_specs: tests/fuzz/fuzz_specs.c
$(B)/fuzz/fuzz_budget: tests/fuzz/fuzz_budget.c
$(B)/fuzz/fuzz_budget: FUZZ_REPLAY_LINK := $(filter-out $(B)/analyze/budget.o,$(TOOL_OBJ))
$(FUZZ_REPLAY_BIN): FUZZ_REPLAY_LINK ?= $(TOOL_OBJ)
$(FUZZ_REPLAY_BIN): tests/fuzz/standalone.c $(wildcard tests/fuzz/*.h lib/*.h replay/*.h) $(LIB_OBJ) $(TOOL_OBJ)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD [fuzz-replay] $@")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS_ALL)) $(FUZZ_DEFS) -o $@ $(filter tests/fuzz/%.c,$^) $(FUZZ_REPLAY_LINK) \
	    $(LIB_OBJ) $(LDLIBS_ALL)

## fuzz-replay: every fuzz target run once on its seeds and kept crash inputs (ASan+UBSan build)
fuzz-replay:
	$(Q)$(MAKE) --no-print-directory VARIANT=asan fuzz-replay-run

fuzz-replay-run: $(FUZZ_REPLAY_BIN)
	@bash tests/fuzz/run.sh --replay $(B)/fuzz $(FUZZ_TARGETS)

# The recorder's lock-free protocols under ThreadSanitizer (tests/tsan/tsan_recorder.c): the
# recorder's real code and lib/'s packer in one program, writers and an online packer at once.
TSAN_BIN := build/tsan/tsan_recorder
TSAN_SRC := tests/tsan/tsan_recorder.c preload/recorder.c preload/options.c preload/stacks.c $(LIB_SRC)
$(TSAN_BIN): $(TSAN_SRC) $(wildcard lib/*.h preload/*.h)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  LD [tsan] $@")
	$(Q)$(CC) -std=gnu11 $(WARN) -g -O1 -D_GNU_SOURCE -fsanitize=thread -fno-builtin -fno-omit-frame-pointer \
	    -ftls-model=initial-exec -Wl,--wrap=mmap,--wrap=munmap -o $@ $(TSAN_SRC) $(LDLIBS_ALL)

## tsan: the recorder's chunk, tag and in-flight protocols with an online packer, under TSan
tsan: $(TSAN_BIN)
	@d=$$(mktemp -d /tmp/mallog-tsan.XXXXXX) && $(TSAN_BIN) $$d 100000 && rm -rf $$d

## fuzz-build: build the libFuzzer targets of tests/fuzz/ (clang) into build/fuzz/
fuzz-build: $(FUZZ_BIN)

## fuzz: run every fuzz target FUZZ_SECONDS (default 60) from tests/corpus/ seeds; prints
## executions, coverage and crashes per target (tests/fuzz/README.md)
fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## format: clang-format every C file
format:
	clang-format -i $$(git ls-files '*.c' '*.h')

## clean: remove build/
clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
