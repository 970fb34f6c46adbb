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

$(PT_DIR)/%.o: tests/preload/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-conversion -DBUILD_DIR='"$(BUILD)"' -c -o $@ $<

$(PT_BIN): $(PT_OBJS) $(SHM_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ -lcriterion $(LDLIBS_PTHREAD)

check-preload: $(PT_BIN) $(PRELOAD_LIB)
	$(call msg,TEST,preload)
	$(Q)$(PT_BIN) --jobs 2 $(if $(V),--verbose,)
else
check-preload:
	@echo "  SKIP     preload tests: needs the table core (shm/) and the emulator (examples/), not landed yet"
endif
