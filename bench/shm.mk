# bench/shm: figures of the table core (bench/shm/bench.c), `make bench-shm`.
SHM_BENCH      := $(BUILD)/bench/shm/bench-shm
ALL_TARGETS    += $(SHM_BENCH)
BENCH_TARGETS  += bench-shm
.PHONY: bench-shm

$(SHM_BENCH): bench/shm/bench.c $(SHM_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(SHM_LIB) $(LDLIBS_PTHREAD)

bench-shm: $(SHM_BENCH)
	$(Q)$(SHM_BENCH)
	$(Q)sh bench/shm/callgrind.sh $(SHM_BENCH)
