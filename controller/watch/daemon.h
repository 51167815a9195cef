/* daemon.h: the watch daemon's state (vf_watch), shared by its command
 * line (watch.c), its loop (watch_loop.c), its connection (watch_conn.c)
 * and its reconcile pass (watch_pass.c); and what the process tells the
 * journal and systemd, and how signals reach the loop (daemon.c), below
 * all of them. Not a public interface: callers use watch.h. Everything
 * here lives on the main thread; the helper threads reach it only through
 * their eventfds. */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <time.h>

#include "drivers/driver.h"
#include "controller/watch/config.h"
#include "controller/plan/plan.h"
#include "controller/watch/status.h"
#include "controller/watch/tree_watch.h"
#include "controller/watch/watch_sched.h"
#include "controller/watch/watch_serve.h"

/* The observed state the daemon plans from, as Kubernetes' informers keep
 * it: one full listing, then only the objects events name, re-read one by
 * one (watch_cache.c; docs/watch.md "The cache"). */
typedef struct vf_watch_cache {
	vf_observed obs;
	bool valid;               /* a full listing since the connection opened, and no
	                           * event lost since; false: relist before planning */
	char *invalid_why;        /* why the next pass relists */
	vf_event_obj *dirty;      /* named by events, not read since */
	size_t n_dirty, cap_dirty;
	char **read_keys;         /* "Domain/x", "StoragePool/p" read in this pass */
	size_t n_read_keys, cap_read_keys;
	/* counters, for status */
	uint64_t events;          /* libvirt events taken */
	uint64_t event_reads;     /* objects re-read for events */
	uint64_t event_calls;     /* libvirt calls those re-reads made */
	uint64_t step_reads;      /* objects re-read around the steps that act on them */
	uint64_t relists;         /* full listings (start, reconnect, lost events) */
	time_t last_relist;
	char *last_relist_why;
	uint64_t last_relist_ms;
	uint64_t resyncs;         /* periodic comparisons with a fresh listing */
	uint64_t disagreements;   /* objects the cache had wrong, all resyncs together */
	uint64_t last_disagreements; /* at the last resync */
	char *last_disagreement;  /* the latest one, as logged */
	time_t last_resync;
} vf_watch_cache;

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
	vf_watch_cache cache;         /* observed state, kept by events */
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
	struct vf_fleet *fleet;       /* --etcd: the fleet (fleet.h); NULL: a host on its own */
} vf_watch;

/* ---- daemon.c ------------------------------------------------------------ */

/* Set asynchronously by the signal handlers. */
extern volatile sig_atomic_t vf_watch_stop_flag;
extern volatile sig_atomic_t vf_watch_reload_flag;
/* The self-pipe the handlers write to; [0] is polled by the loop. */
extern int vf_watch_pipe[2];

void vf_watch_log(int level, const char *fmt, ...) VF_PRINTF(2, 3);
void vf_watch_set_log_level(int level);
void vf_watch_notify(const char *fmt, ...) VF_PRINTF(1, 2); /* sd_notify, printf-style */
/* Tell systemd the daemon is alive: WATCHDOG=1 when one is due, and while
 * starting (before READY=1) or stopping (after SIGTERM) an extension of
 * the start/stop timeout. Called by the loop and, through
 * vf_heartbeat_hook, from inside long steps (downloads, uploads, shutdown
 * waits); cheap when nothing is due. Main thread only. */
void vf_watch_heartbeat(vf_watch *w);

/* The daemon whose heartbeat long driver waits call (vf_heartbeat_hook). */
extern vf_watch *vf_watch__beating;
void vf_watch__heartbeat_hook(void);

/* Install the handlers (TERM, INT: stop; HUP: reload) and the self-pipe;
 * ignore SIGPIPE. vf_watch__signals_done restores the defaults. */
int vf_watch__signals(vf_error *err);
void vf_watch__signals_done(void);
