/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether a program is one that a preloaded library of this build
 * reaches: an ELF of this machine's class and architecture with an
 * interpreter (the dynamic loader, which loads LD_PRELOAD), or a script
 * whose interpreter is one. A program linked statically (busybox), or of
 * another class, is run without the preload. Header only, no state.
 */
#pragma once

#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#if __SIZEOF_POINTER__ == 8
#define ELF_PRELOAD_CLASS ELFCLASS64
typedef Elf64_Ehdr elf_preload_ehdr;
typedef Elf64_Phdr elf_preload_phdr;
#else
#define ELF_PRELOAD_CLASS ELFCLASS32
typedef Elf32_Ehdr elf_preload_ehdr;
typedef Elf32_Phdr elf_preload_phdr;
#endif

#if defined(__x86_64__)
#define ELF_PRELOAD_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define ELF_PRELOAD_MACHINE EM_AARCH64
#elif defined(__i386__)
#define ELF_PRELOAD_MACHINE EM_386
#else
#define ELF_PRELOAD_MACHINE EM_NONE /* unknown here: every ELF is taken as reached */
#endif

/* Whether @path (@depth: scripts' interpreters followed so far) is
 * reached by a preload. What cannot be read is taken as reached: the
 * answer only decides what to say, or what to hand over. */
static inline bool elf_preload_reaches(const char *path, int depth)
{
	elf_preload_ehdr eh;
	char line[256];
	bool interp = false;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return true;
	n = pread(fd, line, sizeof(line) - 1, 0);
	if (n > 2 && line[0] == '#' && line[1] == '!') {
		size_t at = 2, end;

		close(fd);
		line[n] = '\0';
		while (line[at] == ' ' || line[at] == '\t')
			at++;
		end = at + strcspn(line + at, " \t\n");
		line[end] = '\0';
		return depth >= 4 || !line[at] || elf_preload_reaches(line + at, depth + 1);
	}
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		close(fd);
		return true; /* not an ELF: the kernel decides */
	}
	if (eh.e_ident[EI_CLASS] != ELF_PRELOAD_CLASS ||
	    (ELF_PRELOAD_MACHINE != EM_NONE && eh.e_machine != ELF_PRELOAD_MACHINE)) {
		close(fd);
		return false;
	}
	for (unsigned i = 0; i < eh.e_phnum && i < 256 && !interp; i++) {
		elf_preload_phdr ph;

		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (size_t)i * eh.e_phentsize)) !=
		    (ssize_t)sizeof(ph))
			break;
		interp = ph.p_type == PT_INTERP;
	}
	close(fd);
	return interp;
}
