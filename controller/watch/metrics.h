/* metrics.h: the watch daemon's Prometheus metrics: a process-wide registry
 * the daemon's loop, pass and connection feed through the narrow hooks
 * below, and a thread that serves it in the text exposition format on a
 * Unix socket or 127.0.0.1:PORT (`metrics` in virtform.conf, `--metrics`).
 * Off unless an address is set; the hooks cost a mutex and an add either
 * way. Not for the status socket's JSON (status.c) nor for apply/plan. */
#pragma once

#include "controller/core/error.h"
#include "controller/core/model.h"
#include "controller/plan/plan.h"
#include "controller/apply/apply.h"

/* Is `addr` one the server can listen on: `unix:/ABS/PATH`, `/ABS/PATH`,
 * or `127.0.0.1:PORT` / `localhost:PORT` (never another interface)?
 * Pure; config.c calls it so a bad value fails with the file's line. */
int vf_metrics_addr_check(const char *addr, vf_error *err);

/* Start serving on `addr` (checked again); accepts connections on a thread
 * of its own so a long pass never makes a scrape wait. */
int vf_metrics_serve_start(const char *addr, vf_error *err);
/* Stop the thread, close and unlink the socket; a no-op when not started. */
void vf_metrics_serve_stop(void);

/* ---- hooks (any thread) ---------------------------------------------------- */

/* A pass ended with `result` ("converged", "failed", ...) after `ms`. */
void vf_metrics_pass(const char *result, uint64_t ms);
/* A pass's first plan: steps by kind and action, drift (updates) by kind,
 * blocked steps, leases held, and the conflicts that rejected it. */
void vf_metrics_plan(const vf_plan *plan, size_t n_conflicts);
/* The enforced manifest set: objects managed by kind. */
void vf_metrics_managed(const vf_desired *d);
/* A step finished (DONE, FAILED or SKIPPED; STARTED is not counted). */
void vf_metrics_step(vf_kind kind, vf_action action, vf_step_outcome outcome);
/* Connected to libvirt (`reconnect`: not the first connection) or lost it. */
void vf_metrics_connection(bool up, bool reconnect);
/* A download finished with `bytes` transferred. */
void vf_metrics_download(uint64_t bytes);

/* The exposition text, as a scrape gets it; the caller frees it. */
char *vf_metrics_render(void);
