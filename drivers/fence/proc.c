/* proc.c: read a process's start time (proc.h). The command name in
 * /proc/PID/stat is in parentheses and may itself hold spaces and ')', so
 * fields are counted after the last ')'. */
#include "drivers/fence/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int vf_proc_starttime(pid_t pid, uint64_t *ret)
{
	if (pid <= 0)
		return -EINVAL;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -ESRCH;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* After ')': field 3 (state) is the first; starttime is field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

bool vf_proc_is_guest(pid_t pid, const char *name)
{
	char path[64], cmd[8192];
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	size_t nl = strlen(name);
	const char *prev = NULL;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		const char *a = cmd + i;
		/* The pair "-name" "guest=NAME[,...]" only: a `pgrep -f
		 * guest=NAME,` or an editor on a file of that name is no
		 * guest, and the helper kills what this says yes to. */
		if (prev && strcmp(prev, "-name") == 0 && strncmp(a, "guest=", 6) == 0 &&
		    strncmp(a + 6, name, nl) == 0 && (a[6 + nl] == '\0' || a[6 + nl] == ','))
			return true;
		prev = a;
	}
	return false;
}

/* getdents64's record (the kernel's struct linux_dirent64). */
struct vf_proc__dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

size_t vf_proc_find_guest(const char *name, pid_t *pids, size_t cap)
{
	int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	static char buf[32768];   /* static: no allocation, and one caller at a time */
	size_t found = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct vf_proc__dirent *d = (struct vf_proc__dirent *)(void *)(buf + off);
			off += d->reclen;
			char *end = NULL;
			long pid = strtol(d->name, &end, 10);
			if (pid <= 0 || *end || pid == getpid())
				continue;
			if (vf_proc_is_guest((pid_t)pid, name)) {
				if (found < cap)
					pids[found] = (pid_t)pid;
				found++;
			}
		}
	}
	close(dir);
	return found;
}
