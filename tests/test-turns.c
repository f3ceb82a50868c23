/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whose slice comes next: writers first, a reader's slice after every
 * TURNS_WRITER_STREAK of theirs, readers per user (more connections buy
 * no more time), one request of a user at a time, in order, and entries
 * taken off wherever they are.
 */
#include <string.h>

#include "testlib.h"
#include "turns.h"

/* Run @q for @n slices; each entry has @work[i] slices of work left.
 * Writes the order of the entries served into @order (indices into @e). */
static size_t run(struct turns *q, struct turns_entry *e, size_t n_e, int *work, int *order,
		  size_t n)
{
	size_t k = 0;

	while (k < n) {
		struct turns_entry *t = turns_next(q);
		size_t i;

		if (!t)
			break;
		i = (size_t)(t - e);
		CHECK(i < n_e);
		order[k++] = (int)i;
		if (--work[i] > 0)
			CHECK_EQ_INT(turns_put_back(q, t), 0);
	}
	return k;
}

static void writers_first(void)
{
	struct turns q;
	struct turns_entry e[4] = {
		{ .writer = true, .uid = 0 },
		{ .writer = true, .uid = 0 },
		{ .uid = 1000 },
		{ .uid = 1001 },
	};
	int work[4] = { 100, 100, 1, 1 }, order[64];
	size_t n;

	turns_init(&q);
	/* the readers came first, the writers later */
	CHECK_EQ_INT(turns_add(&q, &e[2]), 0);
	CHECK_EQ_INT(turns_add(&q, &e[3]), 0);
	CHECK_EQ_INT(turns_add(&q, &e[0]), 0);
	CHECK_EQ_INT(turns_add(&q, &e[1]), 0);
	n = run(&q, e, 4, work, order, 12);
	CHECK_EQ_INT(n, 12);
	/* TURNS_WRITER_STREAK writer slices, in turn, then one reader's */
	for (size_t k = 0; k < TURNS_WRITER_STREAK; k++)
		CHECK_EQ_INT(order[k], (int)(k % 2));
	CHECK_EQ_INT(order[TURNS_WRITER_STREAK], 2);
	for (size_t k = TURNS_WRITER_STREAK + 1; k < 2 * TURNS_WRITER_STREAK + 1; k++)
		CHECK(order[k] == 0 || order[k] == 1);
	CHECK_EQ_INT(order[2 * TURNS_WRITER_STREAK + 1], 3);
	/* with the readers done, only writers */
	for (size_t k = 2 * TURNS_WRITER_STREAK + 2; k < n; k++)
		CHECK(order[k] == 0 || order[k] == 1);
	turns_remove(&q, &e[0]);
	turns_remove(&q, &e[1]);
	CHECK(turns_empty(&q));
	turns_deinit(&q);
}

/*
 * User 1000 holds 32 connections with long requests, user 1001 one short
 * one: 1001's is served at the second reader slice, and 1000's requests
 * one at a time, in the order they came.
 */
static void readers_per_user(void)
{
	struct turns q;
	struct turns_entry e[33];
	int work[33], order[400];
	size_t n, first_of_1001 = 0;
	int last = 0;
	bool in_order = true;

	turns_init(&q);
	for (int i = 0; i < 33; i++) {
		e[i] = (struct turns_entry){ .uid = i < 32 ? 1000 : 1001 };
		work[i] = i < 32 ? 3 : 1;
		CHECK_EQ_INT(turns_add(&q, &e[i]), 0);
	}
	n = run(&q, e, 33, work, order, 400);
	CHECK_EQ_INT(n, 32 * 3 + 1);
	for (size_t k = 0; k < n; k++) {
		if (order[k] == 32)
			first_of_1001 = k;
		else if (order[k] < last)
			in_order = false;
		else
			last = order[k];
	}
	CHECK_EQ_INT(first_of_1001, 1);
	/* each request of 1000's is done before the next one starts */
	CHECK(in_order);
	CHECK_EQ_INT(order[0], 0);
	CHECK_EQ_INT(order[2], 0);
	CHECK_EQ_INT(order[3], 0);
	CHECK_EQ_INT(order[4], 1);
	CHECK(turns_empty(&q));
	turns_deinit(&q);
}

/* Taken off wherever they are; a user with nothing left is gone. */
static void removal(void)
{
	struct turns q;
	struct turns_entry e[5] = {
		{ .uid = 7 }, { .uid = 7 }, { .uid = 8 }, { .writer = true }, { .uid = 7 },
	};
	struct turns_entry *t;

	turns_init(&q);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(turns_add(&q, &e[i]), 0);
	turns_remove(&q, &e[1]); /* the middle of a user's line */
	turns_remove(&q, &e[4]); /* its end */
	turns_remove(&q, &e[3]); /* the only writer */
	turns_remove(&q, &e[3]); /* not queued: nothing */
	CHECK(turns_next(&q) == &e[0]);
	CHECK(turns_next(&q) == &e[2]);
	CHECK(turns_next(&q) == NULL);
	CHECK(turns_empty(&q));
	/* taken, then put back, then removed */
	CHECK_EQ_INT(turns_add(&q, &e[0]), 0);
	t = turns_next(&q);
	CHECK(t == &e[0] && !t->queued);
	CHECK_EQ_INT(turns_put_back(&q, t), 0);
	turns_remove(&q, &e[0]);
	CHECK(turns_empty(&q));
	/* deinit lets go of what is still queued */
	CHECK_EQ_INT(turns_add(&q, &e[0]), 0);
	CHECK_EQ_INT(turns_add(&q, &e[3]), 0);
	turns_deinit(&q);
	CHECK(!e[0].queued && !e[3].queued && turns_empty(&q));
}

int main(void)
{
	writers_first();
	readers_per_user();
	removal();
	return test_finish("test-turns");
}
