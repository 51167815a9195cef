/* helper.h: the fence helper's loop (helper.c), run by its own small
 * binary (build/virtform-fence, controller/cli/fence_main.c) so fencing
 * never depends on the virtform process: virtform may crash, hang or be
 * stopped, and at the deadline the QEMU processes it named still die.
 *
 * Protocol: lines on in_fd, one answer line each on out_fd ("ok ..." or
 * "error ..."); events ("killed PID", "gone PID", "fenced N", ...) also go
 * to out_fd. Times are CLOCK_BOOTTIME in ms (drivers/etcd/client.h).
 *   deadline MS         kill at MS unless a later deadline comes first
 *   guard PID START     kill PID at the deadline; START is its start time
 *                       (drivers/fence/proc.h), checked now, and the kill
 *                       goes through a pidfd, so a reused pid is never hit
 *   unguard PID         no longer (the domain stopped or moved on purpose)
 *   expect NAME         also kill, at the deadline, every process of guest
 *                       NAME found then (proc.h): covers a QEMU that starts
 *                       before its pid could be told (a start in progress)
 *   unexpect NAME       no longer
 *   fence               kill now
 *   release             the lease was given up: disarm, exit 0, kill nothing
 * End of input (virtform died) changes nothing: the deadline stands. A
 * deadline line that arrives after the deadline is too late: the kill has
 * happened first. After a fence the helper disarms the watchdog and exits. */
#pragma once

#include <stdbool.h>

typedef struct vf_fence_opts {
	const char *watchdog;     /* /dev/watchdog, or a FIFO (tests); NULL: none */
	unsigned watchdog_ms;     /* its timeout; 0: VF_FENCE_WATCHDOG_MS_DEFAULT */
	unsigned margin_ms;       /* deadline + margin = etcd's earliest expiry */
	unsigned grace_ms;        /* how long killed processes may take to go; 0: 1000 */
} vf_fence_opts;

#define VF_FENCE_WATCHDOG_MS_DEFAULT 5000u
#define VF_FENCE_MAX_GUARDED 256
#define VF_FENCE_MAX_EXPECTED 64
#define VF_FENCE_MAX_NAME 200

/* Exit codes of vf_fence_run (and of the binary). */
enum {
	VF_FENCE_EXIT_RELEASED = 0,   /* released, or nothing ever guarded */
	VF_FENCE_EXIT_USAGE = 1,
	VF_FENCE_EXIT_FENCED = 2,     /* every guarded process is dead */
	VF_FENCE_EXIT_INCOMPLETE = 3, /* a process outlived SIGKILL and there is no
				       * watchdog (with one, the helper stops petting
				       * and waits for the reset instead) */
};

int vf_fence_run(const vf_fence_opts *o, int in_fd, int out_fd);
