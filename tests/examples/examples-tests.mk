# tests/examples/: Criterion tests of the emulated runtime (issue 3): the
# allocator and object layout (test_runtime), the ground truth of every
# workload on every build (test_workloads), the symbols of every build
# (test_symbols), and each generation against its own headers
# (test_generation, built once per generation, run against its gcc and its
# clang library).

EXT_DIR   := $(BUILD)/tests/examples
EXT_TESTS := $(EXT_DIR)/test_runtime $(EXT_DIR)/test_workloads $(EXT_DIR)/test_symbols
EXT_FLAGS := $(EX_WLFLAGS) -DTTEMU_BUILD_DIR='"$(abspath $(EX_DIR))"' -DTTEMU_SOURCE_DIR='"$(abspath .)"'

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

# test_generation, once per generation: name:TTEMU_GEN:library folder.
EXT_GENS     := 2025:1:gcc 2025b:2:2025b/gcc 2026:3:2026/gcc
EXT_GEN_BINS := $(foreach g,$(EXT_GENS),$(EXT_DIR)/test_generation_$(word 1,$(subst :, ,$(g))))
ALL_TARGETS  += $(EXT_GEN_BINS)

# $(1) name, $(2) TTEMU_GEN, $(3) library folder under $(EX_DIR)
define ext_generation
$(EXT_DIR)/gen/test_generation_$(1).o: tests/examples/test_generation.cpp
	$$(call msg,CXX,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CXX) $$(EXT_FLAGS) -DTTEMU_GEN=$(2) -c -o $$@ $$<

# -rdynamic: the test interposes the library's bulk free.
$(EXT_DIR)/test_generation_$(1): $(EXT_DIR)/gen/test_generation_$(1).o $(EX_DIR)/$(3)/libtt_metal.so
	$$(call msg,LD,$$@)
	$$(Q)$$(CXX) -pthread -rdynamic -o $$@ $$< -L$(EX_DIR)/$(3) -ltt_metal \
		-Wl,--enable-new-dtags,-rpath,'$(abspath $(EX_DIR))/$(3)' -lcriterion -ldl
endef
$(foreach g,$(EXT_GENS),$(eval $(call ext_generation,$(word 1,$(subst :, ,$(g))),$(word 2,$(subst :, ,$(g))),$(word 3,$(subst :, ,$(g))))))

# Each generation's test against its clang library too (same ABI, other
# compiler): LD_LIBRARY_PATH wins over the DT_RUNPATH.
EXT_CLANG_DIR = $(abspath $(EX_DIR))/$(if $(filter 2025,$(1)),clang,$(1)/clang)

check-examples: $(EXT_TESTS) $(EXT_GEN_BINS) $(EX_LIBS) $(EX_BINS)
	$(call msg,TEST,examples)
	$(Q)! grep -rnw --include='*.cpp' --include='*.hpp' --exclude=generation.hpp TTEMU_GEN \
		examples || { echo "the generation number is tested outside" \
		"tt-metalium/generation.hpp: name a switch there" >&2; exit 1; }
	$(Q)for t in $(EXT_TESTS) $(EXT_GEN_BINS); do $$t --jobs 2 $(if $(V),--verbose,) || exit 1; done
	$(Q)$(foreach g,2025 2025b 2026,LD_LIBRARY_PATH=$(call EXT_CLANG_DIR,$(g)) \
		TTEMU_EXPECT_LIB=$(call EXT_CLANG_DIR,$(g))/libtt_metal.so \
		$(EXT_DIR)/test_generation_$(g) --jobs 2 $(if $(V),--verbose,) || exit 1;)
