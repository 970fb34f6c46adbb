/* SPDX-License-Identifier: MIT */
/*
 * A fake runtime library for `ttmem probe` tests, independent of the
 * emulator: C functions named with tt-metal's mangled hook names (C allows
 * them: they are plain identifiers).  Built three ways by viewer-tests.mk:
 *   fake_plt.so       -fPIC: internal calls go through the PLT
 *   fake_symbolic.so  -Wl,-Bsymbolic-functions: internal calls bound directly
 *   fake_bsymbolic.so -Wl,-Bsymbolic: the same, and DF_SYMBOLIC says so
 *   fake_partial.so   -DFAKE_NO_CB: the circular-buffer hooks are missing
 */

int sink;

#define DEF(name) __attribute__((noinline)) void name(void); \
	__attribute__((noinline)) void name(void) { sink++; }

DEF(_ZN2tt8tt_metal12GraphTracker14track_allocateEPKNS0_6BufferE)
DEF(_ZN2tt8tt_metal12GraphTracker16track_deallocateEPNS0_6BufferE)
#ifndef FAKE_NO_CB
DEF(_ZN2tt8tt_metal12GraphTracker17track_allocate_cbERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE)
DEF(_ZN2tt8tt_metal12GraphTracker19track_deallocate_cbEPKNS0_7IDeviceE)
#endif
DEF(_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj)
DEF(_ZN2tt8tt_metal14HWCommandQueueD1Ev)
DEF(_ZN2tt8tt_metal19SystemMemoryManagerC1Eih)
DEF(_ZN2tt8tt_metal6Device5closeEv)
DEF(_ZN2tt8tt_metal11distributed10MeshDevice5closeEv)
DEF(_ZN2tt8tt_metal9Allocator18deallocate_buffersEv)
DEF(_ZN2tt8tt_metal9Allocator5clearEv)
DEF(_ZNK2tt8tt_metal6Buffer7addressEv)
DEF(_ZNK2tt8tt_metal6Buffer9page_sizeEv)
DEF(_ZNK2tt8tt_metal6Buffer9num_pagesEv)
/* Defined, never called here: ttnn calls it (fake_caller.c). */
DEF(_ZN2tt8tt_metal12GraphTracker13track_programEPNS0_7ProgramEPKNS0_7IDeviceE)

/* The runtime's own calls into its hooks, as Buffer::create and
 * Device::close make them. */
void fake_runtime_work(void);
void fake_runtime_work(void)
{
	_ZN2tt8tt_metal12GraphTracker14track_allocateEPKNS0_6BufferE();
	_ZN2tt8tt_metal12GraphTracker16track_deallocateEPNS0_6BufferE();
#ifndef FAKE_NO_CB
	_ZN2tt8tt_metal12GraphTracker17track_allocate_cbERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE();
	_ZN2tt8tt_metal12GraphTracker19track_deallocate_cbEPKNS0_7IDeviceE();
#endif
	_ZN2tt8tt_metal14HWCommandQueueC1EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj();
	_ZN2tt8tt_metal14HWCommandQueueD1Ev();
	_ZN2tt8tt_metal19SystemMemoryManagerC1Eih();
	_ZN2tt8tt_metal6Device5closeEv();
	_ZN2tt8tt_metal11distributed10MeshDevice5closeEv();
	_ZN2tt8tt_metal9Allocator18deallocate_buffersEv();
	_ZN2tt8tt_metal9Allocator5clearEv();
}
