# tests/preload/buffer_keys/: the preload's record of each live Buffer
# (preload/buffer_keys.c) against a model; built plain and with ASan+UBSan.

PB_DIR        := $(BUILD)/tests/preload/buffer_keys
PB_SRC        := tests/preload/buffer_keys/test_buffer_keys.c
PB_UNITS      := preload/buffer_keys.c preload/spinlock.c preload/log.c
PB_BIN        := $(PB_DIR)/test_buffer_keys
PB_ASAN_BIN   := $(PB_DIR)/test_buffer_keys-asan
PB_ASAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: check-buffer-keys
CHECK_TARGETS += check-buffer-keys
ALL_TARGETS += $(PB_BIN)

$(PB_BIN): $(PB_SRC) $(PB_UNITS)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -Wno-conversion -Ipreload -Iabi -o $@ $(PB_SRC) $(PB_UNITS) \
		-lcriterion $(LDLIBS_PTHREAD)

$(PB_ASAN_BIN): $(PB_SRC) $(PB_UNITS)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PB_ASAN_FLAGS) -Wno-conversion -Ipreload -Iabi -o $@ $(PB_SRC) \
		$(PB_UNITS) -lcriterion $(LDLIBS_PTHREAD)

check-buffer-keys: $(PB_BIN) $(PB_ASAN_BIN)
	$(call msg,TEST,buffer-keys)
	$(Q)$(PB_BIN) --jobs 1 -S
	$(Q)$(PB_ASAN_BIN) --jobs 1 -S
