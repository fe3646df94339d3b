// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The unwinder's modules: which file backs each mapping (deleted files and
 * memfds through /proc/PID/map_files), and pc -> function, module, file:line
 * from the file's symbols and DWARF (or its separate debug file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "report/demangle.h"
#include "threads/unwind_priv.h"

#define PW_DELETED " (deleted)"

/* "/usr/lib/libfoo.so (deleted)": how the maps name an unlinked file. */
static bool unwinder__is_deleted(const char *name)
{
	size_t n = strlen(name), k = sizeof(PW_DELETED) - 1;

	return n > k && !strcmp(name + n - k, PW_DELETED);
}

/*
 * Open path only when it is a regular file: the maps also list devices (GPU
 * render nodes, /dev/mem, ...), and opening one can block or have side
 * effects in its driver.
 */
static int unwinder__open_regular(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

/*
 * Open the file mapped at base through /proc/PID/map_files/START-END. That
 * link reaches the mapped inode itself, so it works for a deleted file or a
 * memfd, whose path leads nowhere (root only: the kernel asks for
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). libdwfl reports a module from
 * the start of the file's first mapping, so base is the start of a mapping
 * of that very file; the name check guards against the maps having changed
 * since they were reported.
 */
static int unwinder__open_map_file(struct unwinder *u, const char *name,
				   Dwarf_Addr base, char **file_name)
{
	uint64_t start = 0, end = 0, ino;
	char path[64], *line = NULL;
	bool found = false;
	size_t cap = 0;
	ssize_t len;
	int nread, fd;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", u->pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		nread = -1;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*x %*x:%*x %" SCNu64 " %n",
			   &start, &end, &ino, &nread) < 3 || nread < 0)
			continue;
		found = start == base && ino != 0 && !strcmp(line + nread, name);
	}
	free(line);
	fclose(f);
	if (!found)
		return -1;
	if (asprintf(file_name, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, u->pid,
		     start, end) < 0) {
		*file_name = NULL;
		return -1;
	}
	fd = unwinder__open_regular(*file_name);
	if (fd < 0) {
		free(*file_name);
		*file_name = NULL;
	}
	return fd;
}

/*
 * The paths in /proc/PID/maps are in the target's mount namespace: in a
 * container the same path here may be another file, and symbols would be
 * silently wrong. Open them through /proc/PID/root (the same file for a
 * process in our namespace). A "(deleted)" path (an upgraded library, a
 * binary removed while it runs, a memfd) and a path we cannot reach are
 * opened through map_files instead. Without the privilege for that, libdwfl
 * rebuilds what it can of a deleted file from the process's memory (our
 * Dwfl is not attached through libdwfl's ptrace callbacks, so it reads
 * /proc/PID/mem and never attaches). A path that is not deleted is not
 * retried in our own namespace: that is the wrong file in a container.
 * userdata is the unwinder, set on every module before any ELF is loaded.
 */
static int unwinder__find_elf(Dwfl_Module *mod, void **userdata,
			      const char *name, Dwarf_Addr base,
			      char **file_name, Elf **elfp)
{
	struct unwinder *u = *userdata;
	bool deleted;
	char *path;
	int fd;

	/* "[vdso: PID]": libdwfl reads the image from memory. */
	if (!u || name[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, name, base,
						file_name, elfp);
	deleted = unwinder__is_deleted(name);
	if (!deleted && asprintf(&path, "/proc/%d/root%s", u->pid, name) >= 0) {
		fd = unwinder__open_regular(path);
		if (fd >= 0) {
			*file_name = path;
			return fd;
		}
		free(path);
	}
	fd = unwinder__open_map_file(u, name, base, file_name);
	if (fd >= 0 || !deleted)
		return fd;
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name,
					elfp);
}

const Dwfl_Callbacks unwinder__proc_callbacks = {
	.find_elf = unwinder__find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

/*
 * "/usr/lib/x86_64-linux-gnu/libc.so.6" -> "libc.so.6", "[vdso: 42]" ->
 * "[vdso]", "/memfd:jit (deleted)" -> "memfd:jit": the module is the file's
 * name; that it was deleted since is not part of it (the exe line says so).
 */
char *unwinder__module_name(Dwfl_Module *mod)
{
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	const char *slash;
	size_t len;

	if (!name)
		return NULL;
	if (!strncmp(name, "[vdso", 5))
		return strdup("[vdso]");
	slash = strrchr(name, '/');
	name = slash ? slash + 1 : name;
	len = strlen(name);
	if (unwinder__is_deleted(name))
		len -= sizeof(PW_DELETED) - 1;
	return strndup(name, len);
}

static bool unwinder__cu_has(Dwarf_Die *cu, Dwarf_Addr addr)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t r = 0;

	while ((r = dwarf_ranges(cu, r, &base, &lo, &hi)) > 0)
		if (addr >= lo && addr < hi)
			return true;
	return false;
}

/*
 * Source line of addr. libdwfl 0.188 finds the CU through .debug_aranges
 * only, and takes the last CU starting below addr without checking its end:
 * Go emits no aranges, and in a cgo binary Go code lands in the C CU before
 * it. So check the CU's own ranges, and search all CUs when it is wrong.
 */
static const char *unwinder__srcline(Dwfl_Module *mod, Dwarf_Addr addr,
				     int *lineno)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Line *line;

	if (!cu || !unwinder__cu_has(cu, addr - bias)) {
		cu = NULL;
		while ((cu = dwfl_module_nextcu(mod, cu, &bias)) &&
		       !unwinder__cu_has(cu, addr - bias))
			;
	}
	line = cu ? dwarf_getsrc_die(cu, addr - bias) : NULL;
	if (!line || dwarf_lineno(line, lineno) != 0)
		return NULL;
	return dwarf_linesrc(line, NULL, NULL);
}

/* Is addr (relative to the file's load bias) covered by this CFI? */
static bool unwinder__cfi_covers(Dwarf_CFI *cfi, Dwarf_Addr addr)
{
	Dwarf_Frame *frame;

	if (!cfi || dwarf_cfi_addrframe(cfi, addr, &frame) != 0)
		return false;
	free(frame);
	return true;
}

static enum unwinder__cfi unwinder__module_cfi(Dwfl_Module *mod, Dwarf_Addr addr)
{
	Dwarf_Addr bias;

	if (!dwfl_module_getelf(mod, &bias))
		return PW_CFI_NO_ELF;
	if (unwinder__cfi_covers(dwfl_module_eh_cfi(mod, &bias), addr - bias))
		return PW_CFI_YES;
	if (unwinder__cfi_covers(dwfl_module_dwarf_cfi(mod, &bias), addr - bias))
		return PW_CFI_YES;
	return PW_CFI_NONE;
}

int unwinder__describe(Dwfl_Module *mod, Dwarf_Addr addr, struct unwind_sym *s)
{
	const char *name, *file;
	GElf_Off off;
	GElf_Sym sym;
	int lineno = 0;

	s->cfi = unwinder__module_cfi(mod, addr);
	name = dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL);
	if (name) {
		/* "pthread_cond_wait@@GLIBC_2.3.2": the version is noise here. */
		s->function = pw_demangle(name, strcspn(name + 1, "@") + 1);
		if (!s->function)
			return -ENOMEM;
		s->sym_off = off;
	}
	file = unwinder__srcline(mod, addr, &lineno);
	if (file) {
		s->file = strdup(file);
		if (!s->file)
			return -ENOMEM;
		s->line = lineno;
	}
	return 0;
}

enum unwinder__cfi unwinder__cfi_kind(struct unwinder *u, Dwarf_Addr addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, addr);
	const struct unwind_sym *s;
	int err;

	if (!mod)
		return PW_CFI_NO_FILE;
	s = unwinder__lookup(u, mod, addr, &err);
	return s ? s->cfi : unwinder__module_cfi(mod, addr);
}

/*
 * Fill f for pc. A return address points after the call, possibly into the
 * next function or line, so look up pc - 1 for those; f->pc and f->offset
 * still describe the real pc.
 */
int unwinder__symbolize(struct unwinder *u, uint64_t pc, bool activation, struct pw_frame *f)
{
	Dwarf_Addr addr = activation ? pc : pc - 1;
	const struct unwind_sym *s;
	Dwfl_Module *mod;
	int err;

	memset(f, 0, sizeof(*f));
	f->pc = pc;
	mod = dwfl_addrmodule(u->dwfl, addr);
	if (!mod)
		return 0;
	s = unwinder__lookup(u, mod, addr, &err);
	if (!s)
		return err;
	f->module = unwinder__module_name(mod);
	if (!f->module)
		goto err;
	if (s->function) {
		f->function = strdup(s->function);
		if (!f->function)
			goto err;
		f->offset = s->sym_off + (pc - addr);
	}
	if (s->file) {
		f->file = strdup(s->file);
		if (!f->file)
			goto err;
		f->line = s->line;
	}
	return 0;
err:
	free(f->module);
	free(f->function);
	return -ENOMEM;
}
