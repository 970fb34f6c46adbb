# tests/real/mock.mk: check-real-mock, a workload on the real runtime's mock
# device under the preload, held against the runtime's own allocators at
# every checkpoint (tests/real/check_mock.sh, run_mock.py).  Part of
# check-real (tests/real/real.mk); skips, saying why, where PyPI cannot be
# reached.
check-real-mock:: $(VIEWER_BIN) $(PRELOAD_LIB)
	$(call msg,TEST,real-mock)
	$(Q)mkdir -p $(REAL_DIR)
	$(Q)BUILD=$(BUILD) CXX=$(CXX) sh tests/real/check_mock.sh; rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq 77 ]
