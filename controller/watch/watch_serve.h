/* watch_serve.h: the watch daemon's control sockets served by a thread of
 * their own while a reconcile pass keeps the main loop busy (see
 * watch_serve.c). The main loop calls begin before a pass and end after. */
#pragma once

#include <json-c/json.h>
#include <time.h>

#include "controller/core/error.h"
#include "controller/watch/status.h"
#include "controller/core/util.h"

typedef struct vf_watch_serve vf_watch_serve;

/* Start the (idle) thread for `server`'s sockets. A request queued while a
 * pass runs writes a byte to `main_wake` (the loop's self-pipe) so the
 * loop sees it at once after the pass. */
int vf_watch_serve_start(vf_status_server *server, int main_wake, vf_watch_serve **out,
			 vf_error *err);
/* Stop and join the thread; accepts NULL. */
void vf_watch_serve_stop(vf_watch_serve *s);
/* A pass begins: the thread answers from `status` (taken over) with a
 * "reconciling" object, until end. s may be NULL (status is then freed). */
void vf_watch_serve_begin(vf_watch_serve *s, json_object *status, const char *trigger);
/* The step in progress, for "reconciling.step". */
void vf_watch_serve_step(vf_watch_serve *s, const char *step);
/* The pass ended: the main loop serves the sockets again. */
void vf_watch_serve_end(vf_watch_serve *s);
/* Requests queued since the last call: `reconcile` (*want_pass) and
 * `reload` (*want_reload). */
void vf_watch_serve_take(vf_watch_serve *s, bool *want_pass, bool *want_reload);
