# tests/shm: Criterion tests of the table core (shm/), numbered so the basic
# ones run first.  Three builds:
#   build/tests/shm/tNN-*   the normal build (check-shm)
#   build/shm-asan/tNN-*    every test with ASan+UBSan (check-shm-asan)
#   build/shm-tsan/t04, t07, t16 the multi-thread tests (clear during activity, stress,
#                           a two-part snapshot while entries come and go)
#                           with TSan (check-shm-tsan),
#                           with a smaller event count so it stays under a minute,
#                           on tests/shm/mini-criterion.h (Criterion's runner
#                           does not start under TSan).

SHM_TEST_SRCS   := $(sort $(wildcard tests/shm/t[0-9]*.c))
SHM_TEST_BINS   := $(patsubst tests/shm/%.c,$(BUILD)/tests/shm/%,$(SHM_TEST_SRCS))
SHM_TEST_LDLIBS := -lcriterion $(LDLIBS_PTHREAD)
SHM_TEST_RUN    := tests/shm/run-tests.sh

SHM_ASAN_FLAGS  := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SHM_ASAN_OBJS   := $(patsubst shm/%.c,$(BUILD)/shm-asan/%.o,$(SHM_SRCS))
SHM_ASAN_LIB    := $(BUILD)/shm-asan/libttmem_shm.a
SHM_ASAN_BINS   := $(patsubst tests/shm/%.c,$(BUILD)/shm-asan/%,$(SHM_TEST_SRCS))

SHM_TSAN_FLAGS  := -O1 -fsanitize=thread -fno-omit-frame-pointer
SHM_TSAN_OBJS   := $(patsubst shm/%.c,$(BUILD)/shm-tsan/%.o,$(SHM_SRCS))
SHM_TSAN_LIB    := $(BUILD)/shm-tsan/libttmem_shm.a
SHM_TSAN_BINS   := $(patsubst tests/shm/%.c,$(BUILD)/shm-tsan/%,$(wildcard tests/shm/t04-clear.c tests/shm/t07-stress.c tests/shm/t16-snapshot-parts.c))

ALL_TARGETS     += $(SHM_TEST_BINS)
CHECK_TARGETS   += check-shm check-shm-asan check-shm-tsan
.PHONY: check-shm check-shm-asan check-shm-tsan

# Each test is one program: its own source, plus any shared support source
# (tests/common) it lists as an extra prerequisite below.
$(BUILD)/tests/shm/%: tests/shm/%.c $(SHM_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TESTS_COMMON_CFLAGS) -o $@ $(filter %.c,$^) $(SHM_LIB) \
		$(SHM_TEST_LDLIBS)

# The largest-geometry sparse segment (tests/common/maxseg.h).
$(BUILD)/tests/shm/t10-hostile $(BUILD)/shm-asan/t10-hostile: $(TESTS_MAXSEG_SRC)

$(BUILD)/shm-asan/%.o: shm/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SHM_CFLAGS) $(SHM_ASAN_FLAGS) -c $< -o $@

$(SHM_ASAN_LIB): $(SHM_ASAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/shm-asan/t%: tests/shm/t%.c $(SHM_ASAN_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TESTS_COMMON_CFLAGS) $(SHM_ASAN_FLAGS) -o $@ $(filter %.c,$^) \
		$(SHM_ASAN_LIB) $(SHM_TEST_LDLIBS)

$(BUILD)/shm-tsan/%.o: shm/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SHM_CFLAGS) $(SHM_TSAN_FLAGS) -c $< -o $@

$(SHM_TSAN_LIB): $(SHM_TSAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/shm-tsan/t%: tests/shm/t%.c $(SHM_TSAN_LIB)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SHM_TSAN_FLAGS) -DTTMEM_MINI_CRITERION -o $@ $< $(SHM_TSAN_LIB) \
		$(LDLIBS_PTHREAD)

check-shm: $(SHM_TEST_BINS)
	$(Q)sh $(SHM_TEST_RUN) $^

check-shm-asan: $(SHM_ASAN_BINS)
	$(Q)ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		TTMEM_TEST_SCALE=asan sh $(SHM_TEST_RUN) $^

# setarch -R: TSan of gcc 12 aborts ("unexpected memory mapping") on kernels
# with large mmap randomisation; without ASLR it always starts.
SHM_TSAN_RUN := $(shell command -v setarch >/dev/null 2>&1 && setarch $$(uname -m) -R true 2>/dev/null && echo setarch $$(uname -m) -R)

check-shm-tsan: $(SHM_TSAN_BINS)
	$(Q)TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		TTMEM_TEST_SCALE=tsan $(SHM_TSAN_RUN) sh $(SHM_TEST_RUN) $^
