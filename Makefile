# xds-lua build.  Sources are found by wildcard: a new file in a layer's
# folder joins the build without touching this file.
#   make            build/xds-lua and build/xds-sim
#   make check      install missing packages, build, run every test (prove)
#   make demo       install missing packages, build, show the main job
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
B       ?= build

PKGS     := lua5.4 readline jansson libbpf liblzma zlib libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
XEN_OK   := $(shell pkg-config --exists xencontrol xenforeignmemory xenstore xencall 2>/dev/null && echo 1)
ifeq ($(XEN_OK),1)
PKG_CFLAGS += $(shell pkg-config --cflags xencontrol xenforeignmemory xenstore xencall) -DXDS_HAVE_XEN=1
PKG_LIBS   += $(shell pkg-config --libs xencontrol xenforeignmemory xenstore xencall)
endif

CFLAGS  ?= -O2 -g
XCFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -Iruntime \
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

$(B)/tests/%: tests/unit/%.c $(B)/libxds.a $(B)/sim-lib.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -Isim -o $@ $< $(B)/sim-lib.a $(B)/libxds.a $(LIBS)

# A fuzz target is also a TAP test: XDS_FUZZ_STANDALONE gives it a main()
# that runs thousands of seeded random inputs (tests/fuzz.t runs libFuzzer).
$(B)/tests/fuzz_%: tests/fuzz/fuzz_%.c $(B)/libxds.a $(B)/sim-lib.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -Isim -DXDS_FUZZ_STANDALONE -o $@ $< $(B)/sim-lib.a $(B)/libxds.a $(LIBS)

# Tests may link the simulator's kernel (everything but its main).
$(B)/sim-lib.a: $(filter-out $(B)/obj/sim/main.o,$(SIM_OBJ))
	@rm -f $@
	ar rcs $@ $^

tests: $(UNIT_BIN)

$(B)/bench/%: bench/%.c $(B)/libxds.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -o $@ $< $(B)/libxds.a $(LIBS)

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

demo: deps all
	scripts/demo

bench: all
	@for b in bench/*.sh; do echo "== $$b"; $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/xds-lua/policies/lib $(DESTDIR)$(PREFIX)/share/xds-lua/scenarios
	install -m 755 $(B)/xds-lua $(B)/xds-sim $(DESTDIR)$(PREFIX)/bin/
	install -m 644 policies/*.lua $(DESTDIR)$(PREFIX)/share/xds-lua/policies/
	install -m 644 policies/lib/*.lua $(DESTDIR)$(PREFIX)/share/xds-lua/policies/lib/
	install -m 644 sim/scenarios/*.lua $(DESTDIR)$(PREFIX)/share/xds-lua/scenarios/

clean:
	rm -rf build

.PHONY: all tests deps check demo bench install clean
