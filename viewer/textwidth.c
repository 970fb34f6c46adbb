/* SPDX-License-Identifier: MIT */
/*
 * Where the width of text output comes from (textfit.h, tf_width): apart
 * from textfit.c, which only fits, so that the fuzzers link the fitting
 * without the command line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "textfit.h"
#include "viewer.h"

/* A width as --width and COLUMNS spell it; -1 when it is not one. */
static int parse_width(const char *s, int zero_ok, unsigned *out)
{
	uint64_t v;

	if (viewer_parse_u64(s, TF_MAX_WIDTH, &v) < 0)
		return -1;
	if (v == 0 && zero_ok) {
		*out = 0;
		return 0;
	}
	if (v < TF_MIN_WIDTH)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int tf_width(const char *sub, const char *opt, unsigned *width)
{
	struct winsize ws;
	const char *env;

	if (opt) {
		if (parse_width(opt, 1, width) < 0) {
			viewer_err(sub, "--width: '%s' is not a width (0 for no limit, or %u to %u "
				   "columns)", opt, TF_MIN_WIDTH, TF_MAX_WIDTH);
			return -1;
		}
		return 0;
	}
	*width = 0;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col) {
		/* A terminal narrower than any table still gets every line
		 * within its width, as tight as it goes. */
		*width = ws.ws_col < TF_MIN_WIDTH ? TF_MIN_WIDTH : ws.ws_col;
		return 0;
	}
	/* A COLUMNS that is not a number is the environment's mistake, not
	 * the command line's: ignored, the output then has no limit. */
	env = getenv("COLUMNS");
	if (env && parse_width(env, 0, width) < 0)
		*width = 0;
	return 0;
}

