# bench/preload: the preload's cost per tracked event on the churn workload
# (issue 4, part 9), against no tracking and against the seed's socket
# design (bench/preload/sockserver.c + sockclient.c).

BP_DIR    := $(BUILD)/bench/preload
BP_SERVER := $(BP_DIR)/sockserver
BP_CLIENT := $(BP_DIR)/libsockclient.so
BP_LAUNCH := $(BP_DIR)/launch

.PHONY: bench-preload
BENCH_TARGETS += bench-preload

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
ALL_TARGETS += $(BP_SERVER) $(BP_CLIENT) $(BP_LAUNCH)

# Program launches on an 8-chip mesh (circular buffers), C API of the emulator.
$(BP_LAUNCH): bench/preload/launch.c $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iexamples/runtime -o $@ $< -L$(EX_DIR)/gcc -ltt_metal \
		-Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../../examples/gcc'

$(BP_SERVER): bench/preload/sockserver.c bench/preload/sockproto.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

# Reads buffers through the same ABI room as libttmem.so.
$(BP_CLIENT): bench/preload/sockclient.c bench/preload/sockproto.h \
		$(ABI_PRELOAD_OBJS) $(BUILD)/preload/log.o $(BUILD)/preload/abi_log.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iabi -fPIC -fvisibility=hidden -flto -shared -o $@ $< \
		$(ABI_PRELOAD_OBJS) $(BUILD)/preload/log.o $(BUILD)/preload/abi_log.o -ldl $(LDLIBS_PTHREAD)

bench-preload: $(PRELOAD_LIB) $(BP_SERVER) $(BP_CLIENT) $(BP_LAUNCH) $(EX_BIN)/churn \
		$(EX_DIR)/2026/gcc/libtt_metal.so
	$(Q)sh bench/preload/run.sh $(BUILD)
else
bench-preload:
	@echo "  SKIP     preload bench: needs the table core (shm/) and the emulator (examples/)"
endif
