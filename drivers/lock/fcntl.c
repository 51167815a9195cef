/* fcntl.c: the local lock driver (vf_fcntl_lock_driver). The reconcile lock
 * serialises apply/watch per state directory; the metadata lock is
 * libvirt's byte-1 convention around changing a file. Plain POSIX/Linux
 * fcntl locks, polled with backoff, so a crashed holder never blocks anyone.
 * Not for leases (lease.c) or for deciding what to lock (the controller). */
#include "drivers/driver.h"
#include "drivers/lock/syscalls.h"
#include "controller/statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the syscall table --------------------------------------------------- */

static int vf_lock__sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

static int vf_lock__sys_fcntl(int fd, int cmd, struct flock *fl)
{
	return fcntl(fd, cmd, fl);
}

static const vf_lock_syscalls vf_lock__sys_default = {
	.open = vf_lock__sys_open,
	.fcntl = vf_lock__sys_fcntl,
	.close = close,
	.clock_gettime = clock_gettime,
	.nanosleep = nanosleep,
};

vf_lock_syscalls vf_lock_sys = vf_lock__sys_default;

void vf_lock_sys_reset(void)
{
	vf_lock_sys = vf_lock__sys_default;
}

/* ---- tokens and the process-wide registry -------------------------------- */

/* One lock this process holds. Lock ordering and the POSIX pitfall:
 * classic fcntl locks (the metadata lock, and the reconcile lock's pid
 * witness on byte 1) belong to the process, not the descriptor, and ANY
 * close() of ANY descriptor for the same file in this process drops them.
 * So every lock/unlock runs under vf_fcntl__mutex (one thread at a time
 * talks to the backend), every held lock is listed in vf_fcntl__held, a
 * second lock of a held file in this process waits as "busy" instead of
 * opening (and later closing) the file again, and a descriptor that must
 * not be closed yet is parked on the holder's `spare` list until unlock.
 * Code elsewhere that changes a locked file uses vf_fcntl_lock_fd().
 * fork(): a child inherits the list and the descriptors but not the
 * classic locks, so tokens are matched only in their owner process, and a
 * child that unlocks an inherited token just closes its copy (an explicit
 * unlock there would release the parent's OFD lock). */
struct vf_lock_token {
	vf_lock_kind kind;
	char *path;               /* the locked file (<state_dir>/lock for RECONCILE) */
	int fd;                   /* held open from lock to unlock */
	dev_t dev;                /* identity of the locked file */
	ino_t ino;
	char *since;              /* ISO 8601 UTC time it was taken */
	int *spare;               /* descriptors of the same file closed at unlock */
	size_t n_spare;
	size_t cap_spare;
	pid_t owner;              /* the process that took it (see fork below) */
	vf_lock_token *next;      /* vf_fcntl__held list; under vf_fcntl__mutex */
};

static pthread_mutex_t vf_fcntl__mutex = PTHREAD_MUTEX_INITIALIZER;
static vf_lock_token *vf_fcntl__held;  /* guarded by vf_fcntl__mutex */

static vf_lock_token *vf_fcntl__find(dev_t dev, ino_t ino)
{
	pid_t me = getpid();
	for (vf_lock_token *t = vf_fcntl__held; t; t = t->next)
		if (t->owner == me && t->dev == dev && t->ino == ino)
			return t;
	return NULL;
}

static void vf_fcntl__unlist(vf_lock_token *tok)
{
	for (vf_lock_token **p = &vf_fcntl__held; *p; p = &(*p)->next)
		if (*p == tok) {
			*p = tok->next;
			return;
		}
}

int vf_fcntl_lock_fd(const vf_lock_token *tok)
{
	return tok ? tok->fd : -1;
}

/* ---- small helpers ------------------------------------------------------- */

static uint64_t vf_fcntl__now_ms(void)
{
	struct timespec ts = { 0 };
	if (vf_lock_sys.clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void vf_fcntl__sleep_ms(unsigned ms)
{
	struct timespec req = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };
	struct timespec rem;
	while (vf_lock_sys.nanosleep(&req, &rem) < 0 && errno == EINTR)
		req = rem;
}

/* "60 s" or "50 ms": how long a lock call was allowed to wait. */
static char *vf_fcntl__duration(unsigned ms)
{
	if (ms >= 1000 && ms % 1000 == 0)
		return vf_asprintf("%u s", ms / 1000);
	return vf_asprintf("%u ms", ms);
}

char *vf_lock__proc_cmdline(pid_t pid)
{
	_cleanup_free_ char *p = vf_asprintf("/proc/%ld/cmdline", (long)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return NULL;
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	if (n == 0)
		return NULL;   /* kernel threads and zombies have none */
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	return vf_strndup(buf, n);
}

int vf_lock__probe(int fd, off_t byte, pid_t *ret_pid, bool *ret_shared)
{
	/* F_OFD_GETLK sees every conflicting lock, this process's classic
	 * ones included; F_GETLK then names the pid of a classic holder
	 * (OFD locks have none: the kernel reports -1). */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	if (vf_lock_sys.fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	if (fl.l_type == F_UNLCK)
		return 0;
	bool shared = fl.l_type == F_RDLCK;
	pid_t pid = 0;
	struct flock cl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	if (vf_lock_sys.fcntl(fd, F_GETLK, &cl) == 0 && cl.l_type != F_UNLCK && cl.l_pid > 0)
		pid = cl.l_pid;
	else if (fl.l_pid > 0)
		pid = fl.l_pid;
	*ret_pid = pid;
	*ret_shared = shared;
	return 1;
}

/* ---- the holder's identity (reconcile lock) ------------------------------- */

static void vf_fcntl__write_identity(int fd, const char *since)
{
	/* Best effort: a full disk must not stop the reconcile it guards;
	 * readers never trust this file without the kernel's word anyway. */
	_cleanup_free_ char *cmd = vf_lock__proc_cmdline(getpid());
	_cleanup_free_ char *text = vf_asprintf("pid %ld\ncommand %s\nsince %s\n", (long)getpid(),
						cmd ? cmd : "", since ? since : "");
	if (ftruncate(fd, 0) < 0)
		return;
	size_t len = strlen(text);
	ssize_t w = pwrite(fd, text, len, 0);
	(void)w;
}

/* Fill h->command and h->since from the lock file, but only when the
 * recorded pid is the one the kernel says holds the lock. */
static void vf_fcntl__read_identity(int fd, vf_lock_holder *h)
{
	char buf[4200];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	long pid = 0;
	char *cmd = NULL, *since = NULL;
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (strncmp(line, "pid ", 4) == 0)
			pid = strtol(line + 4, NULL, 10);
		else if (strncmp(line, "command ", 8) == 0)
			cmd = line + 8;
		else if (strncmp(line, "since ", 6) == 0)
			since = line + 6;
	}
	if (pid <= 0 || pid != (long)h->pid)
		return;
	if (cmd && *cmd) {
		free(h->command);
		h->command = vf_strdup(cmd);
	}
	if (since && *since) {
		free(h->since);
		h->since = vf_strdup(since);
	}
}

/* "pid 1234 (virtform apply examples/) since 2026-11-21T05:00:00Z" */
static char *vf_fcntl__describe(const vf_lock_holder *h)
{
	if (!h->pid)
		return vf_strdup("another process (its pid is not visible to this one)");
	vf_buf b = { 0 };
	vf_buf_printf(&b, "pid %ld", (long)h->pid);
	if (h->command)
		vf_buf_printf(&b, " (%s)", h->command);
	if (h->since)
		vf_buf_printf(&b, " since %s", h->since);
	return vf_buf_steal(&b);
}

/* ---- acquisition ---------------------------------------------------------- */

/* One lock call's state across tries. */
typedef struct vf_fcntl_try {
	vf_lock_kind kind;
	const char *path;         /* the file to lock */
	int fd;                   /* -1 until opened; kept across tries */
	struct stat st;           /* of fd */
	vf_lock_token *self;      /* the token in this process that holds it, if any */
	int err;                  /* errno of a failure that is not "busy" */
	const char *op;           /* what failed, for the message */
} vf_fcntl_try;

/* One try, under vf_fcntl__mutex. Returns 1 locked, 0 busy, 2 nothing to
 * lock (METADATA only), -1 failed. */
static int vf_fcntl__try_once(vf_fcntl_try *t)
{
	t->self = NULL;
	if (t->fd < 0) {
		struct stat st;
		/* Never open a file this process already locks: closing that
		 * descriptor again would drop the other token's classic lock. */
		if (stat(t->path, &st) == 0 && (t->self = vf_fcntl__find(st.st_dev, st.st_ino)))
			return 0;
		int flags = O_RDWR | O_CLOEXEC | O_NOCTTY;
		if (t->kind == VF_LOCK_RECONCILE)
			flags |= O_NOFOLLOW; /* vf_fcntl_lock made it a regular file */
		t->fd = vf_lock_sys.open(t->path, flags, 0600);
		if (t->fd < 0) {
			t->err = errno;
			t->op = "open";
			/* Nothing to lock, and no way to (libvirt skips these too):
			 * no file, a directory (no writable fd, so no exclusive
			 * lock), a read-only file system. */
			if (t->kind == VF_LOCK_METADATA &&
			    (errno == ENOENT || errno == EISDIR || errno == EROFS))
				return 2;
			return -1;
		}
		if (fstat(t->fd, &t->st) < 0) {
			t->err = errno;
			t->op = "stat";
			return -1;
		}
	}
	if ((t->self = vf_fcntl__find(t->st.st_dev, t->st.st_ino)))
		return 0;

	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
	int cmd;
	if (t->kind == VF_LOCK_RECONCILE) {
		/* The exclusion: an OFD lock on byte 0, owned by the open file
		 * description, so no stray close() in this process drops it. */
		cmd = F_OFD_SETLK;
		fl.l_start = 0;
	} else {
		/* libvirt's convention: a classic exclusive lock on byte 1. */
		cmd = F_SETLK;
		fl.l_start = VF_LOCK_METADATA_BYTE;
	}
	if (vf_lock_sys.fcntl(t->fd, cmd, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES)
			return 0;
		t->err = errno;
		t->op = "lock";
		return -1;
	}
	return 1;
}

/* Turn a successful try into a listed token. Under vf_fcntl__mutex. */
static vf_lock_token *vf_fcntl__take(vf_fcntl_try *t)
{
	vf_lock_token *tok = vf_calloc(1, sizeof(*tok));
	tok->kind = t->kind;
	tok->path = vf_strdup(t->path);
	tok->fd = t->fd;
	t->fd = -1;
	tok->dev = t->st.st_dev;
	tok->ino = t->st.st_ino;
	tok->since = vf_format_time(time(NULL));
	tok->owner = getpid();
	if (t->kind == VF_LOCK_RECONCILE) {
		/* The pid witness: a classic lock on byte 1, so F_GETLK gives
		 * other processes the holder's pid from the kernel, not from a
		 * file a crashed holder may have left behind. */
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				    .l_start = VF_LOCK_METADATA_BYTE, .l_len = 1 };
		(void)vf_lock_sys.fcntl(tok->fd, F_SETLK, &fl);
		vf_fcntl__write_identity(tok->fd, tok->since);
	}
	tok->next = vf_fcntl__held;
	vf_fcntl__held = tok;
	return tok;
}

/* Who holds what t tried to lock. Under vf_fcntl__mutex. */
static void vf_fcntl__holder(const vf_fcntl_try *t, vf_lock_holder *h)
{
	h->held = true;
	if (t->self) {
		h->pid = getpid();
		h->command = vf_lock__proc_cmdline(h->pid);
		h->since = vf_strdup(t->self->since);
		return;
	}
	if (t->fd < 0)
		return;
	pid_t pid = 0;
	bool shared = false;
	/* Both kinds name the holder's pid through a classic lock on byte 1. */
	if (vf_lock__probe(t->fd, VF_LOCK_METADATA_BYTE, &pid, &shared) <= 0 || pid <= 0)
		return;
	h->pid = pid;
	if (t->kind == VF_LOCK_RECONCILE)
		vf_fcntl__read_identity(t->fd, h);
	if (!h->command)
		h->command = vf_lock__proc_cmdline(pid);
}

/* Close t's descriptor unless closing would drop a lock of this process. */
static void vf_fcntl__discard(vf_fcntl_try *t)
{
	if (t->fd < 0)
		return;
	vf_lock_token *owner = vf_fcntl__find(t->st.st_dev, t->st.st_ino);
	if (owner)
		VF_APPEND(owner->spare, owner->n_spare, owner->cap_spare, t->fd);
	else
		vf_lock_sys.close(t->fd);
	t->fd = -1;
}

static int vf_fcntl__fail(vf_fcntl_try *t, const char *resource, unsigned wait_ms, bool timed_out,
			  vf_lock_holder *holder, vf_error *err)
{
	vf_lock_holder h = { 0 };
	vf_fcntl__holder(t, &h);
	vf_fcntl__discard(t);
	_cleanup_free_ char *who = vf_fcntl__describe(&h);
	_cleanup_free_ char *waited = vf_fcntl__duration(wait_ms);
	int r;
	if (t->kind == VF_LOCK_RECONCILE && !timed_out)
		r = vf_error_set(err, VF_E_LOCKED, "state directory %s is locked by %s", resource, who);
	else if (t->kind == VF_LOCK_RECONCILE)
		r = vf_error_set(err, VF_E_TIMEOUT,
				 "state directory %s is still locked by %s after waiting %s",
				 resource, who, waited);
	else if (!timed_out)
		r = vf_error_set(err, VF_E_LOCKED, "the metadata lock on %s is held by %s", resource,
				 who);
	else
		r = vf_error_set(err, VF_E_TIMEOUT,
				 "gave up on the metadata lock on %s after waiting %s: it is held by %s",
				 resource, waited, who);
	if (holder) {
		vf_lock_holder_clear(holder);
		*holder = h;
	} else {
		vf_lock_holder_clear(&h);
	}
	return r;
}

static int vf_fcntl_lock(vf_lock_kind kind, const char *resource, unsigned wait_ms,
			 vf_lock_token **out, vf_lock_holder *holder, vf_error *err)
{
	if (!resource || !*resource || (kind != VF_LOCK_RECONCILE && kind != VF_LOCK_METADATA))
		return vf_error_set(err, VF_E_INTERNAL, "lock: bad kind or empty resource");
	_cleanup_free_ char *lockfile = NULL;
	if (kind == VF_LOCK_RECONCILE) {
		int r = vf_statedir_mkdirs(resource, 0700, "state directory", err);
		if (r < 0)
			return r;
		lockfile = vf_asprintf("%s/lock", resource);
		/* Created under a temp name with O_EXCL|O_NOFOLLOW and linked
		 * into place (never through a planted name), then only opened. */
		if ((r = vf_statefile_ensure(lockfile, err)) < 0)
			return r;
	}
	vf_fcntl_try t = { .kind = kind, .path = lockfile ? lockfile : resource, .fd = -1 };
	uint64_t start = vf_fcntl__now_ms();
	unsigned delay = 1;
	for (;;) {
		pthread_mutex_lock(&vf_fcntl__mutex);
		int got = vf_fcntl__try_once(&t);
		if (got == 2) {
			vf_fcntl__discard(&t);
			pthread_mutex_unlock(&vf_fcntl__mutex);
			*out = NULL;
			return 0;
		}
		if (got > 0) {
			*out = vf_fcntl__take(&t);
			pthread_mutex_unlock(&vf_fcntl__mutex);
			return 0;
		}
		if (got < 0) {
			vf_fcntl__discard(&t);
			pthread_mutex_unlock(&vf_fcntl__mutex);
			return vf_error_set(err, VF_E_IO, "cannot %s %s: %s", t.op, t.path,
					    strerror(t.err));
		}
		uint64_t elapsed = vf_fcntl__now_ms() - start;
		if (wait_ms == 0 || elapsed >= wait_ms) {
			int r = vf_fcntl__fail(&t, resource, wait_ms, wait_ms != 0, holder, err);
			pthread_mutex_unlock(&vf_fcntl__mutex);
			return r;
		}
		/* Sleep without the mutex, so other threads (and the holder of
		 * a file this process locks) can unlock meanwhile. */
		pthread_mutex_unlock(&vf_fcntl__mutex);
		uint64_t left = wait_ms - elapsed;
		vf_fcntl__sleep_ms(left < delay ? (unsigned)left : delay);
		delay = delay * 2 > VF_LOCK_BACKOFF_MAX_MS ? VF_LOCK_BACKOFF_MAX_MS : delay * 2;
	}
}

static void vf_fcntl_unlock(vf_lock_token *tok)
{
	if (!tok)
		return;
	pthread_mutex_lock(&vf_fcntl__mutex);
	vf_fcntl__unlist(tok);
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_len = 1 };
	bool mine = tok->owner == getpid();
	if (mine && tok->kind == VF_LOCK_RECONCILE) {
		/* Clear the identity first, then release explicitly: an OFD lock
		 * outlives close() when a forked child still shares the fd. */
		if (ftruncate(tok->fd, 0) < 0) {
			/* nothing to do: readers verify against the kernel */
		}
		fl.l_start = 0;
		(void)vf_lock_sys.fcntl(tok->fd, F_OFD_SETLK, &fl);
	}
	fl.l_start = VF_LOCK_METADATA_BYTE;
	if (mine)
		(void)vf_lock_sys.fcntl(tok->fd, F_SETLK, &fl);
	vf_lock_sys.close(tok->fd);
	for (size_t i = 0; i < tok->n_spare; i++)
		vf_lock_sys.close(tok->spare[i]);
	pthread_mutex_unlock(&vf_fcntl__mutex);
	free(tok->spare);
	free(tok->since);
	free(tok->path);
	free(tok);
}

static int vf_fcntl_query(vf_lock_kind kind, const char *resource, vf_lock_holder *out,
			  vf_error *err)
{
	if (!resource || !*resource || (kind != VF_LOCK_RECONCILE && kind != VF_LOCK_METADATA))
		return vf_error_set(err, VF_E_INTERNAL, "query: bad kind or empty resource");
	_cleanup_free_ char *lockfile =
		kind == VF_LOCK_RECONCILE ? vf_asprintf("%s/lock", resource) : vf_strdup(resource);
	vf_lock_holder h = { 0 };
	pthread_mutex_lock(&vf_fcntl__mutex);
	struct stat st;
	vf_lock_token *self = NULL;
	if (stat(lockfile, &st) == 0)
		self = vf_fcntl__find(st.st_dev, st.st_ino);
	if (self) {
		vf_fcntl_try t = { .kind = kind, .path = lockfile, .fd = -1, .self = self };
		vf_fcntl__holder(&t, &h);
	} else {
		int fd = vf_lock_sys.open(lockfile, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
		if (fd < 0 && errno != ENOENT) {
			int e = errno;
			pthread_mutex_unlock(&vf_fcntl__mutex);
			return vf_error_set(err, VF_E_IO, "cannot open %s: %s", lockfile, strerror(e));
		}
		if (fd >= 0) {
			pid_t pid = 0;
			bool shared = false;
			off_t byte = kind == VF_LOCK_RECONCILE ? 0 : VF_LOCK_METADATA_BYTE;
			int held = vf_lock__probe(fd, byte, &pid, &shared);
			if (held > 0) {
				vf_fcntl_try t = { .kind = kind, .path = lockfile, .fd = fd };
				vf_fcntl__holder(&t, &h);
			}
			vf_lock_sys.close(fd);
			if (held < 0) {
				pthread_mutex_unlock(&vf_fcntl__mutex);
				return vf_error_set(err, VF_E_IO, "cannot probe the lock on %s: %s",
						    lockfile, strerror(-held));
			}
		}
	}
	pthread_mutex_unlock(&vf_fcntl__mutex);
	vf_lock_holder_clear(out);
	*out = h;
	return 0;
}

const vf_lock_driver vf_fcntl_lock_driver = {
	.name = "fcntl",
	.lock = vf_fcntl_lock,
	.unlock = vf_fcntl_unlock,
	.query = vf_fcntl_query,
};
