/* SPDX-License-Identifier: MIT */
/* Human-readable byte counts (binary units, as nvidia-smi's MiB). */
#include <inttypes.h>
#include <stdio.h>

#include "viewer.h"

const char *fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned u = 0;
	double v = (double)bytes;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, v >= 100.0 ? "%.0f %s" : v >= 10.0 ? "%.1f %s" : "%.2f %s",
		 v, unit[u]);
	return buf;
}

const char *fmt_delta(char *buf, size_t len, int64_t bytes)
{
	char tmp[32];
	uint64_t mag = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;

	snprintf(buf, len, "%c%s", bytes < 0 ? '-' : '+', fmt_bytes(tmp, sizeof(tmp), mag));
	return buf;
}
