# The viewer: build/ttmem (issue 5).  Included by the top Makefile.
#
# Links the table core ($(SHM_LIB), from shm/shm.mk), libelf (symbolization,
# probe), ncursesw (top; the wide build, so UTF-8 names draw as such),
# pthread (export --listen serves from a thread) and libdl (the C++
# demangler is looked up at run time, so the viewer itself stays free of
# libstdc++).

VIEWER_SRCS := $(sort $(wildcard viewer/*.c))
VIEWER_OBJS := $(VIEWER_SRCS:%.c=$(BUILD)/%.o) $(ABI_VIEWER_OBJS)
VIEWER_BIN  := $(BUILD)/ttmem
VIEWER_MAN  := viewer/ttmem.1
VIEWER_LIBS := -ldw -lelf $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw) -ldl -pthread
# `ttmem run` looks for libttmem.so next to itself, then at LIBDIR relative
# to BINDIR from its own directory (so a tree installed with DESTDIR, or
# moved, finds its own library), then in LIBDIR (preload/preload.mk installs
# it there).
VIEWER_LIB_FROM_BIN := $(shell realpath -m --relative-to='$(BINDIR)' '$(LIBDIR)' 2>/dev/null || echo ../lib)
VIEWER_CFLAGS := -Iabi -DTTMEM_LIBDIR='"$(LIBDIR)"' -DTTMEM_LIBDIR_FROM_BIN='"$(VIEWER_LIB_FROM_BIN)"'

# The directories are compiled into cmd_run.o: rebuild it when they change
# (e.g. `make install PREFIX=/usr` after a plain `make`).
VIEWER_LIBDIR_STAMP := $(BUILD)/viewer/libdir$(subst /,_,$(BINDIR)-$(LIBDIR)).stamp
$(VIEWER_LIBDIR_STAMP):
	@mkdir -p $(@D)
	@rm -f $(BUILD)/viewer/libdir*.stamp
	@touch $@
$(BUILD)/viewer/cmd_run.o: $(VIEWER_LIBDIR_STAMP)

ifneq ($(SHM_LIB),)
ALL_TARGETS     += $(VIEWER_BIN)
INSTALL_TARGETS += install-viewer
else
ALL_TARGETS     += viewer-needs-core
.PHONY: viewer-needs-core
viewer-needs-core:
	@echo "  SKIP     build/ttmem: the table core (shm/shm.mk, SHM_LIB) has not landed yet"
endif

$(BUILD)/viewer/%.o: viewer/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(VIEWER_CFLAGS) -c $< -o $@

$(VIEWER_BIN): $(VIEWER_OBJS) $(SHM_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(VIEWER_OBJS) $(SHM_LIB) $(VIEWER_LIBS) $(LDLIBS_PTHREAD)

.PHONY: install-viewer
install-viewer: $(VIEWER_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(VIEWER_BIN) $(DESTDIR)$(BINDIR)/ttmem
	install -m 0644 $(VIEWER_MAN) $(DESTDIR)$(MANDIR)/man1/ttmem.1
