/* SPDX-License-Identifier: MIT */
/*
 * Hook-safe logging: a vsnprintf-free formatter into a stack buffer, then one
 * write(2).  Hooks may run while the host holds stdio locks (or before stdio
 * exists), so nothing here touches FILE*, locale or the heap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int log_level = LOG_WARN;

struct line {
	char buf[512];
	size_t len;
};

static void put_char(struct line *l, char c)
{
	if (l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(l, *s++);
}

static void put_num(struct line *l, unsigned long long v, unsigned base, int neg)
{
	char tmp[24];
	int n = 0;

	if (neg)
		put_char(l, '-');
	do {
		unsigned d = (unsigned)(v % base);
		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n)
		put_char(l, tmp[--n]);
}

void log_write(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap);
	va_end(ap);
}

void log_vwrite(const char *fmt, va_list ap)
{
	int saved = errno;
	struct line l = { .len = 0 };

	put_str(&l, "ttmem: ");
	for (const char *p = fmt; *p; p++) {
		int lng = 0;

		if (*p != '%') {
			put_char(&l, *p);
			continue;
		}
		p++;
		while (*p == 'l') {
			lng++;
			p++;
		}
		switch (*p) {
		case 's':
			put_str(&l, va_arg(ap, const char *));
			break;
		case 'd': {
			long long v = lng >= 2 ? va_arg(ap, long long) :
				      lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&l, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
				10, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng >= 2 ? va_arg(ap, unsigned long long) :
					       lng == 1 ? va_arg(ap, unsigned long) :
							  va_arg(ap, unsigned);
			put_num(&l, v, *p == 'x' ? 16 : 10, 0);
			break;
		}
		case 'p':
			put_str(&l, "0x");
			put_num(&l, (uintptr_t)va_arg(ap, void *), 16, 0);
			break;
		case '%':
			put_char(&l, '%');
			break;
		case '\0':
			p--;
			break;
		default:
			put_char(&l, '%');
			put_char(&l, *p);
		}
	}
	l.buf[l.len++] = '\n';

	for (size_t off = 0; off < l.len;) {
		ssize_t w = write(STDERR_FILENO, l.buf + off, l.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}
