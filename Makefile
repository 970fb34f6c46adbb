# ttmem top-level Makefile.
#
# Each part of the project keeps its rules in a fragment next to its code
# (shm/shm.mk, examples/examples.mk, preload/preload.mk, viewer/viewer.mk,
# tests/*/*.mk, bench/*.mk). A fragment adds its outputs to these lists:
#
#   ALL_TARGETS     built by `make`
#   CHECK_TARGETS   phony targets run in order by `make check`
#   BENCH_TARGETS   phony targets run by `make bench`
#   INSTALL_TARGETS phony targets run by `make install`
#
# Build output goes to $(BUILD) only.  V=1 shows full commands.

VERSION   := 0.1.0
BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man

CC        ?= cc
CXX       ?= g++
CLANG     ?= clang
CLANGXX   ?= clang++

WARN      := -Wall -Wextra -Werror -Wshadow -Wconversion
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -MMD -MP \
             -DTTMEM_VERSION='"$(VERSION)"' $(CFLAGS)
LDLIBS_PTHREAD := -pthread

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

ALL_TARGETS     :=
CHECK_TARGETS   :=
BENCH_TARGETS   :=
INSTALL_TARGETS :=

.PHONY: all check bench install demo deps clean
all:

# Fragments, in dependency order: the table first, then the emulator, the
# ABI room, the preload, the viewer, their tests and benchmarks.
include $(wildcard shm/shm.mk examples/examples.mk abi/abi.mk preload/preload.mk viewer/viewer.mk)
include $(sort $(wildcard tests/*/*.mk))
include $(sort $(wildcard bench/*.mk))

all: $(ALL_TARGETS)

# `make check` installs what is missing (as root) or says what to install.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory -k $(CHECK_TARGETS)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory $(BENCH_TARGETS)

install: all $(INSTALL_TARGETS)

# The main job: the seed scenario, tracked and viewed (see mk/demo.sh).  It
# builds only what the demo runs (the viewer, the preload, the G1 gcc
# emulator and its workload), in parallel: not the other six emulator
# flavours, the tests or the benchmarks.
DEMO_NEEDS := $(VIEWER_BIN) $(PRELOAD_LIB) $(EX_DIR)/gcc/libtt_metal.so $(EX_BIN)/mesh_allocation
DEMO_JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
demo: deps
	$(Q)$(MAKE) --no-print-directory -j$(DEMO_JOBS) $(DEMO_NEEDS)
	$(Q)BUILD=$(BUILD) bash mk/demo.sh

deps:
	$(Q)sh mk/deps.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
