# shm/: the shared-memory table (libttmem_shm.a, PIC: the preload .so links it)
# and ttmem-dump, a raw segment dump for debugging.

SHM_LIB      := $(BUILD)/shm/libttmem_shm.a
SHM_DUMP     := $(BUILD)/shm/ttmem-dump
SHM_SRCS     := $(filter-out shm/dump.c,$(wildcard shm/*.c))
SHM_OBJS     := $(patsubst shm/%.c,$(BUILD)/shm/%.o,$(SHM_SRCS))
# -fno-strict-aliasing: the meta bytes and packed payload are read as words.
SHM_CFLAGS   := -fPIC -fvisibility=hidden -fno-strict-aliasing
SHM_LDLIBS   := $(LDLIBS_PTHREAD)

ALL_TARGETS  += $(SHM_LIB) $(SHM_DUMP)

$(BUILD)/shm/%.o: shm/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SHM_CFLAGS) -c $< -o $@

$(SHM_LIB): $(SHM_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(SHM_DUMP): $(BUILD)/shm/dump.o $(SHM_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(SHM_LDLIBS)

# The table API for other programs: headers and the static library.
INSTALL_TARGETS += install-shm
.PHONY: install-shm
install-shm: $(SHM_LIB)
	$(Q)install -d $(DESTDIR)$(INCDIR)/ttmem $(DESTDIR)$(LIBDIR)
	$(Q)install -m 0644 include/ttmem/segment.h include/ttmem/table.h $(DESTDIR)$(INCDIR)/ttmem/
	$(Q)install -m 0644 $(SHM_LIB) $(DESTDIR)$(LIBDIR)/
	$(Q)install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	$(Q)printf '%s\n' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
		'Name: ttmem' 'Description: ttmem shared-memory allocation table (segment layout and core API)' \
		'Version: $(VERSION)' 'Cflags: -I$${includedir}' \
		'Libs: -L$${libdir} -lttmem_shm -pthread' >$(DESTDIR)$(LIBDIR)/pkgconfig/ttmem.pc
