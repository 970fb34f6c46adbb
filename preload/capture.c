/* SPDX-License-Identifier: MIT */
/* Graph capture is not device memory (see capture.h). */
#include "capture.h"

__thread const void *capture_hooked_buffer __attribute__((tls_model("initial-exec")));

void capture_note_hooked(const void *buffer)
{
	capture_hooked_buffer = buffer;
}

atomic_int capture_hooks_installed;

void capture_hook_added(void)
{
	atomic_store_explicit(&capture_hooks_installed, 1, memory_order_relaxed);
}

void capture_hook_cleared(void)
{
	atomic_store_explicit(&capture_hooks_installed, 0, memory_order_relaxed);
}
