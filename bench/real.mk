# bench/real: an allocate/free pair on the real runtime (ttnn 0.81.1's
# libtt_metal.so on its mock device), untracked, under ttmem and under the
# runtime's own shared-memory tracker, side by side in one run
# (`make bench-real`).  Program launches are not measured: the mock device
# compiles kernels with the sfpi compiler, which the wheel does not ship.
.PHONY: bench-real
BENCH_TARGETS += bench-real

bench-real: $(PRELOAD_LIB) $(BUILD)/ttmem
	$(Q)BUILD=$(BUILD) CXX=$(CXX) sh bench/real/run.sh
