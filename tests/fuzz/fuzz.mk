# The segment-reader fuzzer.  Included by the top Makefile.
#
# libFuzzer + ASan + UBSan (clang), one target per command that reads a
# segment (fuzz_segment.c: show in each format, which is also export's
# Prometheus rendering, leaks, top's screen, reap on a copy).  `make check`
# runs each for FUZZ_SECONDS from the committed corpus (tests/fuzz/corpus,
# read-only) and writes new finds to $(BUILD)/fuzz/corpus; `make fuzz-merge`
# keeps the new ones in tests/.  Then live_mutate: writers, a mutator
# (random bytes, truncation and regrowth) and the viewer's readers on one
# live segment, for LIVE_MUTATE_SECONDS, under ASan + UBSan.  And fuzz_diff:
# arbitrary bytes as the file `ttmem diff` reads (seeds tests/fuzz/corpus-diff),
# for FUZZ_SECONDS.

FUZZ_TARGETS ?= show-text show-json show-prom leaks top reap
FUZZ_SECONDS ?= 7
LIVE_MUTATE_SECONDS ?= 6
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_segment
FUZZ_SEEDGEN := $(BUILD)/fuzz/mkcorpus
FUZZ_VIEWER  := viewer/model.c viewer/peaks.c viewer/format_json.c viewer/format_prom.c \
                viewer/format_text.c viewer/names.c viewer/units.c viewer/capacity.c \
                viewer/leaks.c viewer/leaks_print.c viewer/leaks_order.c viewer/livebuf.c viewer/bankmap.c \
                viewer/symbolize.c viewer/file_access.c viewer/top_draw.c \
                viewer/sanitize.c viewer/format_csv.c viewer/textfit.c
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Iinclude -Iviewer -g -O1 \
                -DTTMEM_VERSION='"$(VERSION)"' \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_ARGS    := -max_len=131072 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_CURSES  := $(shell pkg-config --libs ncurses 2>/dev/null || echo -lncurses)
LIVE_BIN     := $(BUILD)/fuzz/live_mutate
DIFF_FUZZ_BIN := $(BUILD)/fuzz/fuzz_diff
# The diff's reader and renderings, plus the viewer's (what format_json and
# the model they share reach: peaks, frames, symbols).
DIFF_FUZZ_SRCS := viewer/json_read.c viewer/diff_load.c viewer/diff_load_record.c viewer/diff_leaks.c viewer/diff_record.c \
                  viewer/diff_text.c $(FUZZ_VIEWER)
LIVE_CFLAGS  := -std=c11 -D_GNU_SOURCE -Iinclude -Iviewer -g -O1 \
                -DTTMEM_VERSION='"$(VERSION)"' \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer

ifneq ($(SHM_LIB),)
CHECK_TARGETS += check-fuzz

$(FUZZ_BIN): tests/fuzz/fuzz_segment.c $(FUZZ_VIEWER) $(SHM_SRCS) $(wildcard shm/*.h viewer/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_segment.c $(FUZZ_VIEWER) $(SHM_SRCS) \
		-ldw -lelf -ldl $(FUZZ_CURSES) $(LDLIBS_PTHREAD)

$(LIVE_BIN): tests/fuzz/live_mutate.c $(FUZZ_VIEWER) $(SHM_SRCS) $(wildcard shm/*.h viewer/*.h)
	@mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CLANG) $(LIVE_CFLAGS) -o $@ tests/fuzz/live_mutate.c $(FUZZ_VIEWER) $(SHM_SRCS) \
		-ldw -lelf -ldl $(FUZZ_CURSES) $(LDLIBS_PTHREAD)

$(DIFF_FUZZ_BIN): tests/fuzz/fuzz_diff.c $(DIFF_FUZZ_SRCS) $(SHM_SRCS) $(wildcard shm/*.h viewer/*.h)
	@mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_diff.c $(DIFF_FUZZ_SRCS) $(SHM_SRCS) \
		-ldw -lelf -ldl $(FUZZ_CURSES) $(LDLIBS_PTHREAD)

$(FUZZ_SEEDGEN): tests/fuzz/mkcorpus.c $(SHM_LIB)
	@mkdir -p $(@D)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(SHM_LIB) $(LDLIBS_PTHREAD)

.PHONY: check-fuzz fuzz-seeds fuzz-merge
check-fuzz: $(FUZZ_BIN) $(LIVE_BIN) $(DIFF_FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	$(Q)for tg in $(FUZZ_TARGETS); do \
		echo "  FUZZ     $$tg for $(FUZZ_SECONDS) s"; \
		TTMEM_FUZZ_TARGET=$$tg $(FUZZ_BIN) $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(BUILD)/fuzz/$$tg- $(BUILD)/fuzz/corpus tests/fuzz/corpus \
			> $(BUILD)/fuzz/fuzz-$$tg.log 2>&1 || \
		{ tail -60 $(BUILD)/fuzz/fuzz-$$tg.log; \
		  echo "check-fuzz: $$tg FAILED (log: $(BUILD)/fuzz/fuzz-$$tg.log)"; exit 1; }; \
		grep -a -E '^stat::number_of_executed_units' $(BUILD)/fuzz/fuzz-$$tg.log | sed 's/^/  FUZZ     /'; \
	done
	@mkdir -p $(BUILD)/fuzz/corpus-diff
	@echo "  FUZZ     diff for $(FUZZ_SECONDS) s"
	$(Q)$(DIFF_FUZZ_BIN) $(FUZZ_ARGS) -max_total_time=$(FUZZ_SECONDS) \
		-artifact_prefix=$(BUILD)/fuzz/diff- $(BUILD)/fuzz/corpus-diff tests/fuzz/corpus-diff \
		> $(BUILD)/fuzz/fuzz-diff.log 2>&1 || \
		{ tail -60 $(BUILD)/fuzz/fuzz-diff.log; \
		  echo "check-fuzz: diff FAILED (log: $(BUILD)/fuzz/fuzz-diff.log)"; exit 1; }
	@grep -a -E '^stat::number_of_executed_units' $(BUILD)/fuzz/fuzz-diff.log | sed 's/^/  FUZZ     /'
	@echo "  TEST     live segment mutated under writers and readers for $(LIVE_MUTATE_SECONDS) s"
	$(Q)ASAN_OPTIONS=detect_leaks=1 $(LIVE_BIN) $(LIVE_MUTATE_SECONDS)

fuzz-seeds: $(FUZZ_SEEDGEN)
	$(FUZZ_SEEDGEN) tests/fuzz/corpus

fuzz-merge: $(FUZZ_BIN)
	$(FUZZ_BIN) -merge=1 $(FUZZ_ARGS) tests/fuzz/corpus $(BUILD)/fuzz/corpus
endif
