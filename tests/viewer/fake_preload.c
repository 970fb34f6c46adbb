/* SPDX-License-Identifier: MIT */
/* A do-nothing LD_PRELOAD library for `ttmem run` tests (TTMEM_PRELOAD). */
int ttmem_fake_preload_marker;
