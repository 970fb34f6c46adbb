# tests/preload/: Criterion tests of libttmem.so against the emulated
# runtime's ground truth (issue 4, part 7).  They run real workloads under
# LD_PRELOAD, each test on a segment of its own (/ttmem-test-PID-N).

PT_DIR  := $(BUILD)/tests/preload
PT_BIN  := $(PT_DIR)/test_preload
PT_SRCS := $(wildcard tests/preload/*.c)
PT_OBJS := $(patsubst tests/preload/%.c,$(PT_DIR)/%.o,$(PT_SRCS))

.PHONY: check-preload
CHECK_TARGETS += check-preload

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
ALL_TARGETS += $(PT_BIN)

# Two more link flavours of the emulated runtime, from its own sources:
# -z now (every PLT slot bound at load) and -fno-plt -z now (calls through
# GOT entries, GLOB_DAT relocations instead of JUMP_SLOT).
PT_FLAVOURS := $(PT_DIR)/flavours/znow/libtt_metal.so $(PT_DIR)/flavours/noplt/libtt_metal.so
PT_NOPLT_OBJS := $(patsubst examples/runtime/%.cpp,$(PT_DIR)/flavours/noplt/obj/%.o,$(EX_RT_SRCS))

$(PT_DIR)/flavours/znow/libtt_metal.so: $(EX_GCC_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -shared $(EX_SONAME) -Wl,-z,now -pthread -o $@ $^

$(PT_DIR)/flavours/noplt/obj/%.o: examples/runtime/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(EX_CXXFLAGS) -fno-plt -c -o $@ $<

$(PT_DIR)/flavours/noplt/libtt_metal.so: $(PT_NOPLT_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CXX) -shared $(EX_SONAME) -Wl,-z,now -pthread -o $@ $^

# GraphTracker::hook_allocate not exported: capture filtering by address 0.
$(PT_DIR)/flavours/nohook/libtt_metal.so: $(EX_GCC_OBJS) tests/preload/nohook.map
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -shared $(EX_SONAME) -Wl,--version-script=tests/preload/nohook.map -pthread -o $@ $(EX_GCC_OBJS)

PT_FLAVOURS += $(PT_DIR)/flavours/nohook/libtt_metal.so

ALL_TARGETS += $(PT_FLAVOURS)

# Every generation's builds linked again with -Bsymbolic-functions (a link
# flag: the same objects), for the symbolic warning on each:
# $(PT_DIR)/symbolic/<folder under examples>/libtt_metal.so.
PT_SYM_BUILDS := gcc clang 2025b/gcc 2025b/clang 2026/gcc 2026/clang
PT_SYMBOLIC   := $(foreach b,$(PT_SYM_BUILDS),$(PT_DIR)/symbolic/$(b)/libtt_metal.so)

define pt_symbolic
$(PT_DIR)/symbolic/$(1)/libtt_metal.so: $$(patsubst examples/runtime/%.cpp,$(EX_DIR)/$(1)/obj/%.o,$$(EX_RT_SRCS))
	$$(call msg,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CXX) -shared $$(EX_SONAME) -Wl,-Bsymbolic-functions -pthread -o $$@ $$^
endef
$(foreach b,$(PT_SYM_BUILDS),$(eval $(call pt_symbolic,$(b))))

ALL_TARGETS += $(PT_SYMBOLIC)

# A stand-in runtime with another Buffer layout (the ABI-mismatch path).
PT_FAKE := $(PT_DIR)/fake/libtt_metal.so $(PT_DIR)/fake/fake_main

$(PT_DIR)/fake/libtt_metal.so: tests/preload/fake/libtt_metal.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -o $@ $<

$(PT_DIR)/fake/fake_main: tests/preload/fake/main.cpp $(PT_DIR)/fake/libtt_metal.so
	$(call msg,CXX,$@)
	$(Q)$(CXX) -std=c++17 -O2 -Wall -Wextra -Werror -o $@ $< -L$(PT_DIR)/fake -ltt_metal \
		-Wl,--enable-new-dtags,-rpath,'$$ORIGIN'

# The same without the marks of any known generation.
$(PT_DIR)/fake-unknown/libtt_metal.so: tests/preload/fake/libtt_metal.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -DFAKE_UNKNOWN -o $@ $<

PT_FAKE += $(PT_DIR)/fake-unknown/libtt_metal.so

# Not a runtime: exports Buffer getters of another layout under the
# runtime's names (preloaded next to libttmem.so, never to be called).
$(PT_DIR)/fake/libforeign.so: tests/preload/fake/foreign.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $<

# A runtime of no known generation whose exported Buffer::device() answers
# a pointer that is not a device (the BufferImpl): never called through.
$(PT_DIR)/fake-baddev/libtt_metal.so: tests/preload/fake/libtt_metal.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -fPIC -shared -Wall -Wextra -Werror -DFAKE_UNKNOWN \
		-DFAKE_BAD_DEVICE -o $@ $<

PT_FAKE += $(PT_DIR)/fake/libforeign.so $(PT_DIR)/fake-baddev/libtt_metal.so

ALL_TARGETS += $(PT_FAKE)

# A workload linked with the preload's objects instead of preloading them,
# so that it can read the table core's per-thread debug figures.
PT_INPROC := $(PT_DIR)/inproc/cb_launch

$(PT_DIR)/inproc/cb_launch.o: tests/preload/inproc/cb_launch.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iexamples/runtime -c -o $@ $<

$(PT_INPROC): $(PT_DIR)/inproc/cb_launch.o $(PRELOAD_OBJS) $(SHM_LIB) $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,LD,$@)
	$(Q)$(CC) -flto -flto-partition=one -O2 -o $@ $(PT_DIR)/inproc/cb_launch.o $(PRELOAD_OBJS) $(SHM_LIB) \
		-L$(EX_DIR)/gcc -ltt_metal -Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../../../examples/gcc' \
		$(PRELOAD_LDLIBS)

$(PT_DIR)/inproc/attach_fork.o: tests/preload/inproc/attach_fork.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Ipreload -Iabi -c -o $@ $<

$(PT_DIR)/inproc/attach_fork: $(PT_DIR)/inproc/attach_fork.o $(PRELOAD_OBJS) $(SHM_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) -flto -flto-partition=one -O2 -o $@ $< $(PRELOAD_OBJS) $(SHM_LIB) $(PRELOAD_LDLIBS)

PT_INPROC += $(PT_DIR)/inproc/attach_fork

$(PT_DIR)/inproc/create_fork.o: tests/preload/inproc/create_fork.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Ipreload -Iabi -c -o $@ $<

$(PT_DIR)/inproc/create_fork: $(PT_DIR)/inproc/create_fork.o $(PRELOAD_OBJS) $(SHM_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) -flto -flto-partition=one -O2 -o $@ $< $(PRELOAD_OBJS) $(SHM_LIB) $(PRELOAD_LDLIBS)

PT_INPROC += $(PT_DIR)/inproc/create_fork

ALL_TARGETS += $(PT_INPROC)

$(PT_DIR)/%.o: tests/preload/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-conversion -DBUILD_DIR='"$(BUILD)"' -c -o $@ $<

$(PT_BIN): $(PT_OBJS) $(SHM_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ -lcriterion $(LDLIBS_PTHREAD)

check-preload: $(PT_BIN) $(PRELOAD_LIB) $(PT_FLAVOURS) $(PT_SYMBOLIC) $(PT_FAKE) $(PT_INPROC)
	$(call msg,TEST,preload)
	$(Q)$(PT_BIN) --jobs 2 $(if $(V),--verbose,)

# The heap over-read check: libttmem.so built with ASan+UBSan, preloaded
# after the ASan runtime, runs the generation suite on the 2026 builds,
# whose Buffer is a 24-byte heap object: a read of a 2025 field offset
# (16..88) past it lands in ASan's redzone and fails the workload.
PT_ASAN_DIR   := $(PT_DIR)/asan
PT_ASAN_LIB   := $(PT_ASAN_DIR)/libttmem.so
PT_ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
PT_ASAN_OBJS  := $(patsubst %.c,$(PT_ASAN_DIR)/obj/%.o,$(PRELOAD_SRCS) $(ABI_TABLE_SRCS) \
                   $(ABI_READER_SRCS) $(SHM_SRCS))
PT_ASAN_RT    := $(shell $(CC) -print-file-name=libasan.so)

$(PT_ASAN_DIR)/obj/preload/hooks.o: PT_ASAN_EXTRA := -fexceptions
$(PT_ASAN_DIR)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
		-fno-strict-aliasing -Iabi -Ipreload $(PT_ASAN_FLAGS) $(PT_ASAN_EXTRA) -c -o $@ $<

$(PT_ASAN_LIB): $(PT_ASAN_OBJS) preload/libttmem.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -fsanitize=address,undefined -o $@ $(PT_ASAN_OBJS) \
		-Wl,--version-script=preload/libttmem.map $(PRELOAD_LDLIBS)

ALL_TARGETS += $(PT_ASAN_LIB)
CHECK_TARGETS += check-preload-asan
.PHONY: check-preload-asan
PT_ASAN_SUITES := @(p03_seed|p04_symbolic|p05_leak|p06_lifecycle|p07_python|p08_fork|p08_kill|p09_threads|p13_bulk|p16_churn|p_bank)/*
check-preload-asan: $(PT_BIN) $(PT_ASAN_LIB) $(PT_SYMBOLIC) $(PT_INPROC)
	$(call msg,TEST,preload-asan-2026)
	$(Q)ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		TTMEM_TEST_BUILDS="examples/2026/gcc examples/2026/clang" \
		TTMEM_TEST_PRELOAD="$(PT_ASAN_RT) $(abspath $(PT_ASAN_LIB))" \
		$(PT_BIN) --jobs 2 --filter '$(PT_ASAN_SUITES)' $(if $(V),--verbose,)
else
check-preload:
	@echo "  SKIP     preload tests: needs the table core (shm/) and the emulator (examples/), not landed yet"
endif
