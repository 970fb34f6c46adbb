# preload/: build/libttmem.so, the LD_PRELOAD library (issue 4).
#
# Statically links the table core ($(SHM_LIB), from shm/shm.mk); exports
# only the hooked tt-metal names (preload/libttmem.map).  The ABI room's
# objects (abi/abi.mk) are linked in.  hooks.c is built
# with -fexceptions: C++ exceptions thrown by the runtime unwind through it.

PRELOAD_LIB    := $(BUILD)/libttmem.so
PRELOAD_SRCS   := $(wildcard preload/*.c)
PRELOAD_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(PRELOAD_SRCS)) $(ABI_PRELOAD_OBJS)
PRELOAD_CFLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec -flto -Iabi
PRELOAD_LDLIBS := -ldl -lgcc_s $(LDLIBS_PTHREAD)

$(BUILD)/preload/hooks.o: PRELOAD_CFLAGS += -fexceptions

# Python source lines in stacks (pyframes.c): built against the Python
# headers found here (python3-config), as system headers; without them the
# file builds to a stub that finds nothing.
PY_INCLUDES := $(patsubst -I%,-isystem %,$(shell python3-config --includes 2>/dev/null))
$(BUILD)/preload/pyframes.o: PRELOAD_CFLAGS += $(if $(PY_INCLUDES),-DTTMEM_WITH_PYTHON $(PY_INCLUDES) \
	-isystem $(firstword $(patsubst -isystem,,$(PY_INCLUDES)))/internal)

$(BUILD)/preload/%.o: preload/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PRELOAD_CFLAGS) -c -o $@ $<

ifneq ($(SHM_LIB),)
ALL_TARGETS += $(PRELOAD_LIB)

# One LTO partition: the library is small, and the event path's inlining
# across files (callsite.c, owned.c into tracker.c) then links quietly
# (lto-wrapper warns of serial compilation once there are two).
$(PRELOAD_LIB): $(PRELOAD_OBJS) $(SHM_LIB) preload/libttmem.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -o $@ $(PRELOAD_OBJS) $(SHM_LIB) \
		-Wl,--version-script=preload/libttmem.map -Wl,-z,defs -flto -flto-partition=one -O2 \
		$(PRELOAD_LDLIBS)

.PHONY: install-preload
INSTALL_TARGETS += install-preload
install-preload: $(PRELOAD_LIB)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 0755 $(PRELOAD_LIB) $(DESTDIR)$(LIBDIR)/libttmem.so
else
# The table core (shm/) has not landed: build the objects only.
ALL_TARGETS += $(PRELOAD_OBJS)
endif
