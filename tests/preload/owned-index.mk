# tests/preload/owned/: the preload's index of its own entries
# (preload/owned.c) linked directly with the table core, against full-table
# sweeps and tallies; built plain and with ASan+UBSan.

PO_DIR        := $(BUILD)/tests/preload/owned
PO_SRC        := tests/preload/owned/test_owned_index.c
PO_UNITS      := preload/owned.c preload/refset.c preload/spinlock.c preload/log.c
PO_BIN        := $(PO_DIR)/test_owned_index
PO_ASAN_BIN   := $(PO_DIR)/test_owned_index-asan
PO_ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The table core's ASan build (tests/shm/shm-tests.mk).
PO_ASAN_SHM   := $(BUILD)/shm-asan/libttmem_shm.a

.PHONY: check-owned-index
CHECK_TARGETS += check-owned-index

ifneq ($(SHM_LIB),)
ALL_TARGETS += $(PO_BIN)

$(PO_BIN): $(PO_SRC) $(PO_UNITS) $(SHM_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-conversion -Ipreload -o $@ $(PO_SRC) $(PO_UNITS) $(SHM_LIB) \
		-lcriterion $(LDLIBS_PTHREAD)

$(PO_ASAN_BIN): $(PO_SRC) $(PO_UNITS) $(PO_ASAN_SHM)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PO_ASAN_FLAGS) -Wno-conversion -Ipreload -o $@ $(PO_SRC) \
		$(PO_UNITS) $(PO_ASAN_SHM) -lcriterion $(LDLIBS_PTHREAD)

check-owned-index: $(PO_BIN) $(PO_ASAN_BIN)
	$(call msg,TEST,owned-index)
	$(Q)$(PO_BIN) --jobs 1 -S
	$(Q)$(PO_ASAN_BIN) --jobs 1 -S
else
check-owned-index:
	@echo "  SKIP     owned index tests: needs the table core (shm/)"
endif
