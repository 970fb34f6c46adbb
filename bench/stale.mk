# bench/stale: how long a stale segment (empty, all zeros) holds a tracked
# program, against creating the segment anew (`make bench-stale`).
.PHONY: bench-stale
BENCH_TARGETS += bench-stale

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
bench-stale: $(PRELOAD_LIB) $(EX_BIN)/mesh_allocation
	$(Q)sh bench/stale/run.sh $(BUILD)
else
bench-stale:
	@echo "  SKIP     stale-segment bench: needs the preload and the emulator"
endif
