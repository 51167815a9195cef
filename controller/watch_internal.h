/* watch_internal.h: the watch daemon's state, shared by its loop (watch.c)
 * and its reconcile pass and status document (watch_pass.c). Not a public
 * interface: callers use watch.h. Everything here lives on the main
 * thread; the helper threads reach it only through their eventfds. */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <time.h>

#include "../drivers/driver.h"
#include "config.h"
#include "plan.h"
#include "status.h"
#include "tree_watch.h"
#include "watch_sched.h"
#include "watch_serve.h"

typedef struct vf_watch {
	vf_config cfg;            /* effective: flags over file over defaults */
	vf_config flags;          /* what the command line said, for reloads */
	const char *config_path;
	bool config_explicit;

	/* The desired state being enforced: the last set that loaded and
	 * planned cleanly. Kept when a newer set is invalid or rejected. */
	vf_desired desired;
	bool have_desired;
	time_t desired_loaded;
	const char *manifests_state;  /* "valid", "invalid", "rejected", "unloaded" */
	json_object *problems;        /* current manifest/plan errors (array) */
	char *problems_key;           /* fingerprint, to log a problem once */

	const vf_backend *backend;    /* chosen by URI at each connect */
	vf_conn *conn;                /* NULL while disconnected */
	vf_event_source *events;      /* backend->events' source; NULL while
	                               * disconnected or when it has none */
	unsigned reconnect_failures;
	uint64_t reconnect_at;        /* 0: no reconnect scheduled */

	vf_tree_watch *tree;
	vf_status_server *status;
	vf_watch_serve *serve;        /* answers the sockets while a pass runs */
	vf_lock_token *lock;

	vf_debounce files;            /* manifest edits */
	vf_debounce libvirt;          /* out-of-band changes */
	bool pass_now;                /* run a pass at the next turn */
	const char *pass_trigger;     /* why the next pass runs */
	uint64_t next_resync;
	vf_backoff backoff;
	uint64_t last_pass_ms;        /* a retry is due when a backoff ends after this */

	/* The last pass, for `status`. */
	time_t last_time;
	const char *last_result;      /* "converged", "retrying", "not-converged", "failed", ... */
	char *last_message;
	const char *last_trigger;
	unsigned last_done, last_failed, last_held;
	uint64_t last_duration_ms;
	json_object *objects;         /* array: each object and its state */

	bool signals_installed;       /* teardown undoes only what was set up */
	const vf_event_driver *loop;  /* whose event loop runs; NULL none */
	bool ready_sent;
	uint64_t watchdog_usec;       /* 0: no watchdog */
	uint64_t next_watchdog;       /* when the next WATCHDOG=1 is due */
	uint64_t next_extend;         /* when the next EXTEND_TIMEOUT_USEC= is due */
	time_t started;
	char *root_real;              /* DIR's current real path */
} vf_watch;

/* Set asynchronously by the signal handlers. */
extern volatile sig_atomic_t vf_watch_stop_flag;

void vf_watch_log(int level, const char *fmt, ...) VF_PRINTF(2, 3);
void vf_watch_set_log_level(int level);
void vf_watch_notify(const char *fmt, ...) VF_PRINTF(1, 2); /* sd_notify, printf-style */
/* Tell systemd the daemon is alive: WATCHDOG=1 when one is due, and while
 * starting (before READY=1) or stopping (after SIGTERM) an extension of
 * the start/stop timeout. Called by the loop and, through
 * vf_heartbeat_hook, from inside long steps (downloads, uploads, shutdown
 * waits); cheap when nothing is due. Main thread only. */
void vf_watch_heartbeat(vf_watch *w);

/* One reconcile pass with the manifests reloaded; never exits. */
void vf_watch_pass(vf_watch *w, const char *trigger);
/* The status document (caller owns it). */
json_object *vf_watch_status_json(vf_watch *w);
void vf_watch_pass_state_free(vf_watch *w);
/* Drop the connection and schedule a reconnect. */
void vf_watch_disconnect(vf_watch *w, const char *why);
