# `ttmem export` end to end (tests/export/check_export.py): HTTP, textfile,
# and a real Prometheus scraping both paths, checked against the emulator's
# ground truth.  Included by the top Makefile.

.PHONY: check-export
ifneq ($(SHM_LIB),)
CHECK_TARGETS += check-export

check-export: $(VIEWER_BIN)
	@echo "  TEST     export (HTTP, textfile, a real Prometheus)"
	$(Q)python3 tests/export/check_export.py $(BUILD)
else
check-export:
	@echo "  SKIP     export tests: the table core (shm/) has not landed yet"
endif
