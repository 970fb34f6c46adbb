# tests/demo: `make demo` builds only what the demo runs (the viewer, the
# preload, the G1 gcc emulator and mesh_allocation), not the six other
# emulator flavours, the tests or the benchmarks that `make all` builds: so
# a fresh clone shows its first table within a minute on 2 cores.  Checked
# on what `make -n demo` would run in an empty build directory.

.PHONY: check-demo-build
CHECK_TARGETS += check-demo-build

check-demo-build:
	$(call msg,TEST,demo-build)
	$(Q)d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	$(MAKE) --no-print-directory -n demo BUILD=$$d/b > $$d/plan 2>&1; \
	grep -q 'examples/gcc/obj/allocator.o' $$d/plan || { echo "demo does not build the gcc emulator"; exit 1; }; \
	grep -q 'mesh_allocation' $$d/plan || { echo "demo does not build mesh_allocation"; exit 1; }; \
	if grep -E 'examples/(clang|2025b|2026|symbolic)/|/tests/|/bench/' $$d/plan | head -3 | grep .; then \
		echo "demo builds what it does not run (above)"; exit 1; fi; \
	grep -q -- '-j' $$d/plan || { echo "demo does not build in parallel"; exit 1; }
