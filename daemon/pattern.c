/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filter token parsing (see pattern.h).
 *
 * Stricter than the kernel on purpose where the kernel silently does
 * something surprising: "010" is index 8 to the kernel (base 0) and "5abc"
 * is index 5, "5:mod:loop" ignores the module, "foo:mod" ignores the
 * missing module. ftidx refuses each with a reason instead.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "pattern.h"

bool pattern_is_placeholder_name(const char *name, size_t len)
{
	size_t n = sizeof(PLACEHOLDER_PREFIX) - 1;

	return len >= n && memcmp(name, PLACEHOLDER_PREFIX, n) == 0;
}

static int parse_index(struct pattern *p, const char *s, size_t len, const char **why)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i])) {
			*why = "an index must be plain decimal digits";
			return -EINVAL;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX) {
			*why = "index out of range";
			return -ERANGE;
		}
	}
	if (len > 1 && s[0] == '0') {
		*why = "an index must be plain decimal (the kernel reads a leading 0 as octal)";
		return -EINVAL;
	}
	if (v == 0) {
		*why = "index 0 is out of range (the first line is 1)";
		return -ERANGE;
	}
	p->is_index = true;
	p->index = (uint32_t)v;
	return 0;
}

/* Split "FUNC:mod:MODULE" at @colon (NULL: there is none); *@func_len
 * is the length of FUNC. */
static int parse_module(struct pattern *p, const char *body, const char *colon, size_t *func_len,
			const char **why)
{
	const char *module;

	if (!colon) {
		*func_len = strlen(body);
		return 0;
	}
	*func_len = (size_t)(colon - body);
	if (strncmp(colon + 1, "mod:", 4) != 0) {
		*why = strncmp(colon + 1, "mod", 3) == 0 && colon[4] == '\0'
			       ? "':mod' needs a module: FUNC:mod:MODULE"
			       : "unknown command after ':' (only FUNC:mod:MODULE is supported)";
		return -EINVAL;
	}
	module = colon + 5;
	if (strchr(module, ':')) {
		*why = "a module name cannot contain ':'";
		return -EINVAL;
	}
	p->has_module = true;
	p->module_exclude = module[0] == '!';
	module += p->module_exclude;
	glob_classify(&p->module, module, strlen(module));
	return 0;
}

/*
 * What a token is made of: its length, whether a byte in it is one the
 * kernel's parser would split or stop at (isspace() or iscntrl() in the C
 * locale, which ftidxd keeps), its first ':', and whether what comes
 * before that is more than a plain name. Batches of names spend most of
 * their resolution here, so each question is asked of eight bytes at a
 * time, or by libc's vectorised string functions.
 */
struct token_scan {
	size_t len;
	bool bad_byte;
	const char *colon;
	bool special; /* a glob's byte before the colon */
};

#define BYTES(b) (0x0101010101010101ull * (b))

/* A byte of @w below 0x21 or equal to 0x7f. Exact as a yes or no: a
 * borrow only runs on from a byte that is itself below. */
static bool word_has_bad_byte(uint64_t w)
{
	uint64_t del = w ^ BYTES(0x7f);

	return (((w - BYTES(0x21)) & ~w) | ((del - BYTES(0x01)) & ~del)) & BYTES(0x80);
}

static bool has_bad_byte(const char *s, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, sizeof(w));
		if (word_has_bad_byte(w))
			return true;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return true;
	return false;
}

static void scan_token(const char *s, struct token_scan *t)
{
	const char *first = strpbrk(s, ":*?[\\");

	t->len = strlen(s);
	t->bad_byte = has_bad_byte(s, t->len);
	t->special = first && *first != ':';
	t->colon = !first ? NULL : *first == ':' ? first : strchr(first, ':');
}

int pattern_parse(struct pattern *p, const char *s, const char **why)
{
	struct token_scan t;
	size_t func_len;
	const char *body;
	int r;

	*p = (struct pattern){ 0 };
	scan_token(s, &t);
	if (t.len == 0) {
		*why = "empty pattern";
		return -EINVAL;
	}
	_Static_assert(PATTERN_MAX == 1024, "the reason below says 1024");
	if (t.len > PATTERN_MAX) {
		*why = "pattern longer than 1024 bytes";
		return -ENAMETOOLONG;
	}
	if (t.bad_byte) {
		*why = "pattern contains whitespace or a control character";
		return -EINVAL;
	}

	p->remove = s[0] == '!';
	body = s + p->remove;
	r = parse_module(p, body, t.colon, &func_len, why);
	if (r < 0)
		return r;

	if (func_len > 0 && isdigit((unsigned char)body[0])) {
		if (p->has_module) {
			*why = "an index cannot be limited to a module";
			return -EINVAL;
		}
		return parse_index(p, body, func_len, why);
	}

	if (t.special)
		glob_classify(&p->func, body, func_len);
	else
		p->func = (struct glob){ GLOB_FULL, body, func_len };
	if (func_len == 0 && !p->has_module) {
		*why = "empty pattern";
		return -EINVAL;
	}
	if (p->func.kind == GLOB_FULL && pattern_is_placeholder_name(body, func_len)) {
		*why = "placeholder of a discarded weak function, never enabled";
		return -EPERM;
	}
	return 0;
}
