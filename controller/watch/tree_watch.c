/* tree_watch.c: the manifest tree watcher. libinotifytools has no
 * descriptor to poll, so a thread blocks in inotifytools_next_event (with a
 * one-second timeout to notice stop requests and symlink swaps) and
 * forwards relevant events to the main loop through an eventfd. Every
 * libinotifytools call happens on that thread. */
#include <errno.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "controller/watch/tree_watch.h"
#include "controller/watch/watch_sched.h"

#define VF_TREE_MASK (IN_CREATE | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
		      IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB)
#define VF_PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

struct vf_tree_watch {
	char *dir;                /* DIR, absolute, final component unresolved */
	char *parent;             /* DIR's parent, with a trailing '/' */
	const char *base;         /* DIR's last component (points into dir) */
	int efd;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool recheck;
	/* Thread-only state. */
	char *real;               /* DIR's real path with a trailing '/'; NULL when missing */
	int parent_wd;
	/* `lock` guards `pending` only. */
	pthread_mutex_t lock;
	vf_tree_changes pending;
};

static void vf_tree__signal(vf_tree_watch *w)
{
	uint64_t one = 1;
	ssize_t n = write(w->efd, &one, sizeof(one));
	(void)n; /* EAGAIN means the counter is already non-zero: still readable */
}

/* Record a relevant change (and optionally a problem) and wake the loop. */
static void vf_tree__report(vf_tree_watch *w, const char *path, bool swapped, const char *error)
{
	pthread_mutex_lock(&w->lock);
	w->pending.events++;
	if (swapped)
		w->pending.root_swapped = true;
	if (path) {
		free(w->pending.last_path);
		w->pending.last_path = vf_strdup(path);
	}
	if (error) {
		free(w->pending.error);
		w->pending.error = vf_strdup(error);
	}
	free(w->pending.root);
	w->pending.root = vf_strdup(w->real);
	size_t n = w->pending.root ? strlen(w->pending.root) : 0;
	if (n > 1 && w->pending.root[n - 1] == '/')
		w->pending.root[n - 1] = '\0';
	pthread_mutex_unlock(&w->lock);
	vf_tree__signal(w);
}

static char *vf_tree__realdir(const char *dir)
{
	char buf[PATH_MAX];
	if (!realpath(dir, buf))
		return NULL;
	return vf_asprintf("%s/", strcmp(buf, "/") == 0 ? "" : buf);
}

/* Drop every watch and watch the parent and the tree again. Returns an
 * error message (caller frees) or NULL. */
static char *vf_tree__rewatch(vf_tree_watch *w)
{
	inotifytools_cleanup();
	if (!inotifytools_initialize())
		return vf_asprintf("cannot initialise inotify: %s", strerror(inotifytools_error()));
	w->parent_wd = -1;
	if (inotifytools_watch_file(w->parent, VF_PARENT_MASK))
		w->parent_wd = inotifytools_wd_from_filename(w->parent);
	free(w->real);
	w->real = vf_tree__realdir(w->dir);
	if (!w->real)
		return vf_asprintf("cannot resolve %s: %s", w->dir, strerror(errno));
	if (!inotifytools_watch_recursively(w->real, VF_TREE_MASK)) {
		int e = inotifytools_error();
		if (e == ENOSPC)
			return vf_asprintf("cannot watch %s: the inotify watch limit is reached "
					   "(fs.inotify.max_user_watches)", w->dir);
		return vf_asprintf("cannot watch %s: %s", w->dir, strerror(e));
	}
	return NULL;
}

/* Re-resolve DIR; when its target changed, rewatch and report a swap. */
static void vf_tree__check_root(vf_tree_watch *w)
{
	_cleanup_free_ char *now = vf_tree__realdir(w->dir);
	if (vf_streq_null(now, w->real))
		return;
	_cleanup_free_ char *old = vf_strdup(w->real);
	_cleanup_free_ char *error = vf_tree__rewatch(w);
	vf_tree__report(w, w->dir, !vf_streq_null(old, w->real), error);
}

/* True when no directory between the root and `dir` is hidden (.git). */
static bool vf_tree__visible_dir(const vf_tree_watch *w, const char *dir)
{
	if (!w->real || strncmp(dir, w->real, strlen(w->real)) != 0)
		return true;
	const char *rel = dir + strlen(w->real);
	while (*rel) {
		if (*rel == '.')
			return false;
		const char *slash = strchr(rel, '/');
		if (!slash)
			break;
		rel = slash + 1;
	}
	return true;
}

static void vf_tree__event(vf_tree_watch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		_cleanup_free_ char *error = vf_tree__rewatch(w);
		vf_tree__report(w, w->dir, false, error);
		return;
	}
	if (ev->wd == w->parent_wd) {
		if (ev->len && strcmp(ev->name, w->base) == 0)
			vf_tree__check_root(w);
		return;
	}
	const char *dir = inotifytools_filename_from_wd(ev->wd);
	if (!dir)
		return;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* The root (or a directory) went away or moved: start over. */
		if (w->real && strcmp(dir, w->real) == 0) {
			_cleanup_free_ char *old = vf_strdup(w->real);
			_cleanup_free_ char *error = vf_tree__rewatch(w);
			vf_tree__report(w, w->dir, !vf_streq_null(old, w->real), error);
		}
		return;
	}
	if (!ev->len || (ev->mask & IN_IGNORED))
		return;
	bool is_dir = ev->mask & IN_ISDIR;
	if (!vf_tree__visible_dir(w, dir) || !vf_watch_name_relevant(ev->name, is_dir))
		return;
	if (is_dir && (ev->mask & IN_ATTRIB))
		return;
	_cleanup_free_ char *path = vf_asprintf("%s%s", dir, ev->name);
	if (is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
		_cleanup_free_ char *sub = vf_asprintf("%s/", path);
		inotifytools_watch_recursively(sub, VF_TREE_MASK);
	} else if (is_dir && (ev->mask & IN_MOVED_FROM)) {
		/* Its watches would keep reporting from outside the tree. */
		_cleanup_free_ char *error = vf_tree__rewatch(w);
		vf_tree__report(w, path, false, error);
		return;
	}
	vf_tree__report(w, path, false, NULL);
}

static void *vf_tree__thread(void *arg)
{
	vf_tree_watch *w = arg;
	while (!atomic_load(&w->stop)) {
		if (atomic_exchange(&w->recheck, false) || !w->real)
			vf_tree__check_root(w);
		struct inotify_event *ev = inotifytools_next_event(1);
		if (atomic_load(&w->stop))
			break;
		if (!ev) {
			/* Timeout: a swap whose rename we missed still shows here. */
			vf_tree__check_root(w);
			continue;
		}
		vf_tree__event(w, ev);
	}
	inotifytools_cleanup();
	return NULL;
}

int vf_tree_watch_start(const char *dir, vf_tree_watch **out, vf_error *err)
{
	vf_tree_watch *w = vf_calloc(1, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	w->efd = -1;
	if (dir[0] == '/') {
		w->dir = vf_strdup(dir);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			vf_tree_watch_stop(w);
			return vf_error_set(err, VF_E_IO, "cannot read the current directory: %s",
					    strerror(errno));
		}
		w->dir = vf_asprintf("%s/%s", cwd, dir);
	}
	size_t n = strlen(w->dir);
	while (n > 1 && w->dir[n - 1] == '/')
		w->dir[--n] = '\0';
	char *slash = strrchr(w->dir, '/');
	w->base = slash + 1;
	w->parent = slash == w->dir ? vf_strdup("/") : vf_asprintf("%.*s/", (int)(slash - w->dir), w->dir);

	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		vf_tree_watch_stop(w);
		return vf_error_set(err, VF_E_IO, "eventfd: %s", strerror(errno));
	}
	_cleanup_free_ char *error = vf_tree__rewatch(w);
	if (error) {
		int r = vf_error_set(err, VF_E_IO, "%s", error);
		inotifytools_cleanup();
		vf_tree_watch_stop(w);
		return r;
	}
	int e = pthread_create(&w->thread, NULL, vf_tree__thread, w);
	if (e) {
		inotifytools_cleanup();
		vf_tree_watch_stop(w);
		return vf_error_set(err, VF_E_INTERNAL, "cannot start the watch thread: %s", strerror(e));
	}
	atomic_store(&w->stop, false);
	*out = w;
	return 0;
}

int vf_tree_watch_fd(const vf_tree_watch *w)
{
	return w->efd;
}

void vf_tree_watch_take(vf_tree_watch *w, vf_tree_changes *out)
{
	uint64_t v;
	ssize_t n = read(w->efd, &v, sizeof(v));
	(void)n;
	pthread_mutex_lock(&w->lock);
	*out = w->pending;
	memset(&w->pending, 0, sizeof(w->pending));
	pthread_mutex_unlock(&w->lock);
}

void vf_tree_changes_clear(vf_tree_changes *c)
{
	free(c->last_path);
	free(c->root);
	free(c->error);
	memset(c, 0, sizeof(*c));
}

void vf_tree_watch_recheck(vf_tree_watch *w)
{
	atomic_store(&w->recheck, true);
}

void vf_tree_watch_stop(vf_tree_watch *w)
{
	if (!w)
		return;
	if (w->thread) {
		atomic_store(&w->stop, true);
		pthread_join(w->thread, NULL);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->lock);
	vf_tree_changes_clear(&w->pending);
	free(w->dir);
	free(w->parent);
	free(w->real);
	free(w);
}
