/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel-exact pattern classes and glob matching (see glob.h).
 *
 * Where the kernel is fragile, ftidx follows it as far as its answer is
 * determined:
 * - A class that is never closed makes its '[' an ordinary character.
 * - A class compared with the end of the name never matches on newer
 *   kernels (GLOB_CLASS_END_STOPS). On 6.1 (GLOB_CLASS_END_TAKES_NUL) a
 *   negated class "[!...]" matches the terminating NUL, since its
 *   glob_match() has no end check there, and the kernel carries on past
 *   the name: if all that is left of the pattern is one '*', the answer is
 *   a match ("*[!a-z]*" matches every name). If anything else is left, the
 *   kernel goes on to read stack memory past the name and its answer is
 *   not determined: GLOB_UNDEFINED, which the resolver refuses rather than
 *   guess. While the rule is not known, every case where the two kernels
 *   would differ is GLOB_UNDEFINED too.
 */
#include <ctype.h>
#include <string.h>

#include "glob.h"


void glob_classify(struct glob *g, const char *s, size_t len)
{
	g->kind = GLOB_FULL;
	g->text = s;
	g->len = len;

	if (len > 0 && isdigit((unsigned char)s[0])) {
		g->kind = GLOB_INDEX;
		return;
	}

	for (size_t i = 0; i < len; i++) {
		/* most tokens are plain names: one lookup per byte */
		if (!glob_is_special((unsigned char)s[i]))
			continue;
		if (s[i] == '*') {
			if (i == 0) {
				g->kind = GLOB_SUFFIX;
			} else if (i == len - 1) {
				g->kind = g->kind == GLOB_SUFFIX ? GLOB_SUBSTR : GLOB_PREFIX;
				g->len = i;
				break;
			} else {
				g->kind = GLOB_WILD;
				return;
			}
		} else if (s[i] == '?' || s[i] == '[' || s[i] == '\\') {
			g->kind = GLOB_WILD;
			g->len = len;
			return;
		}
	}

	/* The literal part of "*foo" and "*foo*" starts after the star. */
	if (g->kind == GLOB_SUFFIX || g->kind == GLOB_SUBSTR) {
		g->text++;
		g->len--;
	}
}

static bool has_substring(const char *str, size_t str_len, const char *needle, size_t len)
{
	if (len == 0)
		return true;
	return str_len >= len && memmem(str, str_len, needle, len) != NULL;
}

int glob_matches(const struct glob *g, const struct glob_rules *rules, const char *str,
		 size_t str_len)
{
	switch (g->kind) {
	case GLOB_FULL:
		return str_len == g->len && memcmp(str, g->text, g->len) == 0;
	case GLOB_PREFIX:
		return str_len >= g->len && memcmp(str, g->text, g->len) == 0;
	case GLOB_SUFFIX:
		return str_len >= g->len && memcmp(str + str_len - g->len, g->text, g->len) == 0;
	case GLOB_SUBSTR:
		return has_substring(str, str_len, g->text, g->len);
	case GLOB_WILD:
		return glob_wild_match(g->text, g->len, str, rules);
	case GLOB_INDEX:
		break;
	}
	return false;
}

/*
 * Match the character class that starts at *@pat (just after '[') against
 * @c. Returns 1 or 0 and moves *@pat past the closing ']', or -1 when the
 * class is never closed (then *@pat is left alone).
 */
static int class_match(const char **pat, const char *end, unsigned char c)
{
	const char *p = *pat;
	bool inverted = p < end && *p == '!';
	bool match = false;
	unsigned char lo;

	p += inverted;
	if (p >= end)
		return -1;
	lo = (unsigned char)*p++;
	for (;;) {
		unsigned char hi = lo;

		if (p < end && *p == '-' && (p + 1 >= end || p[1] != ']')) {
			if (p + 1 >= end)
				return -1;
			hi = (unsigned char)p[1];
			p += 2;
		}
		match |= lo <= c && c <= hi;
		if (p >= end)
			return -1;
		lo = (unsigned char)*p++;
		if (lo == ']')
			break;
	}
	*pat = p;
	return match != inverted;
}

/* What a class that took the NUL leaves to decide, with @rest still to match. */
static int class_took_nul(enum glob_class_end rule, const char *rest, const char *end)
{
	bool only_star = end - rest == 1 && *rest == '*';

	switch (rule) {
	case GLOB_CLASS_END_STOPS:
		return GLOB_NO_MATCH;
	case GLOB_CLASS_END_TAKES_NUL:
		return only_star ? GLOB_MATCH : GLOB_UNDEFINED;
	case GLOB_CLASS_END_UNKNOWN:
		break;
	}
	return GLOB_UNDEFINED;
}

/*
 * One pass with a single backtrack point: since '*' matches any run of
 * characters, retrying from the most recent star is always enough.
 */
int glob_wild_match(const char *pat, size_t pat_len, const char *str,
		    const struct glob_rules *rules)
{
	const char *end = pat + pat_len;
	const char *star_pat = NULL, *star_str = NULL;

	for (;;) {
		unsigned char c = (unsigned char)*str;
		unsigned char d = pat < end ? (unsigned char)*pat++ : '\0';
		bool ok;

		switch (d) {
		case '*':
			if (pat == end)
				return GLOB_MATCH;
			star_pat = pat;
			star_str = str;
			continue;
		case '?':
			ok = c != '\0';
			break;
		case '[': {
			int r = class_match(&pat, end, c);

			if (r == 1 && c == '\0') /* a negated class took the NUL */
				return class_took_nul(rules->class_end, pat, end);
			ok = r < 0 ? c == '[' : r == 1;
			break;
		}
		case '\\':
			d = pat < end ? (unsigned char)*pat++ : '\0';
			/* fall through */
		default:
			if (c == d && d == '\0')
				return GLOB_MATCH;
			ok = c == d;
			break;
		}

		if (ok) {
			str++;
			continue;
		}
		if (c == '\0' || !star_pat)
			return GLOB_NO_MATCH;
		pat = star_pat;
		str = ++star_str;
	}
}
