# tests/common: support code shared by more than one test suite.  Included
# by the top Makefile before the suites' fragments (sorted: common < shm <
# viewer), so they can name these variables in their rules.
#
#   TESTS_COMMON_CFLAGS   the include path of these headers
#   TESTS_MAXSEG_SRC      maxseg.c, for a suite that links sources directly
#   TESTS_MAXSEG_OBJ      maxseg.o, for a suite that links objects

TESTS_COMMON_CFLAGS := -Itests/common
TESTS_MAXSEG_SRC    := tests/common/maxseg.c
TESTS_MAXSEG_OBJ    := $(BUILD)/tests/common/maxseg.o

$(BUILD)/tests/common/%.o: tests/common/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(TESTS_COMMON_CFLAGS) -c $< -o $@
