/* watch_serve.c: answers the control sockets while the watch daemon's main
 * loop is busy with a reconcile pass, which may take minutes (a download,
 * a guest slow to shut down). The loop serves the sockets itself when
 * idle; for the length of a pass it hands them to the thread here, which
 * answers `status` from a snapshot taken as the pass began plus the step
 * in progress, and queues `reload` and `reconcile` for after the pass.
 * Not for the status document itself (watch_pass.c) or the sockets and
 * their protocol (status.c). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "controller/watch/watch_serve.h"

struct vf_watch_serve {
	vf_status_server *server; /* borrowed from the daemon */
	int main_wake;            /* the loop's self-pipe (borrowed) */
	pthread_t thread;
	int wake;                 /* eventfd: the state below changed */
	pthread_mutex_t lock;     /* guards everything below */
	bool active;              /* a pass runs: the thread answers */
	bool stop;
	char *snapshot;           /* the status document as the pass began (JSON) */
	char *trigger;            /* why the pass runs */
	time_t since;
	char *step;               /* the step in progress; NULL before the first */
	bool want_pass;           /* `reconcile` arrived meanwhile */
	bool want_reload;         /* `reload` arrived meanwhile */
};

static void vf_watch_serve__poke(vf_watch_serve *s)
{
	uint64_t one = 1;
	while (write(s->wake, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* The answer while a pass runs; on the serving thread. */
static json_object *vf_watch_serve__answer(const char *command, bool privileged, void *userdata)
{
	vf_watch_serve *s = userdata;
	if (strcmp(command, "reload") == 0 || strcmp(command, "reconcile") == 0) {
		if (!privileged)
			return vf_status_error_response("this command changes things: use watch.sock");
		pthread_mutex_lock(&s->lock);
		if (strcmp(command, "reload") == 0)
			s->want_reload = true;
		s->want_pass = true;
		pthread_mutex_unlock(&s->lock);
		char c = 1;
		while (write(s->main_wake, &c, 1) < 0 && errno == EINTR)
			;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "queued", json_object_new_boolean(true));
		return o;
	}
	if (strcmp(command, "resync") == 0)
		return vf_status_error_response("a reconcile pass is running; ask for the resync when it is done");
	if (strcmp(command, "status") != 0)
		return vf_status_error_response("unknown command; try status, reload, reconcile or resync");

	pthread_mutex_lock(&s->lock);
	json_object *st = s->snapshot ? json_tokener_parse(s->snapshot) : NULL;
	json_object *r = json_object_new_object();
	_cleanup_free_ char *since = vf_format_time(s->since);
	json_object_object_add(r, "since", since ? json_object_new_string(since) : NULL);
	json_object_object_add(r, "seconds", json_object_new_int64((int64_t)(time(NULL) - s->since)));
	json_object_object_add(r, "trigger", s->trigger ? json_object_new_string(s->trigger) : NULL);
	json_object_object_add(r, "step", s->step ? json_object_new_string(s->step) : NULL);
	pthread_mutex_unlock(&s->lock);
	if (!st) {
		json_object_put(r);
		return vf_status_error_response("the status snapshot is missing; try again");
	}
	json_object_object_add(st, "reconciling", r);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "status", st);
	return o;
}

static void *vf_watch_serve__run(void *arg)
{
	vf_watch_serve *s = arg;
	int sfd[2];
	vf_status_server_fds(s->server, sfd);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool stop = s->stop, active = s->active;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
		struct pollfd fds[3] = {
			{ .fd = s->wake, .events = POLLIN },
			{ .fd = active ? sfd[0] : -1, .events = POLLIN },
			{ .fd = active ? sfd[1] : -1, .events = POLLIN },
		};
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents) {
			uint64_t n;
			while (read(s->wake, &n, sizeof(n)) < 0 && errno == EINTR)
				;
			continue; /* re-read the state before touching the sockets */
		}
		/* The loop may have taken the client first (the sockets are
		 * non-blocking): serve then finds nothing and returns. */
		for (int i = 1; i <= 2; i++)
			if (fds[i].revents & POLLIN)
				vf_status_server_serve(s->server, fds[i].fd, vf_watch_serve__answer, s);
	}
	return NULL;
}

int vf_watch_serve_start(vf_status_server *server, int main_wake, vf_watch_serve **out,
			 vf_error *err)
{
	vf_watch_serve *s = vf_calloc(1, sizeof(*s));
	s->server = server;
	s->main_wake = main_wake;
	pthread_mutex_init(&s->lock, NULL);
	s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake < 0) {
		int r = vf_error_set(err, VF_E_IO, "eventfd: %s", strerror(errno));
		pthread_mutex_destroy(&s->lock);
		free(s);
		return r;
	}
	int e = pthread_create(&s->thread, NULL, vf_watch_serve__run, s);
	if (e != 0) {
		close(s->wake);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return vf_error_set(err, VF_E_INTERNAL, "cannot start the status thread: %s",
				    strerror(e));
	}
	*out = s;
	return 0;
}

void vf_watch_serve_stop(vf_watch_serve *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_mutex_unlock(&s->lock);
	vf_watch_serve__poke(s);
	pthread_join(s->thread, NULL);
	close(s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->snapshot);
	free(s->trigger);
	free(s->step);
	free(s);
}

void vf_watch_serve_begin(vf_watch_serve *s, json_object *status, const char *trigger)
{
	char *text = vf_strdup(json_object_to_json_string_ext(
		status, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(status);
	if (!s) {
		free(text);
		return;
	}
	pthread_mutex_lock(&s->lock);
	free(s->snapshot);
	s->snapshot = text;
	free(s->trigger);
	s->trigger = vf_strdup(trigger);
	free(s->step);
	s->step = NULL;
	s->since = time(NULL);
	s->active = true;
	pthread_mutex_unlock(&s->lock);
	vf_watch_serve__poke(s);
}

void vf_watch_serve_step(vf_watch_serve *s, const char *step)
{
	if (!s)
		return;
	char *copy = vf_strdup(step);
	pthread_mutex_lock(&s->lock);
	free(s->step);
	s->step = copy;
	pthread_mutex_unlock(&s->lock);
}

void vf_watch_serve_end(vf_watch_serve *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->active = false;
	pthread_mutex_unlock(&s->lock);
	vf_watch_serve__poke(s);
}

void vf_watch_serve_take(vf_watch_serve *s, bool *want_pass, bool *want_reload)
{
	*want_pass = *want_reload = false;
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	*want_pass = s->want_pass;
	*want_reload = s->want_reload;
	s->want_pass = s->want_reload = false;
	pthread_mutex_unlock(&s->lock);
}
