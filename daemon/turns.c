/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The slice queue (see turns.h). */
#include <errno.h>
#include <stdlib.h>

#include "turns.h"

struct turns_user {
	uid_t uid;
	struct turns_entry *head, *tail; /* its requests, in the order they came */
	struct turns_user *next;
};

void turns_init(struct turns *q)
{
	*q = (struct turns){ 0 };
}

void turns_deinit(struct turns *q)
{
	while (q->users) {
		struct turns_user *u = q->users;

		q->users = u->next;
		for (struct turns_entry *e = u->head; e; e = e->next)
			e->queued = false;
		free(u);
	}
	for (struct turns_entry *e = q->writers; e; e = e->next)
		e->queued = false;
	turns_init(q);
}

static struct turns_user *find_user(struct turns *q, uid_t uid)
{
	for (struct turns_user *u = q->users; u; u = u->next)
		if (u->uid == uid)
			return u;
	return NULL;
}

/* @u to the end of the users' line. */
static void append_user(struct turns *q, struct turns_user *u)
{
	u->next = NULL;
	if (q->users_tail)
		q->users_tail->next = u;
	else
		q->users = u;
	q->users_tail = u;
}

/* The user of @uid in turn, appended at the end if it had nothing queued. */
static struct turns_user *user_of(struct turns *q, uid_t uid)
{
	struct turns_user *u = find_user(q, uid);

	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	append_user(q, u);
	return u;
}

static void append(struct turns_entry **head, struct turns_entry **tail, struct turns_entry *e)
{
	e->next = NULL;
	if (*tail)
		(*tail)->next = e;
	else
		*head = e;
	*tail = e;
}

static void unlink_user(struct turns *q, struct turns_user *u)
{
	struct turns_user **at = &q->users, *prev = NULL;

	while (*at && *at != u) {
		prev = *at;
		at = &(*at)->next;
	}
	if (!*at)
		return;
	*at = u->next;
	if (q->users_tail == u)
		q->users_tail = prev;
	free(u);
}

int turns_add(struct turns *q, struct turns_entry *e)
{
	if (e->writer) {
		append(&q->writers, &q->writers_tail, e);
	} else {
		struct turns_user *u = user_of(q, e->uid);

		if (!u)
			return -ENOMEM;
		append(&u->head, &u->tail, e);
		e->user = u;
	}
	e->queued = true;
	return 0;
}

struct turns_entry *turns_next(struct turns *q)
{
	struct turns_entry *e;
	struct turns_user *u;

	if (q->writers && (!q->users || q->writer_streak < TURNS_WRITER_STREAK)) {
		e = q->writers;
		q->writers = e->next;
		if (!q->writers)
			q->writers_tail = NULL;
		q->writer_streak++;
		e->queued = false;
		e->next = NULL;
		return e;
	}
	u = q->users;
	if (!u)
		return NULL;
	q->writer_streak = 0;
	e = u->head;
	u->head = e->next;
	if (!u->head)
		u->tail = NULL;
	/* this user's turn is had: to the end of the line, or gone */
	q->users = u->next;
	if (!q->users)
		q->users_tail = NULL;
	if (u->head)
		append_user(q, u);
	else
		free(u);
	e->queued = false;
	e->user = NULL;
	e->next = NULL;
	return e;
}

int turns_put_back(struct turns *q, struct turns_entry *e)
{
	struct turns_user *u;

	if (e->writer)
		return turns_add(q, e);
	u = user_of(q, e->uid);
	if (!u)
		return -ENOMEM;
	/* first among its user's requests: one at a time, in order */
	e->next = u->head;
	u->head = e;
	if (!u->tail)
		u->tail = e;
	e->user = u;
	e->queued = true;
	return 0;
}

void turns_remove(struct turns *q, struct turns_entry *e)
{
	struct turns_entry **head, **tail, **at, *prev = NULL;
	struct turns_user *u = e->user;

	if (!e->queued)
		return;
	head = e->writer ? &q->writers : &u->head;
	tail = e->writer ? &q->writers_tail : &u->tail;
	for (at = head; *at && *at != e; at = &(*at)->next)
		prev = *at;
	if (*at) {
		*at = e->next;
		if (*tail == e)
			*tail = prev;
	}
	e->queued = false;
	e->user = NULL;
	e->next = NULL;
	if (u && !u->head)
		unlink_user(q, u);
}

bool turns_empty(const struct turns *q)
{
	return !q->writers && !q->users;
}
