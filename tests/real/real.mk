# tests/real/: ttmem against the real tt-metal runtime of the pinned ttnn
# wheels (tests/real/wheels.txt).
#
#   make real-fetch         download (pip), check and unpack every pinned
#                           wheel into $(BUILD)/real/<version>/
#   make check-real         check-real-static + check-real-mock (run by
#                           `make check`; CI must run it)
#   make check-real-static  per version: `ttmem probe` held against what the
#                           library exports, relocates and calls
#                           (tests/real/check_static.py), no device
#   check-real-mock         a workload on tt-metal's mock device: a
#                           double-colon rule, so the fragment that runs it
#                           (tests/real/mock.mk) adds its own recipe
#
# Where PyPI cannot be reached fetch.sh exits 77 and the real tier skips,
# saying why; any other failure fails the check.

REAL_DIR      := $(BUILD)/real
REAL_VERSIONS := $(shell awk '!/^\#/ && NF { print $$1 }' tests/real/wheels.txt)

# Runs fetch.sh for every pinned version; on exit 77 prints SKIP with the
# reason and makes the calling recipe stop successfully (`exit 0` from a
# subshell would not): recipes use `$(real_fetch_or_skip) || exit 0`.
real_fetch_or_skip = { TTMEM_REAL_DIR=$(REAL_DIR) sh tests/real/fetch.sh $(REAL_VERSIONS) \
	>$(REAL_DIR).fetch.log 2>&1; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "  SKIP     real runtime tests: PyPI cannot be reached:"; \
		sed 's/^/           /' $(REAL_DIR).fetch.log; false; \
	elif [ $$rc -ne 0 ]; then cat $(REAL_DIR).fetch.log >&2; exit $$rc; fi; }

.PHONY: real-fetch check-real check-real-static check-real-mock
CHECK_TARGETS += check-real

real-fetch:
	$(Q)mkdir -p $(REAL_DIR)
	$(Q)TTMEM_REAL_DIR=$(REAL_DIR) sh tests/real/fetch.sh $(REAL_VERSIONS)

check-real: check-real-static check-real-mock

REAL_ATTACH := $(BUILD)/tests/real/attach
$(REAL_ATTACH): tests/real/attach.c
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -ldl
ALL_TARGETS += $(REAL_ATTACH)

# Per version: probe's claims (check_static.py), then the preload's own
# choice of runtime object and generation (check_attach.sh); last, that
# check_static.py does catch falsified claims (selftest.sh).
check-real-static: $(VIEWER_BIN) $(PRELOAD_LIB) $(REAL_ATTACH)
	$(call msg,TEST,real-static)
	$(Q)mkdir -p $(REAL_DIR)
	$(Q)$(real_fetch_or_skip) || exit 0; \
	fail=0; for v in $(REAL_VERSIONS); do \
		gen=$$(awk -v v=$$v '!/^#/ && $$1 == v { print $$4 }' tests/real/wheels.txt); \
		lib=$(REAL_DIR)/$$v/ttnn/build/lib; \
		python3 tests/real/check_static.py $(VIEWER_BIN) $$v $$lib $$gen || fail=1; \
		sh tests/real/check_attach.sh $(abspath $(PRELOAD_LIB)) $(REAL_ATTACH) $$v $$lib $$gen \
			|| fail=1; \
	done; \
	v=$(firstword $(REAL_VERSIONS)); \
	sh tests/real/selftest.sh $(VIEWER_BIN) $$v $(REAL_DIR)/$$v/ttnn/build/lib || fail=1; \
	exit $$fail

# Empty here: tests/real/mock.mk adds the recipe (`check-real-mock:: ...`).
check-real-mock::
	@:
