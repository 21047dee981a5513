# synclab — one non-recursive Makefile.
#
#   make              build ./synclab
#   make check        unit tests (cmocka), command-line tests (bats), the
#                     ThreadSanitizer build of the primitives' tests and the
#                     models of the wake protocols (tests/model, python3)
#   make tsan|asan    sanitizer builds of synclab and the unit tests, in
#                     build-tsan/ and build-asan/
#   make install      PREFIX=/usr/local DESTDIR=
#   V=1               show full commands
#
# Sources are found by wildcard: a new file in a source directory needs no
# edit here.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SAN      ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(CI),true)
WARN     += -Werror
endif

# hwloc for placement; concurrencykit (ck) and liburcu for the peer baselines.
PKG_MODULES := hwloc ck liburcu-qsbr liburcu-memb liburcu-cds
PKG_CFLAGS := $(shell pkg-config --cflags $(PKG_MODULES) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKG_MODULES) 2>/dev/null || \
		echo -lhwloc -lck -lurcu-qsbr -lurcu-memb -lurcu-common -lurcu-cds)
# Debian's libpfm4-dev ships no .pc file; fall back to plain -lpfm.
PFM_LIBS   := $(shell pkg-config --libs libpfm 2>/dev/null || echo -lpfm)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

GIT_REV  := $(shell git rev-parse --short HEAD 2>/dev/null)
VERSION_STRING := $(VERSION)$(if $(GIT_REV),+$(GIT_REV))
COMPILER_STRING := $(CC) $(shell $(CC) -dumpfullversion 2>/dev/null) $(CFLAGS) $(SAN)
SL_CPPFLAGS := -I. -D_GNU_SOURCE
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SAN) $(PKG_CFLAGS) $(SL_CPPFLAGS) -pthread -MMD -MP
# libatomic: 16-byte atomics (stack-treiber's tagged top) are calls into it.
LDLIBS   := $(PKG_LIBS) $(PFM_LIBS) -latomic -lm -pthread

LIB_DIRS := util primitives workloads pinning counters reports lab
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CMD_SRCS := $(wildcard cmd/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libsynclab.a

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BIN      := $(if $(filter build,$(BUILD)),synclab,$(BUILD)/synclab)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: FORCE all check prim-check unit cli tsan asan tsan-check asan-check model install uninstall clean

all: $(BIN)

$(BIN): $(CMD_OBJS) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(LDLIBS)

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The version lives in one object, rebuilt when the string changes (a new
# commit, other flags), so every report of one binary names the same build.
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION_STRING) $(COMPILER_STRING)' | cmp -s - $@ || \
		echo '$(VERSION_STRING) $(COMPILER_STRING)' > $@
$(BUILD)/util/version.o: $(BUILD)/version.stamp
$(BUILD)/util/version.o: ALL_CFLAGS += -DSL_VERSION='"$(VERSION_STRING)"' \
	-DSL_COMPILER='"$(COMPILER_STRING)"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(CMOCKA_LIBS)

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

cli: $(BIN)
	bats tests/cli

# The concurrent code under ThreadSanitizer: the primitives' torture test and
# the runner's tests.  TSan must not see races in the harness.
tsan:
	$(MAKE) BUILD=build-tsan SAN="-fsanitize=thread" CFLAGS="-O1 -g" build-tsan/synclab $(UNIT_BINS:$(BUILD)/%=build-tsan/%)
tsan-check: tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/test_prims
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_run
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/test_spin
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/test_mutexes
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/test_sync
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/test_rw
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_rcu
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_queue
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_workqueue
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_plan
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_lab_window
	TSAN_OPTIONS="halt_on_error=1" build-tsan/tests/test_lab_measure

asan:
	$(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" CFLAGS="-O1 -g" build-asan/synclab $(UNIT_BINS:$(BUILD)/%=build-asan/%)
asan-check: asan
	@fail=0; for t in $(UNIT_BINS:$(BUILD)/%=build-asan/%); do \
		echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 $$t || fail=1; \
	done; exit $$fail

# Every primitive's invariant torture, in the normal and the TSan build.
prim-check: $(BIN) tsan
	./$(BIN) check --quiet --duration 300ms
	TSAN_OPTIONS="halt_on_error=1 report_thread_leaks=0" build-tsan/synclab check --quiet --duration 300ms

# Exhaustive models of the futex wake protocols (sem, condvar, the per-CPU
# rwlock's drain and bias, adaptive's release modes): every interleaving of a few
# threads, and mutants each must catch.
model:
	python3 -B tests/model/sem_wakes.py
	python3 -B tests/model/cond_wakes.py
	python3 -B tests/model/rw_percpu.py
	python3 -B tests/model/rw_biased.py
	python3 -B tests/model/adaptive_release.py

check: all unit cli prim-check tsan-check asan-check model

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/synclab
	install -m 644 man/synclab.1 $(DESTDIR)$(PREFIX)/share/man/man1/synclab.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/synclab $(DESTDIR)$(PREFIX)/share/man/man1/synclab.1

clean:
	rm -rf build build-tsan build-asan synclab

FORCE:

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d)
