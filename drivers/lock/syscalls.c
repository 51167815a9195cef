/* syscalls.c: the lock driver's overridable system-call table and the
 * probes both lock files use (syscalls.h): who holds a byte of a file,
 * and a process's command line. Below fcntl.c and lease.c; calls neither. */
#include "drivers/lock/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "controller/core/util.h"

/* ---- the syscall table --------------------------------------------------- */

static int vf_lock__sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static int vf_lock__sys_fcntl(int fd, int cmd, struct flock *fl)
{
	return fcntl(fd, cmd, fl);
}

static const vf_lock_syscalls vf_lock__sys_default = {
	.open = vf_lock__sys_open,
	.fcntl = vf_lock__sys_fcntl,
	.close = close,
	.clock_gettime = clock_gettime,
	.nanosleep = nanosleep,
};

vf_lock_syscalls vf_lock_sys = vf_lock__sys_default;

void vf_lock_sys_reset(void)
{
	vf_lock_sys = vf_lock__sys_default;
}

/* ---- probes -------------------------------------------------------------- */

char *vf_lock__proc_cmdline(pid_t pid)
{
	_cleanup_free_ char *p = vf_asprintf("/proc/%ld/cmdline", (long)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n == 0)
		return NULL;   /* kernel threads and zombies have none */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	return vf_strndup(buf, n);
}

int vf_lock__probe(int fd, off_t byte, pid_t *ret_pid, bool *ret_shared)
{
	/* F_OFD_GETLK sees every conflicting lock, this process's classic
	 * ones included; F_GETLK then names the pid of a classic holder
	 * (OFD locks have none: the kernel reports -1). */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	if (vf_lock_sys.fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	if (fl.l_type == F_UNLCK)
		return 0;
	bool shared = fl.l_type == F_RDLCK;
	pid_t pid = 0;
	struct flock cl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	if (vf_lock_sys.fcntl(fd, F_GETLK, &cl) == 0 && cl.l_type != F_UNLCK && cl.l_pid > 0)
		pid = cl.l_pid;
	else if (fl.l_pid > 0)
		pid = fl.l_pid;
	*ret_pid = pid;
	*ret_shared = shared;
	return 1;
}
