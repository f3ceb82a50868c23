/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sets of map indices (see sets.h). */
#include <stdlib.h>

#include "proto.h"
#include "sets.h"

uint32_t *sets_merge(const uint32_t *a, size_t na, const uint32_t *add, size_t nadd,
		     const uint32_t *drop, size_t ndrop, size_t *n_out)
{
	uint32_t *v = malloc(sizeof(*v) * (na + nadd + 1));
	size_t i = 0, j = 0, k = 0, n = 0;

	if (!v)
		return NULL;
	while (i < na || j < nadd) {
		uint32_t x;

		if (j >= nadd || (i < na && a[i] < add[j]))
			x = a[i++];
		else if (i >= na || add[j] < a[i])
			x = add[j++];
		else
			x = a[i++], j++;
		while (k < ndrop && drop[k] < x)
			k++;
		if (k < ndrop && drop[k] == x)
			continue;
		v[n++] = x;
	}
	*n_out = n;
	return v;
}

void sets_differ(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *only_a,
		 size_t *only_b)
{
	size_t i = 0, j = 0;

	*only_a = *only_b = 0;
	while (i < na || j < nb) {
		if (j >= nb || (i < na && a[i] < b[j]))
			i++, (*only_a)++;
		else if (i >= na || b[j] < a[i])
			j++, (*only_b)++;
		else
			i++, j++;
	}
}

uint32_t *sets_after(uint16_t op, const uint32_t *before, size_t n_before,
		     const struct resolution *res, size_t *n_out)
{
	switch (op) {
	case FTIDX_OP_SET:
		return sets_merge(NULL, 0, res->enable, res->n_enable, NULL, 0, n_out);
	case FTIDX_OP_ADD:
		return sets_merge(before, n_before, res->enable, res->n_enable, res->disable,
				  res->n_disable, n_out);
	case FTIDX_OP_REMOVE:
		return sets_merge(before, n_before, NULL, 0, res->enable, res->n_enable, n_out);
	}
	return sets_merge(NULL, 0, NULL, 0, NULL, 0, n_out); /* CLEAR */
}
