/* SPDX-License-Identifier: MIT */
/* Graph capture is not device memory (see capture.h). */
#include "capture.h"

__thread const void *capture_hooked_buffer __attribute__((tls_model("initial-exec")));

void capture_note_hooked(const void *buffer)
{
	capture_hooked_buffer = buffer;
}
