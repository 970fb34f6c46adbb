# tests/examples/: Criterion tests of the emulated runtime (issue 3): the
# allocator and object layout (test_runtime), the ground truth of every
# workload (test_workloads), and the symbols of the three flavours
# (test_symbols).

EXT_DIR   := $(BUILD)/tests/examples
EXT_TESTS := $(EXT_DIR)/test_runtime $(EXT_DIR)/test_workloads $(EXT_DIR)/test_symbols
EXT_FLAGS := $(EX_WLFLAGS) -DTTEMU_BUILD_DIR='"$(abspath $(EX_DIR))"'

ALL_TARGETS   += $(EXT_TESTS)
CHECK_TARGETS += check-examples
.PHONY: check-examples

$(EXT_DIR)/%.o: tests/examples/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(EXT_FLAGS) -c -o $@ $<

$(EXT_DIR)/test_%: $(EXT_DIR)/test_%.o $(EXT_DIR)/helpers.o $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,LD,$@)
	$(Q)$(CXX) -pthread -o $@ $< $(EXT_DIR)/helpers.o -L$(EX_DIR)/gcc -ltt_metal \
		-Wl,--enable-new-dtags,-rpath,'$(abspath $(EX_DIR))/gcc' -lcriterion -ldl

.PRECIOUS: $(EXT_DIR)/%.o

check-examples: $(EXT_TESTS) $(EX_LIBS) $(EX_BINS)
	$(call msg,TEST,examples)
	$(Q)for t in $(EXT_TESTS); do $$t --jobs 2 $(if $(V),--verbose,) || exit 1; done
