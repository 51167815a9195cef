/* status.c: the watch daemon's Unix control sockets (server and client) and
 * the text form of its status document. The document itself is built by
 * the daemon (watch.c); its fields are listed in docs/watch.md. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "controller/core/statedir.h"
#include "controller/watch/status.h"

#define VF_STATUS_MAX_REQUEST 4096
/* How long one client may take to send its request and read the answer. */
#define VF_STATUS_REQUEST_DEADLINE_MS 2000

struct vf_status_server {
	int fd[2];                /* [0] watch.sock (privileged), [1] watch-ro.sock */
	char *path[2];
};

static int vf_status__addr(const char *path, struct sockaddr_un *sa, vf_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return vf_error_set(err, VF_E_IO, "socket path %s is too long for a Unix socket", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static int vf_status__listen(const char *path, mode_t mode, gid_t gid, int *out, vf_error *err)
{
	struct sockaddr_un sa;
	if (vf_status__addr(path, &sa, err) < 0)
		return -VF_E_IO;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "socket: %s", strerror(errno));
	unlink(path);
	/* Bind under a tight umask so the socket is never briefly too open. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0 ||
	    (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0) || chmod(path, mode) < 0) {
		r = vf_error_set(err, VF_E_IO, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return r;
	}
	*out = fd;
	return 0;
}

/* A daemon already answers on `path` (another watch sharing this runtime
 * directory): its sockets must not be taken over. */
static bool vf_status__answers(const char *path)
{
	struct sockaddr_un sa;
	if (vf_status__addr(path, &sa, NULL) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return up;
}

int vf_status_server_open(const char *runtime_dir, const char *group, vf_status_server **out,
			  vf_error *err)
{
	gid_t gid = (gid_t)-1;
	if (group) {
		struct group *g = getgrnam(group);
		if (!g)
			return vf_error_set(err, VF_E_USAGE, "socket group '%s' does not exist", group);
		gid = g->gr_gid;
	}
	/* 0755, or 0750 of the socket group: members can traverse it to
	 * watch-ro.sock; the sockets' own modes decide who may connect. */
	mode_t mode = group ? 0750 : 0755;
	int r = vf_statedir_check(runtime_dir, "runtime directory", mode, err);
	if (r < 0)
		return r;
	if (group && (chown(runtime_dir, (uid_t)-1, gid) < 0 || chmod(runtime_dir, mode) < 0))
		return vf_error_set(err, VF_E_IO, "cannot give runtime directory %s to group %s: %s",
				    runtime_dir, group, strerror(errno));
	vf_status_server *s = vf_calloc(1, sizeof(*s));
	s->fd[0] = s->fd[1] = -1;
	s->path[0] = vf_asprintf("%s/%s", runtime_dir, VF_STATUS_SOCK);
	s->path[1] = vf_asprintf("%s/%s", runtime_dir, VF_STATUS_RO_SOCK);
	if (vf_status__answers(s->path[0]) || vf_status__answers(s->path[1])) {
		r = vf_error_set(err, VF_E_LOCKED,
				 "another virtform watch daemon is listening in runtime directory %s; give this one its own --runtime-dir",
				 runtime_dir);
		free(s->path[0]);
		free(s->path[1]);
		free(s);
		return r;
	}
	r = vf_status__listen(s->path[0], 0600, (gid_t)-1, &s->fd[0], err);
	if (r == 0)
		r = vf_status__listen(s->path[1], 0660, gid, &s->fd[1], err);
	if (r < 0) {
		vf_status_server_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void vf_status_server_fds(const vf_status_server *s, int fds[2])
{
	fds[0] = s->fd[0];
	fds[1] = s->fd[1];
}

json_object *vf_status_error_response(const char *message)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(message));
	return o;
}

static int64_t vf_status__left_ms(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait until fd is ready for `events` or the deadline passes: 1 ready, 0 not. */
static int vf_status__wait(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		int64_t left = vf_status__left_ms(deadline);
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* Read one line (up to the newline or EOF) before the deadline; NULL when
 * the client did not finish its line in time. */
static char *vf_status__read_line(int fd, const struct timespec *deadline)
{
	vf_buf b = { 0 };
	vf_buf_add(&b, "");
	char chunk[512];
	bool done = false;
	while (!done && b.len < VF_STATUS_MAX_REQUEST) {
		if (!vf_status__wait(fd, POLLIN, deadline))
			break;
		ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			done = true; /* EOF ends the line too */
			break;
		}
		vf_buf_addn(&b, chunk, (size_t)n);
		done = memchr(chunk, '\n', (size_t)n) != NULL;
	}
	if (!done && b.len < VF_STATUS_MAX_REQUEST) {
		vf_buf_free(&b);
		return NULL;
	}
	char *nl = strchr(b.data, '\n');
	if (nl)
		*nl = '\0';
	return vf_buf_steal(&b);
}

/* Send all of text, giving up at the deadline (when one is given). */
static void vf_status__send_all(int fd, const char *text, const struct timespec *deadline)
{
	size_t len = strlen(text), off = 0;
	while (off < len) {
		if (deadline && !vf_status__wait(fd, POLLOUT, deadline))
			return;
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL | (deadline ? MSG_DONTWAIT : 0));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

void vf_status_server_serve(vf_status_server *s, int fd, vf_status_handler h, void *userdata)
{
	bool privileged = fd == s->fd[0];
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return;
	/* One deadline for the whole request, reading and answering: a
	 * client that sends nothing, or a byte a second, is dropped when it
	 * passes, so it never holds the daemon's loop (or its watchdog). */
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VF_STATUS_REQUEST_DEADLINE_MS / 1000;
	deadline.tv_nsec += (long)(VF_STATUS_REQUEST_DEADLINE_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	_cleanup_free_ char *line = vf_status__read_line(c, &deadline);
	if (!line) {
		close(c);
		return;
	}
	json_object *resp = NULL;
	json_object *req = json_tokener_parse(line);
	json_object *cmd = NULL;
	if (!req || !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "command", &cmd) ||
	    !json_object_is_type(cmd, json_type_string))
		resp = vf_status_error_response("expected one JSON line such as {\"command\": \"status\"}");
	else
		resp = h(json_object_get_string(cmd), privileged, userdata);
	const char *text = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *out = vf_asprintf("%s\n", text);
	vf_status__send_all(c, out, &deadline);
	json_object_put(req);
	json_object_put(resp);
	close(c);
}

void vf_status_server_close(vf_status_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++) {
		if (s->fd[i] >= 0) {
			close(s->fd[i]);
			unlink(s->path[i]);
		}
		free(s->path[i]);
	}
	free(s);
}

int vf_status_request(const char *runtime_dir, const char *command, bool privileged,
		      json_object **out, vf_error *err)
{
	_cleanup_free_ char *path = vf_asprintf("%s/%s", runtime_dir,
						 privileged ? VF_STATUS_SOCK : VF_STATUS_RO_SOCK);
	struct sockaddr_un sa;
	if (vf_status__addr(path, &sa, err) < 0)
		return -VF_E_IO;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vf_error_set(err, VF_E_IO, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return vf_error_set(err, VF_E_IO,
					    "no virtform watch daemon is running with runtime directory %s (give the --runtime-dir, or the config file, the daemon uses)",
					    runtime_dir);
		if (e == EACCES && !privileged)
			return vf_error_set(err, VF_E_IO,
					    "cannot connect to %s: %s (only root and members of the daemon's --socket-group may)",
					    path, strerror(e));
		return vf_error_set(err, VF_E_IO, "cannot connect to %s: %s", path, strerror(e));
	}
	struct timeval tv = { .tv_sec = 30 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	json_object *req = json_object_new_object();
	json_object_object_add(req, "command", json_object_new_string(command));
	_cleanup_free_ char *line = vf_asprintf("%s\n", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	vf_status__send_all(fd, line, NULL);
	shutdown(fd, SHUT_WR);
	vf_buf b = { 0 };
	vf_buf_add(&b, "");
	char chunk[4096];
	ssize_t n;
	while ((n = recv(fd, chunk, sizeof(chunk), 0)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		vf_buf_addn(&b, chunk, (size_t)n);
	}
	close(fd);
	json_object *resp = json_tokener_parse(b.data);
	vf_buf_free(&b);
	if (!resp || !json_object_is_type(resp, json_type_object)) {
		json_object_put(resp);
		return vf_error_set(err, VF_E_IO, "the daemon at %s sent no valid answer", path);
	}
	*out = resp;
	return 0;
}

/* ---- text form ------------------------------------------------------------ */

static const char *vf_status__str(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static int64_t vf_status__int(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return -1;
	return json_object_get_int64(v);
}

static json_object *vf_status__get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o)
		json_object_object_get_ex(o, key, &v);
	return v;
}

/* The fleet section (fleet.c's vf_fleet_status_json); nothing without --etcd. */
static void vf_status__format_fleet(vf_buf *b, json_object *fl)
{
	if (!fl)
		return;
	json_object *lease = vf_status__get(fl, "lease");
	json_object *dl = vf_status__get(lease, "deadline_in_ms");
	vf_buf_printf(b, "Fleet: host %s, lease %s %s", vf_status__str(fl, "host_id") ?: "?",
		      vf_status__str(lease, "id") ?: "-", vf_status__str(lease, "state") ?: "?");
	if (dl)
		vf_buf_printf(b, ", fence deadline in %lld ms", (long long)json_object_get_int64(dl));
	vf_buf_printf(b, " (TTL %lld ms, margin %lld ms; %lld lost so far)\n",
		      (long long)vf_status__int(lease, "ttl_ms"), (long long)vf_status__int(lease, "margin_ms"),
		      (long long)vf_status__int(lease, "losses"));
	const char *loss = vf_status__str(lease, "last_loss");
	if (loss)
		vf_buf_printf(b, "  last lease lost: %s\n", loss);
	json_object *hosts = vf_status__get(fl, "hosts");
	vf_buf_printf(b, "  Hosts alive: %zu\n", hosts ? json_object_array_length(hosts) : (size_t)0);
	for (size_t i = 0; hosts && i < json_object_array_length(hosts); i++) {
		json_object *h = json_object_array_get_idx(hosts, i);
		vf_buf_printf(b, "    %-20s", vf_status__str(h, "id") ?: "?");
		json_object *age = vf_status__get(h, "lease_age_s");
		if (age)
			vf_buf_printf(b, " lease age %llds", (long long)json_object_get_int64(age));
		json_object *labels = vf_status__get(h, "labels");
		bool first = true;
		if (labels) {
			json_object_object_foreach(labels, k, v) {
				vf_buf_printf(b, "%s%s=%s", first ? "  labels " : ",", k, json_object_get_string(v));
				first = false;
			}
		}
		vf_buf_add(b, "\n");
	}
	json_object *doms = vf_status__get(fl, "domains");
	if (doms && json_object_array_length(doms)) {
		vf_buf_add(b, "  Placed domains:\n");
		for (size_t i = 0; i < json_object_array_length(doms); i++) {
			json_object *d = json_object_array_get_idx(doms, i);
			json_object *here = vf_status__get(d, "held_here");
			vf_buf_printf(b, "    Domain/%-28s held by %s (token %lld)%s\n",
				      vf_status__str(d, "domain") ?: "?", vf_status__str(d, "holder") ?: "?",
				      (long long)vf_status__int(d, "token"),
				      here && json_object_get_boolean(here) ? ", here" : "");
		}
	}
	const char *perr = vf_status__str(fl, "poll_error");
	if (perr)
		vf_buf_printf(b, "  etcd: %s\n", perr);
}

char *vf_status_format_text(json_object *st)
{
	vf_buf b = { 0 };
	vf_buf_add(&b, "");
	json_object *conn = vf_status__get(st, "connected");
	vf_buf_printf(&b, "virtform watch: pid %lld, manifests %s, %s %s\n",
		      (long long)vf_status__int(st, "pid"), vf_status__str(st, "manifests") ?: "?",
		      conn && json_object_get_boolean(conn) ? "connected to" : "NOT connected to",
		      vf_status__str(st, "connect") ?: "libvirt's default URI");
	json_object *last = vf_status__get(st, "last_reconcile");
	if (last) {
		vf_buf_printf(&b, "Last reconcile: %s (%llds ago, after %s): %s",
			      vf_status__str(last, "time") ?: "?",
			      (long long)vf_status__int(last, "seconds_ago"),
			      vf_status__str(last, "trigger") ?: "?",
			      vf_status__str(last, "result") ?: "?");
		const char *msg = vf_status__str(last, "message");
		vf_buf_printf(&b, "%s%s\n", msg ? ": " : "", msg ? msg : "");
	} else {
		vf_buf_add(&b, "Last reconcile: none yet\n");
	}
	json_object *now = vf_status__get(st, "reconciling");
	if (now) {
		/* The rest of the document is as of this pass's start. */
		const char *step = vf_status__str(now, "step");
		vf_buf_printf(&b, "Reconciling now: since %s (%llds, after %s)%s%s; the rest is as of its start\n",
			      vf_status__str(now, "since") ?: "?",
			      (long long)vf_status__int(now, "seconds"),
			      vf_status__str(now, "trigger") ?: "?", step ? ", at " : "",
			      step ? step : "");
	}
	const char *mstate = vf_status__str(st, "manifests_state") ?: "?";
	const char *enforcing = vf_status__str(st, "enforcing") ?: "none";
	if (strcmp(mstate, "valid") == 0)
		vf_buf_printf(&b, "Manifests: valid (loaded %s)\n", vf_status__str(st, "desired_loaded") ?: "?");
	else if (strcmp(enforcing, "last-good") == 0)
		vf_buf_printf(&b, "Manifests: %s; still enforcing the last good set, loaded %s\n", mstate,
			      vf_status__str(st, "desired_loaded") ?: "?");
	else
		vf_buf_printf(&b, "Manifests: %s; nothing is enforced yet\n", mstate);
	json_object *errs = vf_status__get(st, "errors");
	for (size_t i = 0; errs && i < json_object_array_length(errs); i++) {
		json_object *e = json_object_array_get_idx(errs, i);
		const char *file = vf_status__str(e, "file");
		long long line = vf_status__int(e, "line"), col = vf_status__int(e, "col");
		/* a position only where there is one: a directory that cannot
		 * be read has none, and says "DIR: error: ...", as the log does */
		if (file && line > 0)
			vf_buf_printf(&b, "  %s:%lld:%lld: error: %s\n", file, line, col,
				      vf_status__str(e, "message") ?: "");
		else if (file)
			vf_buf_printf(&b, "  %s: error: %s\n", file, vf_status__str(e, "message") ?: "");
		else
			vf_buf_printf(&b, "  error: %s\n", vf_status__str(e, "message") ?: "");
	}
	/* one column wide enough for the longest name, at least 36 */
	int width = 36;
	json_object *objs = vf_status__get(st, "objects");
	json_object *retry = vf_status__get(st, "retrying");
	json_object *lists[] = { objs, retry };
	for (size_t l = 0; l < VF_ARRAY_SIZE(lists); l++)
		for (size_t i = 0; lists[l] && i < json_object_array_length(lists[l]); i++) {
			const char *name = vf_status__str(json_object_array_get_idx(lists[l], i), "object");
			if (name && strlen(name) > (size_t)width && strlen(name) < 200)
				width = (int)strlen(name);
		}
	if (objs && json_object_array_length(objs)) {
		vf_buf_add(&b, "Objects:\n");
		for (size_t i = 0; i < json_object_array_length(objs); i++) {
			json_object *o = json_object_array_get_idx(objs, i);
			const char *file = vf_status__str(o, "file");
			vf_buf_printf(&b, "  %-*s %-10s", width, vf_status__str(o, "object") ?: "?",
				      vf_status__str(o, "state") ?: "?");
			if (file)
				vf_buf_printf(&b, " %s:%lld", file, (long long)vf_status__int(o, "line"));
			vf_buf_add(&b, "\n");
		}
	}
	if (retry && json_object_array_length(retry)) {
		vf_buf_add(&b, "Retrying:\n");
		for (size_t i = 0; i < json_object_array_length(retry); i++) {
			json_object *o = json_object_array_get_idx(retry, i);
			vf_buf_printf(&b, "  %-*s failed %lld time%s, next attempt in %llds: %s\n",
				      width, vf_status__str(o, "object") ?: "?",
				      (long long)vf_status__int(o, "failures"),
				      vf_status__int(o, "failures") == 1 ? "" : "s",
				      (long long)vf_status__int(o, "next_attempt_in_seconds"),
				      vf_status__str(o, "error") ?: "");
		}
	}
	json_object *cache = vf_status__get(st, "cache");
	if (cache) {
		json_object *per = vf_status__get(cache, "libvirt_calls_per_read");
		vf_buf_printf(&b, "Cache: %s; %lld domains, %lld pools, %lld volumes; %lld events, %lld objects read for them (%.1f libvirt calls each); %lld relists (last: %s); %lld resyncs, %lld disagreements\n",
			      json_object_get_boolean(vf_status__get(cache, "valid")) ? "valid" : "to relist",
			      (long long)vf_status__int(cache, "domains"), (long long)vf_status__int(cache, "pools"),
			      (long long)vf_status__int(cache, "volumes"), (long long)vf_status__int(cache, "events"),
			      (long long)vf_status__int(cache, "event_reads"), per ? json_object_get_double(per) : 0.0,
			      (long long)vf_status__int(cache, "relists"),
			      vf_status__str(cache, "last_relist_reason") ?: "none",
			      (long long)vf_status__int(cache, "resyncs"),
			      (long long)vf_status__int(cache, "disagreements"));
		const char *what = vf_status__str(cache, "last_disagreement");
		if (what)
			vf_buf_printf(&b, "  last disagreement: %s\n", what);
	}
	vf_status__format_fleet(&b, vf_status__get(st, "fleet"));
	int64_t next = vf_status__int(st, "next_resync_in_seconds");
	if (next >= 0)
		vf_buf_printf(&b, "Next full resync in %llds.\n", (long long)next);
	return vf_buf_steal(&b);
}
