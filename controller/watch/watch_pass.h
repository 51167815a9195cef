/* watch_pass.h: one reconcile pass of the daemon and its status document
 * (watch_pass.c). Internal to controller/watch/. */
#pragma once

#include "controller/watch/daemon.h"

/* One reconcile pass with the manifests reloaded; never exits. */
void vf_watch_pass(vf_watch *w, const char *trigger);
/* The status document (caller owns it). */
json_object *vf_watch_status_json(vf_watch *w);
void vf_watch_pass_state_free(vf_watch *w);
