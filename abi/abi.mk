# abi/: the ABI room (abi.h).  Its objects are built twice:
#   $(BUILD)/abi/*.o         for the preload: PIC, LTO, with the reader, which
#                            logs through abi_log.h (its linker provides it:
#                            the preload's preload/abi_log.c)
#   $(BUILD)/abi/viewer/*.o  for `ttmem probe`: the generation table only
# Included before preload/preload.mk and viewer/viewer.mk, which add the
# objects to their links.

ABI_TABLE_SRCS   := abi/select.c $(sort $(wildcard abi/gen_*.c))
# The reader: binding and buffers, devices, the map of allocators.
ABI_READER_SRCS  := abi/reader.c abi/devices.c abi/allocators.c
ABI_PRELOAD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(ABI_TABLE_SRCS) $(ABI_READER_SRCS))
ABI_VIEWER_OBJS  := $(patsubst abi/%.c,$(BUILD)/abi/viewer/%.o,$(ABI_TABLE_SRCS))

$(BUILD)/abi/viewer/%.o: abi/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/abi/%.o: abi/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<
