/* proc.h: a process's identity as the kernel gives it (proc.c): its start
 * time from /proc/PID/stat, so a pid reused by another process is never
 * taken for the one we were told about. Used by the fence helper (and by
 * whoever tells it which QEMU processes to guard). Plain libc. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (clock ticks after boot). 0 and *ret set, or
 * -errno (-ESRCH: no such process). */
int vf_proc_starttime(pid_t pid, uint64_t *ret);

/* Is pid a hypervisor process of guest `name`: its command line
 * (/proc/PID/cmdline) has the argument "-name" followed by "guest=NAME" or
 * "guest=NAME,..." (QEMU's -name guest=NAME,debug-threads=on as libvirt
 * passes it)? A "guest=NAME," anywhere else (a pgrep, a grep) is not. No
 * allocation (the fence helper calls it at the deadline). */
bool vf_proc_is_guest(pid_t pid, const char *name);
/* Every process of guest `name`, scanning /proc without allocating; up to
 * cap pids into pids[]. Returns how many were found (>= cap: maybe more). */
size_t vf_proc_find_guest(const char *name, pid_t *pids, size_t cap);
