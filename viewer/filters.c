/* SPDX-License-Identifier: MIT */
/*
 * The --device / --pid filters of show and leaks: one rule for both.  A
 * filter naming a chip or a pid the segment does not have is an error, not
 * an empty report: the user asked about something that is not there (a
 * typo, or the wrong segment), and "nothing" would read as "all is well".
 */
#include "viewer.h"

int viewer_check_filters(const char *sub, const char *shm, const struct model *m,
			 int64_t device, int64_t pid)
{
	if (device >= 0 && model_dev_index(m, (uint32_t)device) < 0) {
		viewer_err(sub, "%s: no chip %lld in the segment ('ttmem show' lists the chips)",
			   shm, (long long)device);
		return VX_NOMATCH;
	}
	if (pid >= 0) {
		for (size_t i = 0; i < m->nproc; i++)
			if (m->proc[i].pid == (uint32_t)pid)
				return VX_OK;
		viewer_err(sub, "%s: no process with pid %lld in the segment", shm, (long long)pid);
		return VX_NOMATCH;
	}
	return VX_OK;
}
