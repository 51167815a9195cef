/* watch_cache.h: the daemon's observed-state cache, an informer: one full
 * listing, then events re-read only the objects they name; the periodic
 * resync checks it against a fresh listing (watch_cache.c). Internal to
 * controller/watch/. */
#pragma once

#include "controller/apply/reconcile.h"
#include "controller/watch/daemon.h"

/* Note what the events named (they are read at the next sync). */
void vf_watch_cache_take(vf_watch *w, const vf_event_report *rep);
/* Events may have been lost (a dropped connection, libvirtd restarted):
 * the next sync relists everything, and nothing is planned before. */
void vf_watch_cache_invalidate(vf_watch *w, const char *why);
/* Bring the cache up to date: a full relist when it is not valid, else a
 * re-read of each object events named since. */
int vf_watch_cache_sync(vf_watch *w, vf_error *err);
/* The periodic check: sync, list everything afresh, count and log every
 * object the cache had wrong, then keep the fresh listing. */
int vf_watch_cache_resync(vf_watch *w, vf_error *err);
/* A pass begins: no object has been read in it yet. */
void vf_watch_cache_pass_begin(vf_watch *w);
/* The observer a pass plans through; NULL when the backend cannot keep a
 * cache (no events, or no way to read one object): then every pass
 * observes the whole host, as `apply` does. */
const vf_observer *vf_watch_cache_observer(vf_watch *w, vf_observer *storage);
/* The counters, for `status`. */
json_object *vf_watch_cache_json(const vf_watch *w);
void vf_watch_cache_free(vf_watch_cache *c);
