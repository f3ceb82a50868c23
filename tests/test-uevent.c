/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing the kernel's uevent datagrams for module loads and unloads. */
#include <string.h>

#include "testlib.h"
#include "uevent.h"

#define MSG(s) s, sizeof(s) - 1

int main(void)
{
	const char *action, *module;

	CHECK(uevent_parse_module(MSG("add@/module/loop\0ACTION=add\0DEVPATH=/module/loop\0"
				      "SUBSYSTEM=module\0SEQNUM=1902\0"),
				  &action, &module));
	CHECK_EQ_STR(action, "add");
	CHECK_EQ_STR(module, "loop");
	CHECK(uevent_parse_module(MSG("remove@/module/dummy\0ACTION=remove\0"
				      "DEVPATH=/module/dummy\0SUBSYSTEM=module\0SEQNUM=7\0"),
				  &action, &module));
	CHECK_EQ_STR(action, "remove");
	CHECK_EQ_STR(module, "dummy");
	/* not modules, not add/remove, malformed */
	CHECK(!uevent_parse_module(MSG("add@/devices/virtual/block/loop0\0ACTION=add\0"
				       "DEVPATH=/devices/virtual/block/loop0\0SUBSYSTEM=block\0"),
				   &action, &module));
	CHECK(!uevent_parse_module(MSG("bind@/module/loop\0ACTION=bind\0DEVPATH=/module/loop\0"
				       "SUBSYSTEM=module\0"),
				   &action, &module));
	CHECK(!uevent_parse_module(MSG("add@/module/\0ACTION=add\0DEVPATH=/module/\0"
				       "SUBSYSTEM=module\0"),
				   &action, &module));
	CHECK(!uevent_parse_module(MSG("ACTION=add\0SUBSYSTEM=module\0DEVPATH=/module/x"),
				   &action, &module)); /* last field unterminated */
	CHECK(!uevent_parse_module("", 0, &action, &module));
	return test_finish("test-uevent");
}
