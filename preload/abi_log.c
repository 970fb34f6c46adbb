/* SPDX-License-Identifier: MIT */
/*
 * The preload's side of the ABI room's logging contract (abi/abi_log.h):
 * the reader's messages go through the preload's hook-safe log.
 */
#include <stdarg.h>

#include "abi_log.h"
#include "log.h"

int abi_log_level(void)
{
	return log_level;
}

void abi_log_write(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap);
	va_end(ap);
}
