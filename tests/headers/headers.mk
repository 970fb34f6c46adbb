# tests/headers: the public headers (include/ttmem/) compile as C++17 with
# g++ and clang++, warning-free, and give C++ the layout C writes
# (tests/headers/cxx17.cpp: compiled only; the asserts are static).

HT_DIR := $(BUILD)/tests/headers
# Not -Wshadow: in C++ it flags the C API's functions named like their
# structs (ttmem_snapshot, ttmem_tally), which C callers need as they are.
HT_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic -Wconversion -Iinclude -fsyntax-only

.PHONY: check-headers
CHECK_TARGETS += check-headers

check-headers:
	$(call msg,TEST,headers-c++17)
	$(Q)$(CXX) $(HT_CXXFLAGS) tests/headers/cxx17.cpp
	$(Q)if command -v clang++ >/dev/null 2>&1; then clang++ $(HT_CXXFLAGS) tests/headers/cxx17.cpp; \
	else echo "  SKIP     clang++ not installed: headers checked with $(CXX) only"; fi
