# Tests of the viewer (issue 5, part 8).  Included by the top Makefile.
#
# One Criterion binary over tests/viewer/test_*.c (numbered: basic first),
# with segments built by the table API (segfix.c) and, where the emulator and
# the preload have been built, segments written by the real workloads.
# Fixtures: fake runtime libraries for `probe`, a dummy preload for `run`.

VT_DIR      := $(BUILD)/tests/viewer
VT_BIN      := $(VT_DIR)/viewer-tests
VT_SRCS     := $(sort $(wildcard tests/viewer/test_*.c)) tests/viewer/segfix.c
# Shared test support (tests/common/common.mk): the largest-geometry segment.
VT_OBJS     := $(VT_SRCS:tests/viewer/%.c=$(VT_DIR)/%.o) $(TESTS_MAXSEG_OBJ)
# The viewer's aggregation, linked in for direct unit tests (test_15_model.c), and
# the JSON reader of `ttmem diff`, fuzzed in process (test_98_diff.c).
VT_VIEWER   := $(addprefix $(BUILD)/viewer/,model.o peaks.o leaks.o leaks_print.o leaks_order.o symbolize.o file_access.o format_json.o textfit.o \
                 sanitize.o json_read.o \
                 names.o units.o capacity.o)
VT_FIXTURES := $(VT_DIR)/fake_caller.so $(VT_DIR)/fake_plt.so $(VT_DIR)/fake_symbolic.so $(VT_DIR)/fake_partial.so \
               $(VT_DIR)/fake_bsymbolic.so $(VT_DIR)/fake_preload.so
VT_JOBS     ?= 2

$(VT_DIR)/%.o: tests/viewer/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/viewer -Iviewer $(TESTS_COMMON_CFLAGS) -c $< -o $@

$(VT_DIR)/fake_plt.so: tests/viewer/fake_runtime.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -O1 -o $@ $<

$(VT_DIR)/fake_symbolic.so: tests/viewer/fake_runtime.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -O1 -Wl,-Bsymbolic-functions -o $@ $<

$(VT_DIR)/fake_bsymbolic.so: tests/viewer/fake_runtime.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -O1 -Wl,-Bsymbolic -o $@ $<

$(VT_DIR)/fake_partial.so: tests/viewer/fake_runtime.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -O1 -DFAKE_NO_CB -o $@ $<

# Another library calling into the fake runtime (as ttnn's _ttnncpp.so calls
# libtt_metal.so): its calls are undefined symbols reached through its PLT.
$(VT_DIR)/fake_caller.so: tests/viewer/fake_caller.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -O1 -o $@ $<

$(VT_DIR)/fake_preload.so: tests/viewer/fake_preload.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) -shared -fPIC -o $@ $<

.PHONY: check-viewer
ifneq ($(SHM_LIB),)
CHECK_TARGETS += check-viewer

$(VT_BIN): $(VT_OBJS) $(VT_VIEWER) $(SHM_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(VT_OBJS) $(VT_VIEWER) $(SHM_LIB) -lcriterion -ldw -lelf -ldl \
		$(LDLIBS_PTHREAD)

check-viewer: $(VT_BIN) $(VIEWER_BIN) $(VT_FIXTURES)
	@echo "  TEST     viewer"
	@for f in $(BUILD)/libttmem.so $(BUILD)/examples/bin/mesh_allocation $(BUILD)/examples/bin/leak; do \
		[ -e $$f ] || echo "  SKIP     viewer end-to-end tests that need $$f (not built)"; done
	$(Q)TTMEM_BIN=$(VIEWER_BIN) TTMEM_TEST_DIR=$(VT_DIR) TTMEM_BUILD=$(BUILD) \
		$(VT_BIN) --jobs $(VT_JOBS) --short-filename
else
check-viewer:
	@echo "  SKIP     viewer tests: the table core (shm/) has not landed yet"
endif
