# tests/abi/: the generation table (abi/select.c, abi/gen_*.c) on sets of
# exports, without any library: which generation each set is, and what the
# getter-only reading misses.

AT_DIR := $(BUILD)/tests/abi
AT_BIN := $(AT_DIR)/test_abi

$(AT_DIR)/%.o: tests/abi/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iabi -c -o $@ $<

$(AT_BIN): $(AT_DIR)/test_select.o $(ABI_VIEWER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ -lcriterion

ALL_TARGETS += $(AT_BIN)
CHECK_TARGETS += check-abi
.PHONY: check-abi
check-abi: $(AT_BIN)
	$(call msg,TEST,abi)
	$(Q)$(AT_BIN) --jobs 2 $(if $(V),--verbose,)
