/* client.h: virtform's side of the fence helper (client.c): start
 * build/virtform-fence, feed it each deadline, tell it which processes to
 * guard, release it. Every call waits for the helper's answer, boundedly.
 * Not the helper itself (helper.h) and not when to feed it (the lease
 * state machine, controller/core/hostlease.h, decides; docs/fleet.md). */
#pragma once

#include "controller/core/error.h"
#include "drivers/fence/helper.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct vf_fence_client {
	pid_t pid;                /* the helper; 0: none */
	int to;                   /* its stdin */
	int from;                 /* its stdout */
	char buf[1024];           /* what it said and we have not read */
	size_t len;
} vf_fence_client;

/* How long a call waits for the helper's answer. */
#define VF_FENCE_ANSWER_MS 1000u

/* Start the helper `bin` with o's settings and wait for it to be ready. */
int vf_fence_spawn(const char *bin, const vf_fence_opts *o, vf_fence_client *out, vf_error *err);
/* Kill at `deadline_ms` (CLOCK_BOOTTIME) unless a later deadline comes. */
int vf_fence_set_deadline(vf_fence_client *c, uint64_t deadline_ms, vf_error *err);
/* Guard pid: its start time is read now, and the helper checks it again. */
int vf_fence_guard(vf_fence_client *c, pid_t pid, vf_error *err);
/* Guard pid whose start time the caller read (with the pid, from one
 * place: libvirt's pid file and /proc), so the helper checks that very
 * process. Guarding a pid twice is fine. */
int vf_fence_guard_at(vf_fence_client *c, pid_t pid, uint64_t starttime, vf_error *err);
/* Also kill, at the deadline, every process of guest `name` (a start in
 * progress, before its pid is known); vf_fence_unexpect undoes it. */
int vf_fence_expect(vf_fence_client *c, const char *name, vf_error *err);
int vf_fence_unexpect(vf_fence_client *c, const char *name, vf_error *err);
/* Stop guarding pid (the domain stopped or moved on purpose). */
int vf_fence_unguard(vf_fence_client *c, pid_t pid, vf_error *err);
/* The lease was given up on purpose: the helper disarms and exits, killing
 * nothing. */
int vf_fence_release(vf_fence_client *c, vf_error *err);
/* Close our ends without releasing: the helper keeps its deadline (what a
 * crash of virtform does, too). */
void vf_fence_detach(vf_fence_client *c);
