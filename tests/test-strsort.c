/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The string sort against the C library's: the real fixture's names (and
 * the fixture twice over, so every name has an equal twin whose input order
 * must hold), then names built to stress chunk boundaries, shared prefixes
 * and bytes above 0x7f.
 */
#include <stdint.h>
#include <string.h>

#include "strsort.h"
#include "testlib.h"

/* Bytewise, as strcmp() orders them; equal strings by input order. */
static int cmp_reference(const void *a, const void *b)
{
	const struct strsort_item *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (c == 0)
		c = (x->len > y->len) - (x->len < y->len);
	if (c == 0)
		c = (x->id > y->id) - (x->id < y->id);
	return c;
}

/* Sort @v both ways and check that the orders agree item by item. */
static void check_sorts_like_reference(const char *what, struct strsort_item *v, size_t n)
{
	struct strsort_item *ref = malloc(sizeof(*ref) * (n ? n : 1));
	size_t wrong = 0;

	memcpy(ref, v, sizeof(*ref) * n);
	qsort(ref, n, sizeof(*ref), cmp_reference);
	CHECK_EQ_INT(strsort(v, n), 0);
	for (size_t i = 0; i < n; i++)
		wrong += v[i].id != ref[i].id;
	if (wrong)
		fprintf(stderr, "%s: %zu of %zu items out of place\n", what, wrong, n);
	CHECK_EQ_INT(wrong, 0);
	free(ref);
}

/* The fixture's names (first word of each line), @copies times over. */
static struct strsort_item *fixture_items(char *text, size_t copies, size_t *n_out)
{
	size_t lines = 0, n = 0;
	struct strsort_item *v;

	for (char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	v = malloc(sizeof(*v) * lines * copies);
	for (size_t c = 0; c < copies; c++) {
		for (char *p = text; *p;) {
			size_t len = strcspn(p, " \n");

			v[n] = (struct strsort_item){ p, (uint32_t)len, (uint32_t)n };
			n++;
			p += strcspn(p, "\n");
			p += *p == '\n';
		}
	}
	*n_out = n;
	return v;
}

/*
 * Every string over the alphabet {a, b, 0xff} of length 0 to 9 that starts
 * with 7 'a's, in a scrambled order: lengths and differences on both sides
 * of the 8-byte chunk boundary, and one byte that a signed compare would
 * put first.
 */
static void check_chunk_boundaries(void)
{
	static const char alphabet[] = { 'a', 'b', (char)0xff };
	enum { MAX = 3 * 3 + 3 + 1 + 1 };
	char text[MAX][10];
	struct strsort_item v[MAX];
	size_t n = 0;

	for (size_t len = 0; len <= 7; len += 7) {
		memset(text[n], 'a', len);
		v[n] = (struct strsort_item){ text[n], (uint32_t)len, (uint32_t)n };
		n++;
	}
	for (size_t x = 0; x < 3; x++) {
		memset(text[n], 'a', 7);
		text[n][7] = alphabet[x];
		v[n] = (struct strsort_item){ text[n], 8, (uint32_t)n };
		n++;
		for (size_t y = 0; y < 3; y++) {
			memset(text[n], 'a', 7);
			text[n][7] = alphabet[x];
			text[n][8] = alphabet[y];
			v[n] = (struct strsort_item){ text[n], 9, (uint32_t)n };
			n++;
		}
	}
	/* Reverse the input so that the sort has work to do. */
	for (size_t i = 0; i < n / 2; i++) {
		struct strsort_item t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	check_sorts_like_reference("chunk boundaries", v, n);
	/* The empty string is first; "aaaaaaa" (7) before "aaaaaaaa" (8). */
	CHECK_EQ_INT(v[0].len, 0);
	CHECK_EQ_INT(v[1].len, 7);
	CHECK_EQ_INT(v[2].len, 8);
	CHECK_EQ_INT((unsigned char)v[n - 1].s[7], 0xff);
}

static void check_chunks(void)
{
	/* Zero-padded, big-endian, and taken from the requested offset. */
	CHECK(strsort_chunk("ab", 2, 0) == 0x6162000000000000ull);
	CHECK(strsort_chunk("abcdefghij", 10, 0) == 0x6162636465666768ull);
	CHECK(strsort_chunk("abcdefghij", 10, 8) == 0x696a000000000000ull);
	CHECK(strsort_chunk("abcdefgh", 8, 8) == 0);
	CHECK(strsort_chunk("", 0, 0) == 0);
	/* Only @len bytes count, whatever follows them. */
	CHECK(strsort_chunk("abcXYZ", 3, 0) == 0x6162630000000000ull);
	CHECK(strsort_chunk("\xff", 1, 0) > strsort_chunk("a", 1, 0));
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	char path[4096];
	struct strsort_item *v;
	size_t len, n;
	char *text;

	check_chunks();
	check_chunk_boundaries();

	snprintf(path, sizeof(path), "%s/debian-6.1-loop-dummy.txt", fixtures);
	text = test_read_file(path, &len);
	v = fixture_items(text, 1, &n);
	CHECK(n > 30000);
	check_sorts_like_reference("fixture", v, n);
	free(v);

	/* Twins: each name twice, the copies far apart in the input. */
	v = fixture_items(text, 2, &n);
	check_sorts_like_reference("fixture twice", v, n);
	free(v);

	CHECK_EQ_INT(strsort(NULL, 0), 0);
	free(text);
	return test_finish("test-strsort");
}
