/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The access policy: who gets which role, and what each role may ask. */
#include "access.h"
#include "proto.h"
#include "testlib.h"

int main(void)
{
	struct access_policy open = { .daemon_uid = 0 };
	struct access_policy grp = { .has_write_group = true, .write_group = 4242, .daemon_uid = 0 };
	struct access_policy closed = grp;
	struct access_policy own = { .daemon_uid = 1000 };
	gid_t groups[] = { 10, 4242 };

	closed.others_denied = true;

	CHECK_EQ_INT(access_role(&open, 0, 0, NULL, 0), ACCESS_WRITE);
	CHECK_EQ_INT(access_role(&open, 65534, 65534, NULL, 0), ACCESS_READ);
	CHECK_EQ_INT(access_role(&own, 1000, 1000, NULL, 0), ACCESS_WRITE);
	CHECK_EQ_INT(access_role(&grp, 65534, 65534, groups, 1), ACCESS_READ);
	CHECK_EQ_INT(access_role(&grp, 65534, 65534, groups, 2), ACCESS_WRITE);
	CHECK_EQ_INT(access_role(&grp, 65534, 4242, NULL, 0), ACCESS_WRITE);
	CHECK_EQ_INT(access_role(&closed, 65534, 65534, NULL, 0), ACCESS_DENIED);
	CHECK_EQ_INT(access_role(&closed, 65534, 65534, groups, 2), ACCESS_WRITE);
	CHECK_EQ_INT(access_role(&closed, 0, 0, NULL, 0), ACCESS_WRITE);

	CHECK(access_allows(ACCESS_READ, FTIDX_MSG_RESOLVE));
	CHECK(access_allows(ACCESS_READ, FTIDX_MSG_STATUS));
	CHECK(access_allows(ACCESS_READ, FTIDX_MSG_LIST));
	CHECK(access_allows(ACCESS_READ, FTIDX_MSG_NAMES));
	CHECK(!access_allows(ACCESS_READ, FTIDX_MSG_FILTER));
	CHECK(access_allows(ACCESS_WRITE, FTIDX_MSG_FILTER));
	CHECK(!access_allows(ACCESS_DENIED, FTIDX_MSG_STATUS));
	return test_finish("test-access");
}
