/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays a fuzzing corpus through LLVMFuzzerTestOneInput() without
 * libFuzzer, so that every saved input runs under meson test (and under
 * the sanitizers in scripts/test) on every run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	unsigned n = 0;
	DIR *d;
	struct dirent *e;

	if (argc < 2 || !(d = opendir(argv[1]))) {
		fprintf(stderr, "usage: fuzz-replay CORPUS-DIR\n");
		return 2;
	}
	while ((e = readdir(d))) {
		char path[4096];
		uint8_t *buf;
		FILE *f;
		long len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		f = fopen(path, "rb");
		if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) < 0)
			return 1;
		buf = malloc((size_t)len + 1);
		if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
			return 1;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	printf("fuzz-replay: %u inputs replayed\n", n);
	return n ? 0 : 1;
}
