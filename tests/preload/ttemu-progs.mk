# tests/preload/progs/: small C programs on the emulator's C API
# (examples/runtime/ttemu.h), run by the preload tests under LD_PRELOAD.

PT_PROGS := $(patsubst tests/preload/progs/%.c,$(BUILD)/tests/preload/progs/%,$(wildcard tests/preload/progs/*.c))

ifneq ($(and $(SHM_LIB),$(EX_BIN)),)
$(BUILD)/tests/preload/progs/%: tests/preload/progs/%.c $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Iexamples/runtime -o $@ $< \
		-L$(EX_DIR)/gcc -ltt_metal -Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../../../examples/gcc'

ALL_TARGETS += $(PT_PROGS)
check-preload: $(PT_PROGS)
endif
