/* watch_conn.h: the daemon's connection to the hypervisor: connect with
 * backoff, lose it and reconnect (watch_conn.c). Internal to
 * controller/watch/. */
#pragma once

#include "controller/watch/daemon.h"

/* Drop the connection and schedule a reconnect. */
void vf_watch_disconnect(vf_watch *w, const char *why);
/* Open the events source (when the backend has one) and the driver's
 * connection; on failure schedule the next attempt with backoff. A
 * success asks for a full pass. */
void vf_watch__connect(vf_watch *w);
/* The events source belongs to w->backend, which opened it. */
void vf_watch__close_events(vf_watch *w);
/* Have ev's event loop running (the backend's rule: before it opens any
 * connection). */
int vf_watch__start_loop(vf_watch *w, const vf_event_driver *ev, vf_error *err);
