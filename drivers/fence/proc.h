/* proc.h: a process's identity as the kernel gives it (proc.c): its start
 * time from /proc/PID/stat, so a pid reused by another process is never
 * taken for the one we were told about. Used by the fence helper (and by
 * whoever tells it which QEMU processes to guard). Plain libc. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks after boot). 0 and *ret set, or
 * -errno (-ESRCH: no such process). */
int vf_proc_starttime(pid_t pid, uint64_t *ret);
