# Emulated tt-metal runtime (examples/runtime) and its workloads
# (examples/workloads).  Three flavours of the same library, built with
# upstream's flags (-fPIC -fvisibility-inlines-hidden, no -fvisibility=hidden):
#   $(BUILD)/examples/gcc/libtt_metal.so       g++: intra-library calls via PLT
#   $(BUILD)/examples/clang/libtt_metal.so     clang++: allocate_impl inlined
#   $(BUILD)/examples/symbolic/libtt_metal.so  g++ + -Bsymbolic-functions
# The workloads link against the gcc build (DT_RUNPATH $ORIGIN/../gcc), so
# LD_LIBRARY_PATH=$(BUILD)/examples/clang switches them to another flavour.

EX_DIR      := $(BUILD)/examples
EX_BIN      := $(EX_DIR)/bin
EX_RT_SRCS  := $(wildcard examples/runtime/*.cpp)
EX_WL_MAIN  := mesh_allocation leak churn lifecycle capture programs
EX_WL_COMMON:= examples/workloads/common.cpp
EX_SCRIPTS  := ctypes_alloc.py run_clean.sh

EX_CXXFLAGS := -std=c++17 -fPIC -fvisibility-inlines-hidden -O2 -g \
               -Wall -Wextra -Werror -Wshadow -Iexamples/runtime -MMD -MP -pthread
EX_WLFLAGS  := -std=c++17 -O2 -g -fno-omit-frame-pointer \
               -Wall -Wextra -Werror -Wshadow -Iexamples/runtime -MMD -MP -pthread
EX_SONAME   := -Wl,-soname,libtt_metal.so

EX_GCC_OBJS   := $(patsubst examples/runtime/%.cpp,$(EX_DIR)/gcc/obj/%.o,$(EX_RT_SRCS))
EX_CLANG_OBJS := $(patsubst examples/runtime/%.cpp,$(EX_DIR)/clang/obj/%.o,$(EX_RT_SRCS))
EX_LIBS := $(EX_DIR)/gcc/libtt_metal.so $(EX_DIR)/clang/libtt_metal.so $(EX_DIR)/symbolic/libtt_metal.so
EX_BINS := $(addprefix $(EX_BIN)/,$(EX_WL_MAIN)) $(addprefix $(EX_BIN)/,$(EX_SCRIPTS))

ALL_TARGETS += $(EX_LIBS) $(EX_BINS)

$(EX_DIR)/gcc/obj/%.o: examples/runtime/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(EX_CXXFLAGS) -c -o $@ $<

$(EX_DIR)/clang/obj/%.o: examples/runtime/%.cpp
	$(call msg,CLANGXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANGXX) $(EX_CXXFLAGS) -c -o $@ $<

$(EX_DIR)/gcc/libtt_metal.so: $(EX_GCC_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CXX) -shared $(EX_SONAME) -pthread -o $@ $^

$(EX_DIR)/clang/libtt_metal.so: $(EX_CLANG_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CLANGXX) -shared $(EX_SONAME) -pthread -o $@ $^

# Same objects as the gcc flavour: only the link differs, as upstream's
# -Bsymbolic-functions is a link flag.
$(EX_DIR)/symbolic/libtt_metal.so: $(EX_GCC_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -shared $(EX_SONAME) -Wl,-Bsymbolic-functions -pthread -o $@ $^

$(EX_DIR)/wl/%.o: examples/workloads/%.cpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(EX_WLFLAGS) -c -o $@ $<

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
