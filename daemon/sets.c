/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sets of map indices (see sets.h). */
#include <stdlib.h>

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
