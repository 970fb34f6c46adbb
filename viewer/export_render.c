/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export`: one exposition of a segment, from a mapping opened for it
 * and closed after it.  A long-running exporter must not die of, or keep
 * serving, a segment that changed under it: each call attaches, validates
 * and snapshots anew, and reports a failure as a reason instead of exiting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

int export_render(const struct export_src *src, char **buf, size_t *len, char *why,
		  size_t whylen)
{
	struct ttmem_open_opts opts = { .readonly = 1, .no_create = 1 };
	struct model_opts mo = { .device = -1, .pid = -1,
				 .all_procs = src->which == PROM_PROCS_ALL };
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct model m;
	char err[256] = "";
	FILE *f;
	int rc;

	*buf = NULL;
	*len = 0;
	rc = ttmem_table_open(&t, src->shm, &opts, err, sizeof(err));
	if (rc == 0 && !t)
		rc = -EIO;
	if (rc == -ENOENT) {
		/* Nothing tracked yet is a healthy state, not a target down. */
		f = open_memstream(buf, len);
		if (!f) {
			snprintf(why, whylen, "%s", strerror(errno));
			return VX_SYSTEM;
		}
		format_prom_absent(f, src->shm);
		if (fclose(f) != 0) {
			snprintf(why, whylen, "rendering: %s", strerror(errno));
			free(*buf);
			*buf = NULL;
			return VX_SYSTEM;
		}
		return VX_OK;
	}
	if (rc < 0) {
		snprintf(why, whylen, "%s", err[0] ? err : ttmem_strerror(rc));
		return viewer_exit_code(rc);
	}
	rc = ttmem_snapshot(t, &snap);
	if (rc < 0) {
		snprintf(why, whylen, "%s: snapshot: %s", src->shm, ttmem_strerror(rc));
		ttmem_table_close(t);
		return viewer_exit_code(rc);
	}
	rc = model_build(&m, t, &snap, &mo);
	ttmem_snapshot_free(&snap);
	/* A file that shrank under the mapping read as zeros (main.c's SIGBUS
	 * guard): nothing of this round may be served as the segment. */
	if (!ttmem_table_intact(t)) {
		model_release(&m); /* safe on a failed model (viewer.h) */
		ttmem_table_close(t);
		snprintf(why, whylen, "%s: the segment shrank while being read (its owner truncated "
			 "or replaced it)", src->shm);
		return VX_RESIZED;
	}
	ttmem_table_close(t);
	if (rc < 0) {
		snprintf(why, whylen, "%s: %s", src->shm, ttmem_strerror(rc));
		return VX_SYSTEM;
	}
	f = open_memstream(buf, len);
	if (!f) {
		snprintf(why, whylen, "%s", strerror(errno));
		model_release(&m);
		return VX_SYSTEM;
	}
	format_prom_ex(f, &m, src->shm, src->which, src->series);
	model_release(&m);
	if (fclose(f) != 0) {
		snprintf(why, whylen, "rendering: %s", strerror(errno));
		free(*buf);
		*buf = NULL;
		return VX_SYSTEM;
	}
	return VX_OK;
}
