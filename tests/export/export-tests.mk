# `ttmem export` end to end (tests/export/check_export.py): HTTP, textfile,
# and a real Prometheus scraping both paths, checked against the emulator's
# ground truth.  Included by the top Makefile.

.PHONY: check-export
ifneq ($(SHM_LIB),)
CHECK_TARGETS += check-export

check-export: $(VIEWER_BIN)
	@echo "  TEST     export (HTTP, textfile, a real Prometheus)"
	$(Q)python3 tests/export/check_export.py $(BUILD)

# Sixteen silent or trickling clients on the port while a scraper scrapes
# (tests/export/starve.c): every scrape answered, each within 1 s.  The
# same run gives `make bench` the slowest scrape (bench-export).
EXPORT_STARVE := $(BUILD)/tests/export/starve
ALL_TARGETS += $(EXPORT_STARVE)

$(EXPORT_STARVE): tests/export/starve.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $<

.PHONY: check-export-starve bench-export
CHECK_TARGETS += check-export-starve
BENCH_TARGETS += bench-export
check-export-starve: $(VIEWER_BIN) $(EXPORT_STARVE) $(PRELOAD_LIB) $(EX_BIN)/leak
	@echo "  TEST     export under 16 slow clients"
	$(Q)sh tests/export/starve.sh $(BUILD) 1000

bench-export: $(VIEWER_BIN) $(EXPORT_STARVE) $(PRELOAD_LIB) $(EX_BIN)/leak
	$(Q)sh tests/export/starve.sh $(BUILD)
else
check-export:
	@echo "  SKIP     export tests: the table core (shm/) has not landed yet"
endif
