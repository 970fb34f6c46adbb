# bench/cycle.mk: what tracking adds to whole programs (bench/preload/cycle.sh):
# mesh open/allocate/close cycles tracked vs untracked, at two table
# capacities, and process start and exit under the preload vs without.

BC_DIR    := $(BUILD)/bench/preload
BC_TIMEIT := $(BC_DIR)/timeit
BC_IDLE   := $(BC_DIR)/idle

.PHONY: bench-cycle
BENCH_TARGETS += bench-cycle

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
ALL_TARGETS += $(BC_TIMEIT) $(BC_IDLE)

$(BC_TIMEIT): bench/preload/timeit.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

# Loads the emulated runtime and does nothing: the preload's start and exit.
$(BC_IDLE): bench/preload/idle.c $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iexamples/runtime -o $@ $< -L$(EX_DIR)/gcc -ltt_metal \
		-Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../../examples/gcc'

bench-cycle: $(PRELOAD_LIB) $(BC_TIMEIT) $(BC_IDLE) $(EX_BIN)/mesh_allocation
	$(Q)sh bench/preload/cycle.sh $(BUILD)
else
bench-cycle:
	@echo "  SKIP     cycle bench: needs the table core (shm/) and the emulator (examples/)"
endif
