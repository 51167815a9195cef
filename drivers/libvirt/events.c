/* events.c: the libvirt backend's event driver, the watch daemon's view of
 * out-of-band changes. A thread runs virEventRunDefaultImpl(); each source
 * is a second connection to the same URI, opened only to listen, whose
 * callbacks (on that thread) just count, note the object each event names
 * and a one-line description, and write to an eventfd. What is listened to
 * is one table, an entry per kind of event. Not for deciding anything or
 * changing the host. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lv.h"

/* ---- the event loop thread ------------------------------------------------ */

static pthread_once_t vf_lv__ev_once = PTHREAD_ONCE_INIT;
static int vf_lv__ev_register_rc;
static pthread_mutex_t vf_lv__ev_loop_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static bool vf_lv__ev_running;
static pthread_t vf_lv__ev_thread;
static atomic_bool vf_lv__ev_stop;

static void vf_lv__ev_quiet(void *userdata, virErrorPtr error)
{
	(void)userdata;
	(void)error; /* callers report errors themselves, through vf_error */
}

static void vf_lv__ev_register(void)
{
	virSetErrorFunc(NULL, vf_lv__ev_quiet);
	vf_lv__ev_register_rc = virEventRegisterDefaultImpl();
}

static void *vf_lv__ev_run(void *arg)
{
	(void)arg;
	while (!atomic_load(&vf_lv__ev_stop))
		if (virEventRunDefaultImpl() < 0)
			usleep(100 * 1000); /* a failing poll must not spin */
	return NULL;
}

static void vf_lv__ev_wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

int vf_lv_event_loop_start(vf_error *err)
{
	pthread_once(&vf_lv__ev_once, vf_lv__ev_register);
	if (vf_lv__ev_register_rc < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot set up libvirt's event loop: %s",
				    virGetLastErrorMessage());
	pthread_mutex_lock(&vf_lv__ev_loop_lock);
	int r = 0;
	if (!vf_lv__ev_running) {
		atomic_store(&vf_lv__ev_stop, false);
		int e = pthread_create(&vf_lv__ev_thread, NULL, vf_lv__ev_run, NULL);
		if (e)
			r = vf_error_set(err, VF_E_INTERNAL, "cannot start the event thread: %s",
					 strerror(e));
		else
			vf_lv__ev_running = true;
	}
	pthread_mutex_unlock(&vf_lv__ev_loop_lock);
	return r;
}

/* Wait until the loop has finished whatever callback it was running: it
 * runs one at a time, so once a fresh timer fires, earlier ones are done. */
static pthread_mutex_t vf_lv__ev_barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vf_lv__ev_barrier_cond = PTHREAD_COND_INITIALIZER;

static void vf_lv__ev_barrier_cb(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
	pthread_mutex_lock(&vf_lv__ev_barrier_lock);
	*(bool *)opaque = true;
	pthread_cond_broadcast(&vf_lv__ev_barrier_cond);
	pthread_mutex_unlock(&vf_lv__ev_barrier_lock);
}

static void vf_lv__ev_barrier(void)
{
	pthread_mutex_lock(&vf_lv__ev_loop_lock);
	bool running = vf_lv__ev_running && !pthread_equal(pthread_self(), vf_lv__ev_thread);
	pthread_mutex_unlock(&vf_lv__ev_loop_lock);
	if (!running)
		return;
	bool done = false;
	if (virEventAddTimeout(0, vf_lv__ev_barrier_cb, &done, NULL) < 0)
		return;
	pthread_mutex_lock(&vf_lv__ev_barrier_lock);
	while (!done)
		pthread_cond_wait(&vf_lv__ev_barrier_cond, &vf_lv__ev_barrier_lock);
	pthread_mutex_unlock(&vf_lv__ev_barrier_lock);
}

void vf_lv_event_loop_stop(void)
{
	pthread_mutex_lock(&vf_lv__ev_loop_lock);
	if (vf_lv__ev_running) {
		atomic_store(&vf_lv__ev_stop, true);
		/* A new timer interrupts the loop's poll, so it sees the flag. */
		virEventAddTimeout(0, vf_lv__ev_wake, NULL, NULL);
		pthread_join(vf_lv__ev_thread, NULL);
		vf_lv__ev_running = false;
	}
	pthread_mutex_unlock(&vf_lv__ev_loop_lock);
}

/* ---- one listening connection --------------------------------------------- */

/* Callback ids per entry of vf_lv__ev_kinds; -1 when not registered. */
#define VF_LV_EV_MAX 8

struct vf_event_source {
	virConnectPtr conn;
	int efd;
	int cb[VF_LV_EV_MAX];
	bool close_cb;
	atomic_bool closed;
	pthread_mutex_t lock;     /* guards `pending` (written on the event thread) */
	vf_event_report pending;
};

static void vf_lv__ev_kick(vf_event_source *s)
{
	uint64_t one = 1;
	ssize_t n = write(s->efd, &one, sizeof(one));
	(void)n; /* a full counter is still readable */
}

/* Count an event, remember the object it names (once however many events
 * name it before the next take) and wake the daemon. */
static void vf_lv__ev_note(vf_event_source *s, vf_kind kind, const char *name,
			   const unsigned char *uuid, char *what /* taken */)
{
	pthread_mutex_lock(&s->lock);
	vf_event_report *p = &s->pending;
	if (kind == VF_KIND_DOMAIN)
		p->domain_events++;
	else if (kind == VF_KIND_POOL)
		p->pool_events++;
	else if (kind == VF_KIND_NETWORK)
		p->network_events++;
	free(p->last);
	p->last = what;
	bool seen = false;
	for (size_t i = 0; i < p->n_objs && !seen; i++)
		seen = p->objs[i].kind == kind && memcmp(p->objs[i].uuid, uuid, sizeof(uuid_t)) == 0;
	if (!seen) {
		vf_event_obj o = { .kind = kind, .name = vf_strdup(name ? name : "") };
		memcpy(o.uuid, uuid, sizeof(o.uuid));
		VF_APPEND(p->objs, p->n_objs, p->cap_objs, o);
	}
	pthread_mutex_unlock(&s->lock);
	vf_lv__ev_kick(s);
}

static void vf_lv__ev_note_domain(vf_event_source *s, virDomainPtr dom, char *what)
{
	unsigned char uuid[VIR_UUID_BUFLEN] = { 0 };
	virDomainGetUUID(dom, uuid);
	vf_lv__ev_note(s, VF_KIND_DOMAIN, virDomainGetName(dom), uuid, what);
}

static void vf_lv__ev_note_pool(vf_event_source *s, virStoragePoolPtr pool, char *what)
{
	unsigned char uuid[VIR_UUID_BUFLEN] = { 0 };
	virStoragePoolGetUUID(pool, uuid);
	vf_lv__ev_note(s, VF_KIND_POOL, virStoragePoolGetName(pool), uuid, what);
}

/* Indexed by virDomainEventType and virStoragePoolEventLifecycleType. */
static const char *const vf_lv__ev_domain_words[] = {
	"defined", "undefined", "started", "suspended", "resumed",
	"stopped", "shut down", "pmsuspended", "crashed",
};

static const char *const vf_lv__ev_pool_words[] = {
	"defined", "undefined", "started", "stopped", "created", "deleted",
};

/* Indexed by virConnectCloseReason. */
static const char *const vf_lv__ev_close_words[] = {
	"an error", "end of file", "keepalive timeout", "a client request",
};

static int vf_lv__ev_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
				  void *opaque)
{
	(void)conn;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_lv__ev_domain_words)
		? vf_lv__ev_domain_words[event] : "changed";
	const char *how = "";
	if (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
		how = " (destroyed)";
	else if (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
		how = " (crashed)";
	vf_lv__ev_note_domain(opaque, dom,
			      vf_asprintf("Domain/%s %s%s", virDomainGetName(dom), word, how));
	return 0;
}

static void vf_lv__ev_on_metadata(virConnectPtr conn, virDomainPtr dom, int type,
				  const char *nsuri, void *opaque)
{
	(void)conn;
	(void)type;
	vf_lv__ev_note_domain(opaque, dom,
			      vf_asprintf("Domain/%s metadata changed%s%s", virDomainGetName(dom),
					  nsuri ? " in " : "", nsuri ? nsuri : ""));
}

static void vf_lv__ev_on_pool(virConnectPtr conn, virStoragePoolPtr pool, int event, int detail,
			      void *opaque)
{
	(void)conn;
	(void)detail;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_lv__ev_pool_words)
		? vf_lv__ev_pool_words[event] : "changed";
	vf_lv__ev_note_pool(opaque, pool,
			    vf_asprintf("StoragePool/%s %s", virStoragePoolGetName(pool), word));
}

/* Indexed by virNetworkEventLifecycleType. */
static const char *const vf_lv__ev_network_words[] = {
	"defined", "undefined", "started", "stopped",
};

static void vf_lv__ev_on_network(virConnectPtr conn, virNetworkPtr net, int event, int detail,
				 void *opaque)
{
	(void)conn;
	(void)detail;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_lv__ev_network_words)
		? vf_lv__ev_network_words[event] : "changed";
	unsigned char uuid[VIR_UUID_BUFLEN] = { 0 };
	virNetworkGetUUID(net, uuid);
	vf_lv__ev_note(opaque, VF_KIND_NETWORK, virNetworkGetName(net), uuid,
		       vf_asprintf("Network/%s %s", virNetworkGetName(net), word));
}

/* A refresh (someone's virsh pool-refresh, a volume made through libvirt
 * in a pool that refreshes): its volumes may have changed. */
static void vf_lv__ev_on_pool_refresh(virConnectPtr conn, virStoragePoolPtr pool, void *opaque)
{
	(void)conn;
	vf_lv__ev_note_pool(opaque, pool,
			    vf_asprintf("StoragePool/%s refreshed", virStoragePoolGetName(pool)));
}

/* ---- what is listened to: one entry per kind of event ---------------------- */

static int vf_lv__ev_reg_lifecycle(virConnectPtr c, vf_event_source *s)
{
	return virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						VIR_DOMAIN_EVENT_CALLBACK(vf_lv__ev_on_lifecycle), s, NULL);
}

static int vf_lv__ev_reg_metadata(virConnectPtr c, vf_event_source *s)
{
	return virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
						VIR_DOMAIN_EVENT_CALLBACK(vf_lv__ev_on_metadata), s, NULL);
}

static int vf_lv__ev_reg_pool(virConnectPtr c, vf_event_source *s)
{
	return virConnectStoragePoolEventRegisterAny(c, NULL, VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
						     VIR_STORAGE_POOL_EVENT_CALLBACK(vf_lv__ev_on_pool),
						     s, NULL);
}

static int vf_lv__ev_reg_network(virConnectPtr c, vf_event_source *s)
{
	return virConnectNetworkEventRegisterAny(c, NULL, VIR_NETWORK_EVENT_ID_LIFECYCLE,
						 VIR_NETWORK_EVENT_CALLBACK(vf_lv__ev_on_network), s, NULL);
}

static int vf_lv__ev_reg_pool_refresh(virConnectPtr c, vf_event_source *s)
{
	return virConnectStoragePoolEventRegisterAny(c, NULL, VIR_STORAGE_POOL_EVENT_ID_REFRESH,
						     VIR_STORAGE_POOL_EVENT_CALLBACK(vf_lv__ev_on_pool_refresh),
						     s, NULL);
}

/* Each registration: how to make it and undo it, and whether the source
 * is any use without it. A kind's events (a network's, say) are one more
 * entry, with a callback that calls vf_lv__ev_note for its kind; libvirt
 * has no volume events, so volumes come with their pool's. */
static const struct {
	const char *what;         /* for the error message */
	bool required;            /* else: a driver without it still gives the others */
	int (*reg)(virConnectPtr c, vf_event_source *s); /* callback id, or -1 */
	int (*dereg)(virConnectPtr c, int id);
} vf_lv__ev_kinds[] = {
	{ "domain events", true, vf_lv__ev_reg_lifecycle, virConnectDomainEventDeregisterAny },
	/* older drivers: lifecycle events still cover redefinition */
	{ "domain metadata events", false, vf_lv__ev_reg_metadata, virConnectDomainEventDeregisterAny },
	/* a hypervisor-only URI has no storage events */
	{ "storage pool events", false, vf_lv__ev_reg_pool, virConnectStoragePoolEventDeregisterAny },
	{ "storage pool refresh events", false, vf_lv__ev_reg_pool_refresh,
	  virConnectStoragePoolEventDeregisterAny },
	/* nor, then, network events */
	{ "network events", false, vf_lv__ev_reg_network, virConnectNetworkEventDeregisterAny },
};

_Static_assert(VF_ARRAY_SIZE(vf_lv__ev_kinds) <= VF_LV_EV_MAX, "raise VF_LV_EV_MAX");

static void vf_lv__ev_on_close(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn;
	vf_event_source *s = opaque;
	atomic_store(&s->closed, true);
	pthread_mutex_lock(&s->lock);
	s->pending.closed = true;
	free(s->pending.last);
	s->pending.last = vf_asprintf("connection closed: %s",
				      reason >= 0 && (size_t)reason < VF_ARRAY_SIZE(vf_lv__ev_close_words)
				      ? vf_lv__ev_close_words[reason] : "unknown reason");
	pthread_mutex_unlock(&s->lock);
	vf_lv__ev_kick(s);
}

int vf_lv_events_open(const char *uri, vf_event_source **out, vf_error *err)
{
	vf_event_source *s = vf_calloc(1, sizeof(*s));
	int r;
	for (size_t i = 0; i < VF_LV_EV_MAX; i++)
		s->cb[i] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		r = vf_error_set(err, VF_E_IO, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/* Bounded, and kept alive: a hung libvirtd is noticed, not only a
	 * dead one. */
	r = vf_lv__open_bounded(uri, false, VF_CONNECT_TIMEOUT_DEFAULT_S, &s->conn, NULL, err);
	if (r < 0)
		goto fail;
	if (virConnectRegisterCloseCallback(s->conn, vf_lv__ev_on_close, s, NULL) == 0)
		s->close_cb = true;
	else
		virResetLastError(); /* drivers without a transport cannot close */
	for (size_t i = 0; i < VF_ARRAY_SIZE(vf_lv__ev_kinds); i++) {
		s->cb[i] = vf_lv__ev_kinds[i].reg(s->conn, s);
		if (s->cb[i] >= 0)
			continue;
		if (vf_lv__ev_kinds[i].required) {
			r = vf_error_set(err, VF_E_DRIVER, "cannot register for %s: %s",
					 vf_lv__ev_kinds[i].what, virGetLastErrorMessage());
			goto fail;
		}
		virResetLastError();
	}
	*out = s;
	return 0;
fail:
	vf_lv_events_close(s);
	return r;
}

int vf_lv_events_fd(const vf_event_source *s)
{
	return s->efd;
}

void vf_lv_events_take(vf_event_source *s, vf_event_report *out)
{
	uint64_t v;
	ssize_t n = read(s->efd, &v, sizeof(v));
	(void)n; /* EAGAIN: nothing was pending, and the report says so */
	pthread_mutex_lock(&s->lock);
	*out = s->pending;
	memset(&s->pending, 0, sizeof(s->pending));
	pthread_mutex_unlock(&s->lock);
}

bool vf_lv_events_alive(vf_event_source *s)
{
	return s && s->conn && !atomic_load(&s->closed) && virConnectIsAlive(s->conn) == 1;
}

void vf_lv_events_close(vf_event_source *s)
{
	if (!s)
		return;
	if (s->conn) {
		for (size_t i = 0; i < VF_ARRAY_SIZE(vf_lv__ev_kinds); i++)
			if (s->cb[i] >= 0)
				vf_lv__ev_kinds[i].dereg(s->conn, s->cb[i]);
		if (s->close_cb)
			virConnectUnregisterCloseCallback(s->conn, vf_lv__ev_on_close);
		virResetLastError();
		virConnectClose(s->conn);
		/* A callback already dispatched may still hold `s`. */
		vf_lv__ev_barrier();
	}
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->lock);
	vf_event_report_clear(&s->pending);
	free(s);
}
