/* syscalls.h: the lock driver's overridable system-call table and the few
 * helpers the lock driver files share. Tests swap table entries to inject EAGAIN,
 * EIO and a fake clock (sqlite os_unix.c's aSyscall[] idea).
 * Not for callers: the controller uses drivers/driver.h only. */
#pragma once

#include <fcntl.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* Every call the lock driver makes that a test must be able to fail on
 * purpose. The signatures are fixed-arity (no varargs) so fakes are plain
 * functions; the defaults forward to the real calls. */
typedef struct vf_lock_syscalls {
	int (*open)(const char *path, int flags, mode_t mode);
	int (*fcntl)(int fd, int cmd, struct flock *fl);
	int (*close)(int fd);
	int (*clock_gettime)(clockid_t clk, struct timespec *ts);   /* CLOCK_MONOTONIC */
	int (*nanosleep)(const struct timespec *req, struct timespec *rem);
} vf_lock_syscalls;

/* The live table. Tests assign members and call vf_lock_sys_reset() after. */
extern vf_lock_syscalls vf_lock_sys;
void vf_lock_sys_reset(void);

/* Byte conventions shared with libvirt (docs/locking.md). */
#define VF_LOCK_LEASE_BYTE 0      /* virtlockd's content lease */
#define VF_LOCK_METADATA_BYTE 1   /* libvirt security drivers' metadata lock */

/* The backoff between tries: 1 ms doubling to this cap. */
#define VF_LOCK_BACKOFF_MAX_MS 1000u

/* /proc/PID/cmdline with NULs as spaces, or NULL when it cannot be read. */
char *vf_lock__proc_cmdline(pid_t pid);

/* Who holds a lock conflicting with an exclusive one on byte `byte` of fd,
 * without taking it. Returns 1 and fills *ret_pid (0 when the kernel does
 * not say: an OFD lock) and *ret_shared when held, 0 when free, -errno on
 * failure. Sees this process's own classic locks too (F_OFD_GETLK does). */
int vf_lock__probe(int fd, off_t byte, pid_t *ret_pid, bool *ret_shared);
