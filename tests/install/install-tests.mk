# tests/install: `make install` into a DESTDIR, and the installed tree works on
# its own (tests/install/check-install.sh; a scratch build, a few seconds).

.PHONY: check-install
CHECK_TARGETS += check-install

ifneq ($(SHM_LIB),)
check-install:
	$(call msg,TEST,install)
	$(Q)CC=$(CC) sh tests/install/check-install.sh "$(MAKE)"
else
check-install:
	@echo "  SKIP     install test: the table core (shm/) has not landed yet"
endif
