/* SPDX-License-Identifier: MIT */
/*
 * Strings from a segment made safe for each output (sanitize.h says what each
 * output gets and why).  One decoder, one notion of "unsafe", used by every
 * rendering of the viewer.
 */
#include <string.h>

#include "sanitize.h"

size_t san_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c, min;
	size_t len;

	if (!n)
		return 0;
	c = u[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		*cp = SAN_INVALID; /* continuation byte, 0xc0/0xc1, 0xf5.. */
		return 1;
	}
	if (len > n)
		goto invalid;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto invalid;
		c = (c << 6) | (u[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto invalid;
	*cp = c;
	return len;
invalid:
	*cp = SAN_INVALID;
	return 1;
}

int san_is_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       (cp >= 0x200b && cp <= 0x200f) ||   /* zero-width, LRM/RLM */
	       (cp >= 0x2028 && cp <= 0x202e) ||   /* separators, bidi embeddings/overrides */
	       (cp >= 0x2060 && cp <= 0x206f) ||   /* word joiner, bidi isolates, ... */
	       cp == 0xfeff || cp == 0xfffe || cp == 0xffff || cp == SAN_INVALID;
}

int san_width(uint32_t cp)
{
	/* Combining marks most scripts use. */
	if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) ||
	    (cp >= 0x1dc0 && cp <= 0x1dff) || (cp >= 0x20d0 && cp <= 0x20ff) ||
	    (cp >= 0xfe20 && cp <= 0xfe2f))
		return 0;
	/* East Asian wide and fullwidth, emoji (Unicode's EastAsianWidth W/F). */
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
	    (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
	    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

/*
 * The terminal form of one decoded character: a visible escape or the bytes
 * as they are.  out gets up to 11 bytes + NUL; returns its columns.
 */
static int term_token(char *out, const char *s, size_t len, uint32_t cp, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";

	if (cp == SAN_INVALID) {
		unsigned char b = (unsigned char)s[0];

		out[0] = '\\', out[1] = 'x', out[2] = hex[b >> 4], out[3] = hex[b & 15], out[4] = 0;
		return 4;
	}
	if (cp == '\\') {
		memcpy(out, "\\\\", 3);
		return 2;
	}
	if (cp < 0x20 || cp == 0x7f) {
		const char *e = cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : cp == '\r' ? "\\r" :
				cp == 0x1b ? "\\e" : NULL;

		if (e) {
			memcpy(out, e, 3);
			return 2;
		}
		out[0] = '\\', out[1] = 'x', out[2] = hex[cp >> 4], out[3] = hex[cp & 15], out[4] = 0;
		return 4;
	}
	if (san_is_unsafe(cp) || (cp >= 0x80 && (flags & SAN_ASCII))) {
		int k = snprintf(out, 12, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);

		return k;
	}
	memcpy(out, s, len);
	out[len] = 0;
	return cp < 0x80 ? 1 : san_width(cp);
}

size_t san_term(FILE *f, const char *s, size_t n, unsigned flags)
{
	size_t cols = 0, i = 0;
	char tok[16];

	while (i < n && s[i]) {
		uint32_t cp;
		size_t len = san_decode(s + i, n - i, &cp);

		cols += (size_t)term_token(tok, s + i, len, cp, flags);
		fputs(tok, f);
		i += len;
	}
	return cols;
}

char *san_cell(char *buf, size_t len, const char *s, size_t n, int width, int right_align,
	       unsigned flags)
{
	size_t used = 0, i = 0;
	int cols = 0;
	char tok[16];

	if (!len)
		return buf;
	while (s && i < n && s[i]) {
		uint32_t cp;
		size_t k = san_decode(s + i, n - i, &cp);
		int w;
		size_t tl;

		w = term_token(tok, s + i, k, cp, flags);
		tl = strlen(tok);
		if (cols + w > width || used + tl + 1 > len)
			break;
		memcpy(buf + used, tok, tl);
		used += tl;
		cols += w;
		i += k;
	}
	if (cols < width) {
		size_t pad = (size_t)(width - cols);

		if (used + pad + 1 > len)
			pad = len - used - 1;
		if (right_align) {
			memmove(buf + pad, buf, used);
			memset(buf, ' ', pad);
		} else {
			memset(buf + used, ' ', pad);
		}
		used += pad;
	}
	buf[used] = 0;
	return buf;
}

void san_json(FILE *f, const char *s, size_t n)
{
	size_t i = 0;

	fputc('"', f);
	while (s && i < n && s[i]) {
		uint32_t cp;
		size_t k = san_decode(s + i, n - i, &cp);

		if (cp == SAN_INVALID)
			fputs("\\ufffd", f);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (san_is_unsafe(cp))
			fprintf(f, "\\u%04x", (unsigned)cp); /* all unsafe ones are in the BMP */
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
	fputc('"', f);
}

/* s as valid UTF-8: invalid bytes, and unsafe characters when asked, as U+FFFD. */
static void utf8_filtered(FILE *f, const char *s, size_t n, int replace_unsafe)
{
	size_t i = 0;

	while (s && i < n && s[i]) {
		uint32_t cp;
		size_t k = san_decode(s + i, n - i, &cp);

		if (cp == SAN_INVALID || (replace_unsafe && san_is_unsafe(cp)))
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
}

void san_utf8(FILE *f, const char *s, size_t n)
{
	utf8_filtered(f, s, n, 0);
}

void san_csv(FILE *f, const char *s, size_t n)
{
	size_t len = 0, i;
	int quote = 0;

	while (s && len < n && s[len])
		len++;
	/* What RFC 4180 quotes, plus spaces at the ends that readers trim. */
	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (len && (s[0] == ' ' || s[len - 1] == ' '))
		quote = 1;
	if (!quote) {
		utf8_filtered(f, s, len, 1);
		return;
	}
	fputc('"', f);
	for (i = 0; i < len;) {
		const char *q = memchr(s + i, '"', len - i);
		size_t chunk = q ? (size_t)(q - (s + i)) : len - i;

		utf8_filtered(f, s + i, chunk, 1);
		i += chunk;
		if (q) {
			fputs("\"\"", f);
			i++;
		}
	}
	fputc('"', f);
}
