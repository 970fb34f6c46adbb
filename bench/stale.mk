# bench/stale: what a stale segment (empty, all zeros) costs a tracked
# program, against creating the segment anew (`make bench-stale`):
# open_time times ttmem_table_open itself (the preload's way: a writer that
# may create), run.sh whole tracked runs of mesh_allocation.
.PHONY: bench-stale
BENCH_TARGETS += bench-stale
STALE_OPEN := $(BUILD)/bench/stale/open_time
ALL_TARGETS += $(STALE_OPEN)

$(STALE_OPEN): bench/stale/open_time.c $(SHM_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(SHM_LIB) $(LDLIBS_PTHREAD)

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
bench-stale: $(STALE_OPEN) $(PRELOAD_LIB) $(EX_BIN)/mesh_allocation
	$(Q)$(STALE_OPEN)
	$(Q)sh bench/stale/run.sh $(BUILD)
else
bench-stale: $(STALE_OPEN)
	$(Q)$(STALE_OPEN)
endif
