/* daemon_events.c: the watch daemon's libvirt event source. A thread runs
 * virEventRunDefaultImpl(); callbacks (which run on that thread) only
 * count, remember a one-line description and write to an eventfd, so all
 * decisions stay on the main loop. See daemon_events.h for why this file
 * talks to libvirt directly. */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon_events.h"

/* ---- the event loop thread ------------------------------------------------ */

static pthread_once_t vf_ev__once = PTHREAD_ONCE_INIT;
static int vf_ev__register_rc;
static pthread_mutex_t vf_ev__loop_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static bool vf_ev__running;
static pthread_t vf_ev__thread;
static atomic_bool vf_ev__stop;

static void vf_ev__quiet(void *userdata, virErrorPtr error)
{
	(void)userdata;
	(void)error; /* callers report errors themselves, through vf_error */
}

static void vf_ev__register(void)
{
	virSetErrorFunc(NULL, vf_ev__quiet);
	vf_ev__register_rc = virEventRegisterDefaultImpl();
}

static void *vf_ev__run(void *arg)
{
	(void)arg;
	while (!atomic_load(&vf_ev__stop))
		if (virEventRunDefaultImpl() < 0)
			usleep(100 * 1000); /* a failing poll must not spin */
	return NULL;
}

static void vf_ev__wake(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
}

int vf_event_loop_start(vf_error *err)
{
	pthread_once(&vf_ev__once, vf_ev__register);
	if (vf_ev__register_rc < 0)
		return vf_error_set(err, VF_E_DRIVER, "cannot set up libvirt's event loop: %s",
				    virGetLastErrorMessage());
	pthread_mutex_lock(&vf_ev__loop_lock);
	int r = 0;
	if (!vf_ev__running) {
		atomic_store(&vf_ev__stop, false);
		int e = pthread_create(&vf_ev__thread, NULL, vf_ev__run, NULL);
		if (e)
			r = vf_error_set(err, VF_E_INTERNAL, "cannot start the event thread: %s",
					 strerror(e));
		else
			vf_ev__running = true;
	}
	pthread_mutex_unlock(&vf_ev__loop_lock);
	return r;
}

/* Wait until the loop has finished whatever callback it was running: it
 * runs one at a time, so once a fresh timer fires, earlier ones are done. */
static pthread_mutex_t vf_ev__barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vf_ev__barrier_cond = PTHREAD_COND_INITIALIZER;

static void vf_ev__barrier_cb(int timer, void *opaque)
{
	virEventRemoveTimeout(timer);
	pthread_mutex_lock(&vf_ev__barrier_lock);
	*(bool *)opaque = true;
	pthread_cond_broadcast(&vf_ev__barrier_cond);
	pthread_mutex_unlock(&vf_ev__barrier_lock);
}

static void vf_ev__barrier(void)
{
	pthread_mutex_lock(&vf_ev__loop_lock);
	bool running = vf_ev__running && !pthread_equal(pthread_self(), vf_ev__thread);
	pthread_mutex_unlock(&vf_ev__loop_lock);
	if (!running)
		return;
	bool done = false;
	if (virEventAddTimeout(0, vf_ev__barrier_cb, &done, NULL) < 0)
		return;
	pthread_mutex_lock(&vf_ev__barrier_lock);
	while (!done)
		pthread_cond_wait(&vf_ev__barrier_cond, &vf_ev__barrier_lock);
	pthread_mutex_unlock(&vf_ev__barrier_lock);
}

void vf_event_loop_stop(void)
{
	pthread_mutex_lock(&vf_ev__loop_lock);
	if (vf_ev__running) {
		atomic_store(&vf_ev__stop, true);
		/* A new timer interrupts the loop's poll, so it sees the flag. */
		virEventAddTimeout(0, vf_ev__wake, NULL, NULL);
		pthread_join(vf_ev__thread, NULL);
		vf_ev__running = false;
	}
	pthread_mutex_unlock(&vf_ev__loop_lock);
}

/* ---- one listening connection --------------------------------------------- */

struct vf_events {
	virConnectPtr conn;
	int efd;
	int cb_lifecycle;         /* callback ids; -1 when not registered */
	int cb_metadata;
	int cb_pool;
	bool close_cb;
	atomic_bool closed;
	pthread_mutex_t lock;     /* guards `pending` (written on the event thread) */
	vf_events_report pending;
};

static void vf_ev__note(vf_events *e, bool pool, char *what /* taken */)
{
	pthread_mutex_lock(&e->lock);
	if (pool)
		e->pending.pool_events++;
	else
		e->pending.domain_events++;
	free(e->pending.last);
	e->pending.last = what;
	pthread_mutex_unlock(&e->lock);
	uint64_t one = 1;
	ssize_t n = write(e->efd, &one, sizeof(one));
	(void)n;
}

static const char *const vf_ev__lifecycle_words[] = {
	"defined", "undefined", "started", "suspended", "resumed",
	"stopped", "shut down", "pmsuspended", "crashed",
};

static int vf_ev__on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			       void *opaque)
{
	(void)conn;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_ev__lifecycle_words)
		? vf_ev__lifecycle_words[event] : "changed";
	const char *how = "";
	if (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
		how = " (destroyed)";
	else if (event == VIR_DOMAIN_EVENT_STOPPED && detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
		how = " (crashed)";
	vf_ev__note(opaque, false, vf_asprintf("Domain/%s %s%s", virDomainGetName(dom), word, how));
	return 0;
}

static void vf_ev__on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri,
			       void *opaque)
{
	(void)conn;
	(void)type;
	vf_ev__note(opaque, false, vf_asprintf("Domain/%s metadata changed%s%s", virDomainGetName(dom),
					       nsuri ? " in " : "", nsuri ? nsuri : ""));
}

static const char *const vf_ev__pool_words[] = {
	"defined", "undefined", "started", "stopped", "created", "deleted",
};

static void vf_ev__on_pool(virConnectPtr conn, virStoragePoolPtr pool, int event, int detail,
			   void *opaque)
{
	(void)conn;
	(void)detail;
	const char *word = event >= 0 && (size_t)event < VF_ARRAY_SIZE(vf_ev__pool_words)
		? vf_ev__pool_words[event] : "changed";
	vf_ev__note(opaque, true, vf_asprintf("StoragePool/%s %s", virStoragePoolGetName(pool), word));
}

static const char *const vf_ev__close_words[] = { "an error", "end of file", "keepalive timeout",
						  "a client request" };

static void vf_ev__on_close(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn;
	vf_events *e = opaque;
	atomic_store(&e->closed, true);
	pthread_mutex_lock(&e->lock);
	e->pending.closed = true;
	free(e->pending.last);
	e->pending.last = vf_asprintf("connection closed: %s",
				      reason >= 0 && (size_t)reason < VF_ARRAY_SIZE(vf_ev__close_words)
				      ? vf_ev__close_words[reason] : "unknown reason");
	pthread_mutex_unlock(&e->lock);
	uint64_t one = 1;
	ssize_t n = write(e->efd, &one, sizeof(one));
	(void)n;
}

int vf_events_open(const char *uri, vf_events **out, vf_error *err)
{
	vf_events *e = vf_calloc(1, sizeof(*e));
	int r;
	e->cb_lifecycle = e->cb_metadata = e->cb_pool = -1;
	pthread_mutex_init(&e->lock, NULL);
	e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->efd < 0) {
		r = vf_error_set(err, VF_E_IO, "eventfd: %s", strerror(errno));
		goto fail;
	}
	e->conn = virConnectOpen(uri);
	if (!e->conn) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot connect to %s for events: %s",
				 uri ? uri : "libvirt's default URI", virGetLastErrorMessage());
		goto fail;
	}
	/* Remote connections: notice a hung libvirtd, not only a dead one.
	 * Local drivers do not support keepalive; that is fine. */
	if (virConnectSetKeepAlive(e->conn, 5, 3) < 0)
		virResetLastError();
	if (virConnectRegisterCloseCallback(e->conn, vf_ev__on_close, e, NULL) == 0)
		e->close_cb = true;
	else
		virResetLastError(); /* drivers without a transport cannot close */
	e->cb_lifecycle = virConnectDomainEventRegisterAny(e->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							   VIR_DOMAIN_EVENT_CALLBACK(vf_ev__on_lifecycle),
							   e, NULL);
	if (e->cb_lifecycle < 0) {
		r = vf_error_set(err, VF_E_DRIVER, "cannot register for domain events: %s",
				 virGetLastErrorMessage());
		goto fail;
	}
	e->cb_metadata = virConnectDomainEventRegisterAny(e->conn, NULL,
							  VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
							  VIR_DOMAIN_EVENT_CALLBACK(vf_ev__on_metadata),
							  e, NULL);
	if (e->cb_metadata < 0)
		virResetLastError(); /* older drivers: lifecycle events still cover redefinition */
	e->cb_pool = virConnectStoragePoolEventRegisterAny(e->conn, NULL,
							   VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
							   VIR_STORAGE_POOL_EVENT_CALLBACK(vf_ev__on_pool),
							   e, NULL);
	if (e->cb_pool < 0)
		virResetLastError(); /* a hypervisor-only URI has no storage events */
	*out = e;
	return 0;
fail:
	vf_events_close(e);
	return r;
}

int vf_events_fd(const vf_events *e)
{
	return e->efd;
}

void vf_events_take(vf_events *e, vf_events_report *out)
{
	uint64_t v;
	ssize_t n = read(e->efd, &v, sizeof(v));
	(void)n;
	pthread_mutex_lock(&e->lock);
	*out = e->pending;
	memset(&e->pending, 0, sizeof(e->pending));
	pthread_mutex_unlock(&e->lock);
}

void vf_events_report_clear(vf_events_report *r)
{
	free(r->last);
	memset(r, 0, sizeof(*r));
}

bool vf_events_alive(vf_events *e)
{
	return e && e->conn && !atomic_load(&e->closed) && virConnectIsAlive(e->conn) == 1;
}

void vf_events_close(vf_events *e)
{
	if (!e)
		return;
	if (e->conn) {
		if (e->cb_lifecycle >= 0)
			virConnectDomainEventDeregisterAny(e->conn, e->cb_lifecycle);
		if (e->cb_metadata >= 0)
			virConnectDomainEventDeregisterAny(e->conn, e->cb_metadata);
		if (e->cb_pool >= 0)
			virConnectStoragePoolEventDeregisterAny(e->conn, e->cb_pool);
		if (e->close_cb)
			virConnectUnregisterCloseCallback(e->conn, vf_ev__on_close);
		virResetLastError();
		virConnectClose(e->conn);
		/* A callback already dispatched may still hold `e`. */
		vf_ev__barrier();
	}
	if (e->efd >= 0)
		close(e->efd);
	pthread_mutex_destroy(&e->lock);
	vf_events_report_clear(&e->pending);
	free(e);
}
