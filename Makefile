# xds-lua build.  Sources are found by wildcard: a new file in a layer's
# folder joins the build without touching this file.
#   make            build/xds-lua and build/xds-sim
#   make check      install missing packages, build, run every test (prove)
#   make demo       install missing packages, build, show the main job
#   make install    PREFIX=/usr/local DESTDIR=   (make uninstall undoes it)
#
# pkg-config runs when make reads this file, so `demo` and `check` run
# scripts/install-deps first and build in a make of their own, which reads
# the file again once the packages are there (with or without -j).

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
B       ?= build

VERSION := 0.1
PKGS     := lua5.4 readline jansson libbpf liblzma zlib libzstd liblz4
PKG_OK   := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo 1)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Goals that compile need the packages: say so rather than fail on a header.
NOBUILD_GOALS := deps demo check clean uninstall
ifneq ($(PKG_OK),1)
ifneq ($(filter-out $(NOBUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
$(error pkg-config finds no $(PKGS): run `make deps` (scripts/install-deps) first, or `make demo`/`make check`)
endif
endif
XEN_OK   := $(shell pkg-config --exists xencontrol xenforeignmemory xenstore xencall 2>/dev/null && echo 1)
ifeq ($(XEN_OK),1)
PKG_CFLAGS += $(shell pkg-config --cflags xencontrol xenforeignmemory xenstore xencall) -DXDS_HAVE_XEN=1
PKG_LIBS   += $(shell pkg-config --libs xencontrol xenforeignmemory xenstore xencall)
endif

CFLAGS  ?= -O2 -g
XCFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -Iruntime -I$(B)/gen \
           -I/usr/include/libdwarf $(PKG_CFLAGS)
LIBS    := $(PKG_LIBS) -ldwarf -lelf -lz -lm

RUNTIME_SRC := $(sort $(wildcard runtime/*/*.c lua/*.c repl/*.c))
CLI_SRC     := $(sort $(wildcard cli/*.c))
SIM_SRC     := $(sort $(wildcard sim/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC    := $(sort $(wildcard tests/fuzz/fuzz_*.c))

RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(B)/obj/%.o)
SIM_OBJ     := $(SIM_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%) $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/%)

all: $(B)/xds-lua $(B)/xds-sim

# The version and the commit it was built from (git describe; "unknown" from
# a tarball).  Rewritten only when it changes, so that it rebuilds only what
# includes it.
$(B)/gen/version.h: FORCE
	@mkdir -p $(dir $@)
	@c=$$(git describe --always --dirty 2>/dev/null || echo unknown); \
	printf '#define XDS_RELEASE "%s"\n#define XDS_COMMIT "%s"\n' '$(VERSION)' "$$c" >$@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/obj/cli/main.o $(B)/obj/sim/main.o: $(B)/gen/version.h

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libxds.a: $(RUNTIME_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/xds-lua: $(CLI_SRC:%.c=$(B)/obj/%.o) $(B)/libxds.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The simulator's guest kernel is compiled with -g: its DWARF is the
# profile the runtime reads, exactly as it reads a vmlinux.
$(B)/xds-sim: $(SIM_OBJ) $(B)/libxds.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# Linked in one step, a test or a benchmark keeps its dependencies in
# $(B)/obj (prove runs everything in $(B)/tests).
DEPF = $(B)/obj/$(patsubst $(B)/%,%,$@).d

$(B)/tests/%: tests/unit/%.c $(B)/libxds.a $(B)/sim-lib.a
	@mkdir -p $(dir $@) $(dir $(DEPF))
	$(CC) $(XCFLAGS) $(CFLAGS) -Isim -MMD -MP -MF $(DEPF) -MT $@ -o $@ $< $(B)/sim-lib.a $(B)/libxds.a $(LIBS)

# A fuzz target is also a TAP test: XDS_FUZZ_STANDALONE gives it a main()
# that runs thousands of seeded random inputs (tests/fuzz.t runs libFuzzer).
$(B)/tests/fuzz_%: tests/fuzz/fuzz_%.c $(B)/libxds.a $(B)/sim-lib.a
	@mkdir -p $(dir $@) $(dir $(DEPF))
	$(CC) $(XCFLAGS) $(CFLAGS) -Isim -DXDS_FUZZ_STANDALONE -MMD -MP -MF $(DEPF) -MT $@ -o $@ $< $(B)/sim-lib.a $(B)/libxds.a $(LIBS)

# Tests may link the simulator's kernel (everything but its main).
$(B)/sim-lib.a: $(filter-out $(B)/obj/sim/main.o,$(SIM_OBJ))
	@rm -f $@
	ar rcs $@ $^

tests: $(UNIT_BIN)

$(B)/bench/%: bench/%.c $(B)/libxds.a
	@mkdir -p $(dir $@) $(dir $(DEPF))
	$(CC) $(XCFLAGS) $(CFLAGS) -MMD -MP -MF $(DEPF) -MT $@ -o $@ $< $(B)/libxds.a $(LIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

deps:
	scripts/install-deps

# Every test emits TAP; prove runs the unit binaries and the shell tests.
# The hostile-memory tests run again under ASan and UBSan (build/asan).
check: deps
	$(MAKE) all tests
	$(MAKE) B=build/asan CC=clang CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' all tests
	XDS_BUILD=$(B) prove -f --exec '' $(UNIT_BIN) $(sort $(wildcard tests/*.t))
	XDS_BUILD=build/asan XDS_STRESS_OPS=20000 ASAN_OPTIONS=detect_leaks=1 prove -f --exec '' $(UNIT_BIN:$(B)/%=build/asan/%)

demo: deps
	$(MAKE) all
	scripts/demo

bench: all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

include packaging/install.mk

clean:
	rm -rf build

.PHONY: all tests deps check demo bench install uninstall clean FORCE
FORCE:
