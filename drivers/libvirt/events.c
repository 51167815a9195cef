/* events.c: the libvirt backend's event driver, the watch daemon's view of
 * out-of-band changes. A thread runs virEventRunDefaultImpl(); each source
 * is a second connection to the same URI, opened only to listen, whose
 * callbacks (on that thread) just count, keep a one-line description and
 * write to an eventfd. Not for deciding anything or changing the host. */
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

struct vf_event_source {
	virConnectPtr conn;
	int efd;
	int cb_lifecycle;         /* callback ids; -1 when not registered */
	int cb_metadata;
	int cb_pool;
	int cb_network;           /* network lifecycle (counted in network_events) */
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

static void vf_lv__ev_note(vf_event_source *s, bool pool, char *what /* taken */)
{
	pthread_mutex_lock(&s->lock);
	if (pool)
		s->pending.pool_events++;
	else
		s->pending.domain_events++;
	free(s->pending.last);
	s->pending.last = what;
	pthread_mutex_unlock(&s->lock);
	vf_lv__ev_kick(s);
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
	vf_lv__ev_note(opaque, false,
		       vf_asprintf("Domain/%s %s%s", virDomainGetName(dom), word, how));
	return 0;
}

static void vf_lv__ev_on_metadata(virConnectPtr conn, virDomainPtr dom, int type,
				  const char *nsuri, void *opaque)
{
	(void)conn;
	(void)type;
	vf_lv__ev_note(opaque, false,
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
	vf_lv__ev_note(opaque, true,
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
	vf_event_source *s = opaque;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_lv__ev_network_words)
		? vf_lv__ev_network_words[event] : "changed";
	pthread_mutex_lock(&s->lock);
	s->pending.network_events++;
	free(s->pending.last);
	s->pending.last = vf_asprintf("Network/%s %s", virNetworkGetName(net), word);
	pthread_mutex_unlock(&s->lock);
	vf_lv__ev_kick(s);
}

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
	s->cb_lifecycle = s->cb_metadata = s->cb_pool = s->cb_network = -1;
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
	s->cb_lifecycle = virConnectDomainEventRegisterAny(s->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							   VIR_DOMAIN_EVENT_CALLBACK(vf_lv__ev_on_lifecycle),
							   s, NULL);
	if (s->cb_lifecycle < 0) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot register for domain events: %s",
				 virGetLastErrorMessage());
		goto fail;
	}
	s->cb_metadata = virConnectDomainEventRegisterAny(s->conn, NULL,
							  VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
							  VIR_DOMAIN_EVENT_CALLBACK(vf_lv__ev_on_metadata),
							  s, NULL);
	if (s->cb_metadata < 0)
		virResetLastError(); /* older drivers: lifecycle events still cover redefinition */
	s->cb_pool = virConnectStoragePoolEventRegisterAny(s->conn, NULL,
							   VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
							   VIR_STORAGE_POOL_EVENT_CALLBACK(vf_lv__ev_on_pool),
							   s, NULL);
	if (s->cb_pool < 0)
		virResetLastError(); /* a hypervisor-only URI has no storage events */
	s->cb_network = virConnectNetworkEventRegisterAny(s->conn, NULL, VIR_NETWORK_EVENT_ID_LIFECYCLE,
							  VIR_NETWORK_EVENT_CALLBACK(vf_lv__ev_on_network),
							  s, NULL);
	if (s->cb_network < 0)
		virResetLastError(); /* nor of network events */
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
		if (s->cb_lifecycle >= 0)
			virConnectDomainEventDeregisterAny(s->conn, s->cb_lifecycle);
		if (s->cb_metadata >= 0)
			virConnectDomainEventDeregisterAny(s->conn, s->cb_metadata);
		if (s->cb_pool >= 0)
			virConnectStoragePoolEventDeregisterAny(s->conn, s->cb_pool);
		if (s->cb_network >= 0)
			virConnectNetworkEventDeregisterAny(s->conn, s->cb_network);
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
