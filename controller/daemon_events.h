/* daemon_events.h: libvirt events for the watch daemon: domain lifecycle
 * and metadata changes, storage pool lifecycle, and the connection closing,
 * forwarded to the daemon's poll loop through an eventfd.
 *
 * The one place in controller/ that calls libvirt itself: the driver table
 * (drivers/driver.h) has no event members, and events need a connection
 * of their own anyway, so this module opens a second connection to the
 * same URI purely to listen. It changes nothing on the host. */
#pragma once

#include "error.h"
#include "util.h"

/* libvirt's default event loop, run on a thread of its own. Start it
 * before opening any connection (it calls virEventRegisterDefaultImpl the
 * first time); stop it at exit. Both are idempotent. */
int vf_event_loop_start(vf_error *err);
void vf_event_loop_stop(void);

typedef struct vf_events vf_events;

/* What arrived since the last vf_events_take. */
typedef struct vf_events_report {
	unsigned domain_events;   /* lifecycle and metadata changes */
	unsigned pool_events;     /* storage pool lifecycle */
	bool closed;              /* the connection dropped (libvirtd went away) */
	char *last;               /* "Domain/web stopped (destroyed)", for the log */
} vf_events_report;

/* Open `uri` (NULL: libvirt's default) for listening and register every
 * callback. The event loop must be running. */
int vf_events_open(const char *uri, vf_events **out, vf_error *err);
/* Readable while a report waits (borrowed descriptor). */
int vf_events_fd(const vf_events *e);
void vf_events_take(vf_events *e, vf_events_report *out);
void vf_events_report_clear(vf_events_report *r);
/* False once the connection has dropped. */
bool vf_events_alive(vf_events *e);
/* Deregister, close; accepts NULL. Call while the event loop still runs. */
void vf_events_close(vf_events *e);
