/* SPDX-License-Identifier: MIT */
/*
 * A library that calls into the fake runtime (fake_runtime.c), as ttnn's
 * _ttnncpp.so calls GraphTracker::track_program in libtt_metal.so: the name
 * is undefined here, so the call goes through this library's PLT, and
 * `ttmem probe --caller fake_caller.so fake_plt.so` must count it.
 */
void _ZN2tt8tt_metal12GraphTracker13track_programEPNS0_7ProgramEPKNS0_7IDeviceE(void);

void fake_caller_launch(void);
void fake_caller_launch(void)
{
	_ZN2tt8tt_metal12GraphTracker13track_programEPNS0_7ProgramEPKNS0_7IDeviceE();
}
