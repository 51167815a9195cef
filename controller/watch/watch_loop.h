/* watch_loop.h: the daemon's main loop and its configuration
 * (watch_loop.c). Internal to controller/watch/. */
#pragma once

#include "controller/watch/daemon.h"

/* File, then flags over it, then defaults. 0 or an error (not applied). */
int vf_watch__read_config(vf_watch *w, vf_config *out, vf_error *err);
/* Backoff and resync timers from w->cfg. */
void vf_watch__apply_timings(vf_watch *w);
/* Poll and run passes until a stop signal; returns the exit status. */
int vf_watch__loop(vf_watch *w);
