/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whose request gets the next slice of the daemon's time.
 *
 * Every request is answered a slice at a time (service_step()), and
 * this queue says whose slice comes next, so that no client's work keeps
 * another's waiting for more than a slice or so:
 *
 *   - clients that may write (root, the write group) come first, in turn,
 *     one slice each; after WRITER_TURNS of their slices in a row, a
 *     reader's slice goes, so that readers are slowed down, never stopped;
 *   - clients that may only read are served per user, users in turn: a
 *     user's connections share that user's turn, one request at a time in
 *     the order they came, so that opening more connections buys no more
 *     time, and only one of a user's requests holds working memory.
 *
 * The entries are the caller's (embedded in its client); users are
 * allocated here, one per reading user with something queued.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define TURNS_WRITER_STREAK 4

struct turns_user;

struct turns_entry {
	bool writer;
	uid_t uid;
	/* the queue's */
	bool queued;
	struct turns_user *user;
	struct turns_entry *next;
};

struct turns {
	struct turns_entry *writers, *writers_tail;
	struct turns_user *users, *users_tail; /* readers' users, in turn */
	unsigned writer_streak;
};

void turns_init(struct turns *q);
/* Free what the queue allocated; its entries are the caller's. */
void turns_deinit(struct turns *q);

/* Queue @e (with @e->writer and @e->uid set) at the end of its turn.
 * 0 or -ENOMEM. */
int turns_add(struct turns *q, struct turns_entry *e);

/*
 * The entry whose slice comes now, taken off the queue (NULL: none).
 * Give it back with turns_put_back() if its work goes on.
 */
struct turns_entry *turns_next(struct turns *q);

/* @e, just taken by turns_next(), has more to do: a writer goes to the
 * end of the writers' turn; a reader stays first among its user's
 * requests, and its user goes to the end of the users' turn. 0 or
 * -ENOMEM. */
int turns_put_back(struct turns *q, struct turns_entry *e);

/* Take @e off the queue wherever it is (its client went away). */
void turns_remove(struct turns *q, struct turns_entry *e);

bool turns_empty(const struct turns *q);
