/* fleet.h: the watch daemon's side of the fleet (docs/fleet.md): the host
 * lease kept alive on a thread of its own, the fence helper fed each
 * acknowledged deadline, the host's announcement, the poll of who holds
 * what, placement (controller/core/placement.c) and the locks it takes,
 * the fleet view each pass plans with and the hooks apply calls. Not the
 * planner's side (controller/plan/) and not etcd's wire format
 * (drivers/etcd/). Threads: the keepalive thread and the poll thread never
 * call libvirt; everything they share with the main thread is under one
 * mutex, documented on struct vf_fleet in fleet.c. */
#pragma once

#include <json-c/json.h>

#include "controller/apply/apply.h"
#include "controller/core/error.h"
#include "controller/core/model.h"
#include "controller/plan/plan.h"
#include "drivers/driver.h"

typedef struct vf_fleet vf_fleet;

typedef struct vf_fleet_opts {
	const char *host_id;      /* NULL: the hostname */
	const char *endpoints;    /* --etcd */
	const char *prefix;       /* --etcd-prefix */
	unsigned ttl_ms;          /* --lease-ttl, whole seconds */
	const char *labels;       /* "K=V,K=V" (--host-label); NULL none */
	const char *fence_helper; /* NULL: virtform-fence next to this binary */
	const char *watchdog;     /* --fence-watchdog; NULL none */
	unsigned watchdog_ms;     /* --fence-watchdog-ms */
	int wake_fd;              /* written to (one byte) when the loop should run a pass */
} vf_fleet_opts;

/* Join the fleet: grant the lease, start the fence helper, announce the
 * host, start the keepalive and poll threads. Fails (nothing left
 * running) when etcd does not answer or the helper does not start. */
int vf_fleet_start(const vf_fleet_opts *o, vf_fleet **out, vf_error *err);
/* Leave: stop the threads; with nothing running here for a placed domain
 * release the locks, revoke the lease and release the helper (it kills
 * nothing); else leave the helper its deadline. Accepts NULL. */
void vf_fleet_stop(vf_fleet *f);
const char *vf_fleet_host_id(const vf_fleet *f);

/* Did the threads see something the loop should act on (holders or live
 * hosts changed, the lease was lost or re-joined)? Clears it; *why says
 * what (static). */
bool vf_fleet_take_wake(vf_fleet *f, const char **why);

/* Before a pass: check the lease (an expired one drops every lock first),
 * place the declared placed domains, take the free locks this host is
 * chosen for, and build the view and hooks the pass plans and applies
 * with (borrowed until the next call). be/conn are the pass's, for the
 * started hook. */
void vf_fleet_pass_begin(vf_fleet *f, const vf_desired *d, const vf_backend *be, vf_conn *conn,
			 const vf_fleet_view **ret_view, const vf_fleet_hooks **ret_hooks);
/* After a pass: guard every held placed domain running here, unguard the
 * rest, release the locks of held domains no longer declared or eligible
 * here once they no longer run here. */
void vf_fleet_pass_end(vf_fleet *f, const vf_desired *d, const vf_backend *be, vf_conn *conn);

/* The "fleet" section of `virtform status` (a new object). */
json_object *vf_fleet_status_json(vf_fleet *f);
