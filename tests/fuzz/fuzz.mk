# The segment-reader fuzzer (issue 5, part 7).  Included by the top Makefile.
#
# libFuzzer + ASan + UBSan (clang), over the table core's reader and the
# viewer's aggregation (model.c, leaks.c) and renderings.  `make check` runs it for FUZZ_SECONDS from the
# committed corpus (tests/fuzz/corpus, read-only) and writes new finds to
# $(BUILD)/fuzz/corpus; `make fuzz-merge` keeps the new ones in tests/.

FUZZ_SECONDS ?= 40
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_segment
FUZZ_SEEDGEN := $(BUILD)/fuzz/mkcorpus
FUZZ_VIEWER  := viewer/model.c viewer/format_json.c viewer/format_prom.c \
                viewer/format_text.c viewer/names.c viewer/units.c viewer/capacity.c \
                viewer/leaks.c viewer/symbolize.c viewer/sanitize.c viewer/format_csv.c
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Iinclude -Iviewer -g -O1 \
                -DTTMEM_VERSION='"$(VERSION)"' \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_ARGS    := -max_len=131072 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1

ifneq ($(SHM_LIB),)
CHECK_TARGETS += check-fuzz

$(FUZZ_BIN): tests/fuzz/fuzz_segment.c $(FUZZ_VIEWER) $(SHM_SRCS) $(wildcard shm/*.h viewer/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_segment.c $(FUZZ_VIEWER) $(SHM_SRCS) \
		-lelf -ldl $(LDLIBS_PTHREAD)

$(FUZZ_SEEDGEN): tests/fuzz/mkcorpus.c $(SHM_LIB)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(SHM_LIB) $(LDLIBS_PTHREAD)

.PHONY: check-fuzz fuzz-seeds fuzz-merge
check-fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	@echo "  FUZZ     segment reader + viewer model for $(FUZZ_SECONDS) s"
	$(Q)$(FUZZ_BIN) $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus tests/fuzz/corpus \
		> $(BUILD)/fuzz/fuzz.log 2>&1 || \
		{ tail -60 $(BUILD)/fuzz/fuzz.log; echo "check-fuzz: FAILED (log: $(BUILD)/fuzz/fuzz.log)"; exit 1; }
	@grep -a -E '^stat::number_of_executed_units|^Done' $(BUILD)/fuzz/fuzz.log | sed 's/^/  FUZZ     /'

fuzz-seeds: $(FUZZ_SEEDGEN)
	$(FUZZ_SEEDGEN) tests/fuzz/corpus

fuzz-merge: $(FUZZ_BIN)
	$(FUZZ_BIN) -merge=1 $(FUZZ_ARGS) tests/fuzz/corpus $(BUILD)/fuzz/corpus
endif
