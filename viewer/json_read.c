/* SPDX-License-Identifier: MIT */
/*
 * The JSON reader (json_read.h): recursive descent over a byte range, depth
 * bounded, every read checked against the end first.  Fuzzed by
 * tests/viewer/test_98_diff.c (cut short at every byte, bytes flipped).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_read.h"

struct jr {
	const char *s, *p, *end;
	struct jr_error *err;
	int failed;
};

static int fail(struct jr *j, int truncated, const char *msg)
{
	if (!j->failed) {
		j->failed = 1;
		j->err->offset = (size_t)(j->p - j->s);
		j->err->truncated = truncated;
		j->err->line = 1;
		for (const char *q = j->s; q < j->p; q++)
			j->err->line += *q == '\n';
		snprintf(j->err->msg, sizeof(j->err->msg), "%s", msg);
	}
	return -1;
}

/* At the end: the text was cut short inside a value. */
static int fail_here(struct jr *j, const char *msg)
{
	return j->p >= j->end ? fail(j, 1, "the text ends inside a value") : fail(j, 0, msg);
}

static void skip_ws(struct jr *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int literal(struct jr *j, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i < n; i++, j->p++)
		if (j->p >= j->end || *j->p != word[i])
			return fail_here(j, "not a JSON value");
	return 0;
}

static int hex4(struct jr *j, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++, j->p++) {
		char c = j->p < j->end ? *j->p : 0;

		if (j->p >= j->end)
			return fail_here(j, "");
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return fail(j, 0, "a \\u escape needs four hex digits");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *d, uint32_t cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | (cp >> 6));
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (char)(0xe0 | (cp >> 12));
		d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (char)(0xf0 | (cp >> 18));
	d[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string after its opening quote; decoded into a malloc'd *out.  The
 * decoded text is never longer than the escaped one (\uXXXX: 6 bytes for
 * at most 3; a pair: 12 for 4), so one allocation of the raw span holds it. */
static int string(struct jr *j, char **out)
{
	const char *q = j->p;
	char *d, *buf;

	while (q < j->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	if (q >= j->end) {
		j->p = j->end;
		return fail(j, 1, "the text ends inside a string");
	}
	buf = d = malloc((size_t)(q - j->p) + 1);
	if (!buf)
		return fail(j, 0, "out of memory");
	while (*j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		uint32_t cp, lo;

		if (c < 0x20) {
			free(buf);
			return fail(j, 0, "a control character inside a string");
		}
		if (c != '\\') {
			*d++ = (char)c;
			j->p++;
			continue;
		}
		j->p++;
		switch (*j->p++) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u':
			if (hex4(j, &cp) < 0) {
				free(buf);
				return -1;
			}
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u') {
				const char *save = j->p;

				j->p += 2;
				if (hex4(j, &lo) < 0) {
					free(buf);
					return -1;
				}
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					j->p = save;   /* a lone high surrogate, then another escape */
			}
			/* No NUL inside a string, no lone surrogate: U+FFFD. */
			if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
				cp = 0xfffd;
			d += put_utf8(d, cp);
			break;
		default:
			j->p--;
			free(buf);
			return fail(j, 0, "an unknown escape inside a string");
		}
	}
	j->p++;
	*d = 0;
	*out = buf;
	return 0;
}

static int number(struct jr *j, struct jr_value *v)
{
	const char *b = j->p;
	char tmp[400];
	int integer = 1;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return fail_here(j, "");
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return fail(j, 0, "not a JSON value");
	if (j->p < j->end && *j->p == '.') {
		integer = 0;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail_here(j, "a digit must follow the decimal point");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		integer = 0;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return fail_here(j, "a digit must follow the exponent");
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if ((size_t)(j->p - b) >= sizeof(tmp))
		return fail(j, 0, "a number too long");
	memcpy(tmp, b, (size_t)(j->p - b));
	tmp[j->p - b] = 0;
	v->type = JR_NUM;
	v->num = strtod(tmp, NULL);
	if (integer && tmp[0] != '-') {
		errno = 0;
		v->u64 = strtoull(tmp, NULL, 10);
		v->is_u64 = errno == 0;
	}
	return 0;
}

static int value(struct jr *j, struct jr_value *v, unsigned depth);

/* An array or object after its opening bracket. */
static int container(struct jr *j, struct jr_value *v, unsigned depth, int obj)
{
	size_t cap = 0;
	char close = obj ? '}' : ']';

	v->type = obj ? JR_OBJ : JR_ARR;
	if (depth >= JR_MAX_DEPTH)
		return fail(j, 0, "nested too deep");
	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		struct jr_value *it;
		char *key = NULL;

		skip_ws(j);
		if (obj) {
			if (j->p >= j->end || *j->p != '"')
				return fail_here(j, "an object member must start with a name");
			j->p++;
			if (string(j, &key) < 0)
				return -1;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return fail_here(j, "a ':' must follow a member's name");
			}
			j->p++;
		}
		if (v->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct jr_value *n = realloc(v->items, ncap * sizeof(*n));

			if (!n) {
				free(key);
				return fail(j, 0, "out of memory");
			}
			v->items = n;
			cap = ncap;
		}
		it = &v->items[v->n++];
		memset(it, 0, sizeof(*it));
		it->key = key;
		if (value(j, it, depth + 1) < 0)
			return -1;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		return fail_here(j, obj ? "a ',' or '}' must follow a member" :
					  "a ',' or ']' must follow an item");
	}
}

static int value(struct jr *j, struct jr_value *v, unsigned depth)
{
	skip_ws(j);
	if (j->p >= j->end)
		return fail(j, 1, "the text ends where a value should be");
	switch (*j->p) {
	case '{':
	case '[':
		j->p++;
		return container(j, v, depth, j->p[-1] == '{');
	case '"':
		j->p++;
		v->type = JR_STR;
		return string(j, &v->str);
	case 't':
		v->type = JR_BOOL;
		v->boolean = 1;
		return literal(j, "true");
	case 'f':
		v->type = JR_BOOL;
		return literal(j, "false");
	case 'n':
		v->type = JR_NULL;
		return literal(j, "null");
	default:
		return number(j, v);
	}
}

static void release(struct jr_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		release(&v->items[i]);
	free(v->items);
	free(v->str);
	free(v->key);
}

void jr_free(struct jr_value *v)
{
	if (!v)
		return;
	release(v);
	free(v);
}

int jr_parse(const char *text, size_t len, struct jr_value **out, struct jr_error *err)
{
	struct jr j = { text, text, text + len, err, 0 };
	struct jr_value *v = calloc(1, sizeof(*v));

	memset(err, 0, sizeof(*err));
	*out = NULL;
	if (!v) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -1;
	}
	if (value(&j, v, 0) == 0) {
		skip_ws(&j);
		if (j.p < j.end)
			fail(&j, 0, "more text after the value");
	}
	if (j.failed) {
		jr_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

const struct jr_value *jr_get(const struct jr_value *v, const char *key)
{
	if (!v || v->type != JR_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->items[i].key, key))
			return &v->items[i];
	return NULL;
}

const char *jr_str(const struct jr_value *v)
{
	return v && v->type == JR_STR ? v->str : NULL;
}

int jr_u64(const struct jr_value *v, uint64_t *out)
{
	if (!v || v->type != JR_NUM || !v->is_u64)
		return -1;
	*out = v->u64;
	return 0;
}
