# Emulated tt-metal runtime (examples/runtime) and its workloads
# (examples/workloads).  One source tree, built for three runtime
# generations (TTEMU_GEN, see examples/runtime/tt-metalium/generation.hpp
# and abi/GENERATIONS.md) with upstream's flags (-fPIC
# -fvisibility-inlines-hidden, no -fvisibility=hidden):
#   G1 "2025"   $(BUILD)/examples/gcc/libtt_metal.so       g++: intra-library calls via PLT
#               $(BUILD)/examples/clang/libtt_metal.so     clang++: allocate_impl inlined
#               $(BUILD)/examples/symbolic/libtt_metal.so  g++ + -Bsymbolic-functions
#   G2 "2025b"  $(BUILD)/examples/2025b/{gcc,clang}/libtt_metal.so
#   G3 "2026"   $(BUILD)/examples/2026/{gcc,clang}/libtt_metal.so
# The workloads link against the G1 gcc build (DT_RUNPATH $ORIGIN/../gcc),
# so LD_LIBRARY_PATH=$(BUILD)/examples/<dir> switches them to any other.

EX_DIR      := $(BUILD)/examples
EX_BIN      := $(EX_DIR)/bin
EX_RT_SRCS  := $(wildcard examples/runtime/*.cpp)
EX_WL_MAIN  := mesh_allocation leak churn lifecycle capture programs peaks
EX_WL_COMMON:= examples/workloads/common.cpp
EX_SCRIPTS  := ctypes_alloc.py run_clean.sh

EX_CXXFLAGS := -std=c++17 -fPIC -fvisibility-inlines-hidden -O2 -g \
               -Wall -Wextra -Werror -Wshadow -Iexamples/runtime -MMD -MP -pthread
# Programs that use the emulator (workloads, tests).  The workloads are
# built once and run on every generation: TTEMU_PORTABLE_CLIENT makes the
# header-inline Buffer field readers a compile error for them.
EX_WLFLAGS  := -std=c++17 -O2 -g -fno-omit-frame-pointer \
               -Wall -Wextra -Werror -Wshadow -Iexamples/runtime -MMD -MP -pthread
EX_SONAME   := -Wl,-soname,libtt_metal.so

# The library builds: folder, compiler variable, TTEMU_GEN.
EX_BUILDS   := gcc:CXX:1 clang:CLANGXX:1 2025b/gcc:CXX:2 2025b/clang:CLANGXX:2 2026/gcc:CXX:3 2026/clang:CLANGXX:3
EX_GEN_LIBS := $(foreach b,$(EX_BUILDS),$(EX_DIR)/$(word 1,$(subst :, ,$(b)))/libtt_metal.so)
EX_LIBS     := $(EX_GEN_LIBS) $(EX_DIR)/symbolic/libtt_metal.so
EX_GCC_OBJS := $(patsubst examples/runtime/%.cpp,$(EX_DIR)/gcc/obj/%.o,$(EX_RT_SRCS))
EX_BINS := $(addprefix $(EX_BIN)/,$(EX_WL_MAIN)) $(addprefix $(EX_BIN)/,$(EX_SCRIPTS))

ALL_TARGETS += $(EX_LIBS) $(EX_BINS)

# $(1) folder under $(EX_DIR), $(2) compiler variable, $(3) TTEMU_GEN
define ex_library
$(EX_DIR)/$(1)/obj/%.o: examples/runtime/%.cpp
	$$(call msg,$(2),$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$($(2)) $$(EX_CXXFLAGS) -DTTEMU_GEN=$(3) -c -o $$@ $$<

$(EX_DIR)/$(1)/libtt_metal.so: $$(patsubst examples/runtime/%.cpp,$(EX_DIR)/$(1)/obj/%.o,$$(EX_RT_SRCS))
	$$(call msg,LD,$$@)
	$$(Q)$$($(2)) -shared $$(EX_SONAME) -pthread -o $$@ $$^
endef
$(foreach b,$(EX_BUILDS),$(eval $(call ex_library,$(word 1,$(subst :, ,$(b))),$(word 2,$(subst :, ,$(b))),$(word 3,$(subst :, ,$(b))))))

# Same objects as the G1 gcc build: only the link differs, as upstream's
# -Bsymbolic-functions is a link flag.
$(EX_DIR)/symbolic/libtt_metal.so: $(EX_GCC_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -shared $(EX_SONAME) -Wl,-Bsymbolic-functions -pthread -o $@ $^

$(EX_DIR)/wl/%.o: examples/workloads/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(EX_WLFLAGS) -DTTEMU_PORTABLE_CLIENT=1 -c -o $@ $<

$(EX_BIN)/%: $(EX_DIR)/wl/%.o $(EX_DIR)/wl/common.o $(EX_DIR)/gcc/libtt_metal.so
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -pthread -o $@ $(EX_DIR)/wl/$*.o $(EX_DIR)/wl/common.o \
		-L$(EX_DIR)/gcc -ltt_metal -Wl,--enable-new-dtags,-rpath,'$$ORIGIN/../gcc'

$(EX_BIN)/%.py: examples/workloads/%.py
	$(call msg,CP,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cp $< $@ && chmod +x $@

$(EX_BIN)/%.sh: examples/workloads/%.sh
	$(call msg,CP,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cp $< $@ && chmod +x $@

.PRECIOUS: $(EX_DIR)/wl/%.o
