/* statedir.c: checking virtform's own directories (owner, mode, no
 * symlinks: sshd's StrictModes), creating files in them only under a fresh
 * temp name with O_EXCL|O_NOFOLLOW, and sweeping the temp files a killed
 * run left behind. Not for what the files hold (ledger.c, drivers/). */
#include "controller/core/statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/core/util.h"

/* "root" or "uid 1234" when the user has no name. */
static char *vf_statedir__user(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);
	return pw ? vf_strdup(pw->pw_name) : vf_asprintf("uid %u", (unsigned)uid);
}

char *vf_statedir_default(bool privileged)
{
	if (privileged)
		return vf_strdup(VF_SYSTEM_STATE_DIR);
	_cleanup_free_ char *base = vf_user_dir("XDG_STATE_HOME", ".local/state");
	return vf_asprintf("%s/virtform", base);
}

char *vf_runtimedir_default(bool privileged)
{
	if (privileged)
		return vf_strdup(VF_SYSTEM_RUNTIME_DIR);
	/* libvirt's virGetUserRuntimeDirectory: $XDG_RUNTIME_DIR, else the
	 * user's cache directory */
	const char *rt = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *base = rt && rt[0] == '/' ? vf_strdup(rt)
						       : vf_user_dir("XDG_CACHE_HOME", ".cache");
	return vf_asprintf("%s/virtform", base);
}

int vf_statedir_mkdirs(const char *dir, mode_t mode, const char *what, vf_error *err)
{
	_cleanup_free_ char *p = vf_strdup(dir);
	size_t len = strlen(p);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		bool last = c == '\0' || p[i + 1] == '\0';
		if (mkdir(p, last ? mode : 0755) < 0) {
			if (errno != EEXIST)
				return vf_error_set(err, VF_E_IO, "cannot create %s %s: %s", what, p,
						    strerror(errno));
		} else if (last && chmod(p, mode) < 0) {
			/* mkdir's mode went through the umask: say it exactly */
			return vf_error_set(err, VF_E_IO, "cannot set the mode of %s %s: %s", what, p,
					    strerror(errno));
		}
		p[i] = c;
		if (last)
			break;
	}
	return 0;
}

/* Every directory from / down to realpath(parent of dir) must keep other
 * users from renaming or replacing dir: owned by root or us, and not
 * group/other writable unless sticky (/tmp). */
static int vf_statedir__parents(const char *dir, const char *what, vf_error *err)
{
	_cleanup_free_ char *copy = vf_strdup(dir);
	char *slash = strrchr(copy, '/');
	if (!slash)
		return 0; /* relative, in the working directory: checked as "." below */
	if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	char real[PATH_MAX];
	if (!realpath(copy, real))
		return vf_error_set(err, VF_E_IO, "cannot resolve the parent %s of %s %s: %s", copy,
				    what, dir, strerror(errno));
	size_t len = strlen(real);
	for (size_t i = 0; i <= len; i++) {
		if (i != 0 && real[i] != '/' && real[i] != '\0')
			continue;
		char c = real[i];
		if (i != 0)
			real[i] = '\0';
		const char *p = i == 0 ? "/" : real;
		struct stat st;
		if (stat(p, &st) < 0)
			return vf_error_set(err, VF_E_IO, "cannot check %s, a parent of %s %s: %s", p,
					    what, dir, strerror(errno));
		bool owner_ok = st.st_uid == 0 || st.st_uid == geteuid();
		bool mode_ok = (st.st_mode & 022) == 0 || (st.st_mode & S_ISVTX);
		if (!owner_ok || !mode_ok) {
			_cleanup_free_ char *who = vf_statedir__user(st.st_uid);
			return vf_error_set(err, VF_E_IO,
					    "%s, a parent of the %s %s, is owned by %s with mode %04o, so another user could replace the %s; refusing it: make %s owned by root (or you) and not writable by group or others (chmod go-w), or choose a directory elsewhere",
					    p, what, dir, who, (unsigned)(st.st_mode & 07777), what, p);
		}
		if (i != 0)
			real[i] = c;
		if (c == '\0')
			break;
	}
	return 0;
}

int vf_statedir_check(const char *dir, const char *what, mode_t create_mode, vf_error *err)
{
	struct stat st;
	if (lstat(dir, &st) < 0) {
		if (errno != ENOENT)
			return vf_error_set(err, VF_E_IO, "cannot check %s %s: %s", what, dir,
					    strerror(errno));
		if (!create_mode)
			return 0;
		int r = vf_statedir_mkdirs(dir, create_mode, what, err);
		if (r < 0)
			return r;
		if (lstat(dir, &st) < 0)
			return vf_error_set(err, VF_E_IO, "cannot check %s %s: %s", what, dir,
					    strerror(errno));
	}
	unsigned mode = (unsigned)(st.st_mode & 07777);
	_cleanup_free_ char *who = vf_statedir__user(st.st_uid);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(dir, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		return vf_error_set(err, VF_E_IO,
				    "%s %s is a symbolic link (to %s, owned by %s); refusing it, since whoever can change the link can redirect virtform's files: give the real directory instead",
				    what, dir, n < 0 ? "?" : target, who);
	}
	if (!S_ISDIR(st.st_mode))
		return vf_error_set(err, VF_E_IO, "%s %s exists and is not a directory (owner %s, mode %04o); remove it or choose another directory",
				    what, dir, who, mode);
	if (st.st_uid != geteuid()) {
		_cleanup_free_ char *me = vf_statedir__user(geteuid());
		return vf_error_set(err, VF_E_IO,
				    "%s %s is owned by %s (mode %04o), not by %s who runs virtform; refusing it, since its owner could change virtform's files: chown %s %s, or choose another directory",
				    what, dir, who, mode, me, me, dir);
	}
	if (st.st_mode & 022)
		return vf_error_set(err, VF_E_IO,
				    "%s %s (owner %s) has mode %04o: its group or others can write to it and replace virtform's files; refusing it: chmod go-w %s",
				    what, dir, who, mode, dir);
	return vf_statedir__parents(dir, what, err);
}

/* ---- files ------------------------------------------------------------------ */

int vf_statefile_temp(const char *path, char **ret_tmp, vf_error *err)
{
	static unsigned counter;
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned salt = (unsigned)ts.tv_nsec ^ (++counter * 2654435761u);
		char *tmp = vf_asprintf("%s.tmp.%ld.%08x", path, (long)getpid(), salt);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*ret_tmp = tmp;
			return fd;
		}
		int e = errno;
		if (e != EEXIST) {
			int r = vf_error_set(err, VF_E_IO, "cannot create %s: %s", tmp, strerror(e));
			free(tmp);
			return r;
		}
		free(tmp);
	}
	return vf_error_set(err, VF_E_IO, "cannot create a temporary file next to %s: every name tried exists",
			    path);
}

static char *vf_statefile__dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return vf_strdup(".");
	if (slash == path)
		return vf_strdup("/");
	return vf_strndup(path, (size_t)(slash - path));
}

int vf_statefile_write(const char *path, const void *data, size_t len, vf_error *err)
{
	return vf_statefile_write_opt(path, data, len, true, err);
}

int vf_statefile_write_opt(const char *path, const void *data, size_t len, bool sync,
			   vf_error *err)
{
	_cleanup_free_ char *tmp = NULL;
	int fd = vf_statefile_temp(path, &tmp, err);
	if (fd < 0)
		return fd;
	const char *p = data;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			unlink(tmp);
			return vf_error_set(err, VF_E_IO, "cannot write %s: %s", tmp, strerror(e));
		}
		off += (size_t)w;
	}
	if ((sync && fsync(fd) < 0) || close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return vf_error_set(err, VF_E_IO, "cannot flush %s: %s", tmp, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return vf_error_set(err, VF_E_IO, "cannot rename %s to %s: %s", tmp, path,
				    strerror(e));
	}
	if (!sync)
		return 0;
	_cleanup_free_ char *dir = vf_statefile__dir(path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		return vf_error_set(err, VF_E_IO, "cannot flush directory %s: %s", dir, strerror(e));
	}
	close(dfd);
	return 0;
}

int vf_statefile_ensure(const char *path, vf_error *err)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISREG(st.st_mode))
			return 0;
		return vf_error_set(err, VF_E_IO, "%s exists and is not a regular file (mode %06o); refusing to use it",
				    path, (unsigned)st.st_mode);
	}
	_cleanup_free_ char *tmp = NULL;
	int fd = vf_statefile_temp(path, &tmp, err);
	if (fd < 0)
		return fd;
	close(fd);
	int r = 0;
	/* link(), unlike rename(), never replaces: a name that appeared
	 * meanwhile (another process's file, or a planted symlink) stays. */
	if (link(tmp, path) < 0 && errno != EEXIST)
		r = vf_error_set(err, VF_E_IO, "cannot create %s: %s", path, strerror(errno));
	unlink(tmp);
	if (r == 0 && (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)))
		r = vf_error_set(err, VF_E_IO, "%s exists and is not a regular file; refusing to use it",
				 path);
	return r;
}

/* ---- sweeping ----------------------------------------------------------------- */

/* "<name>.tmp.<pid>.<8 hex>": the pid, or 0 when `name` is not one. */
static long vf_statedir__temp_pid(const char *name)
{
	const char *t = NULL;
	for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp."))
		t = p;
	if (!t)
		return 0;
	char *end = NULL;
	long pid = strtol(t + 5, &end, 10);
	if (pid <= 0 || !end || *end != '.' || strlen(end + 1) != 8)
		return 0;
	for (const char *h = end + 1; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return 0;
	return pid;
}

static bool vf_statedir__ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && strcmp(s + a - b, suffix) == 0;
}

static unsigned vf_statedir__sweep(const char *dir, time_t run_start)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	unsigned removed = 0;
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		struct stat st;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		bool old = st.st_mtime < run_start;
		long pid = vf_statedir__temp_pid(n);
		bool stale = false;
		if (pid)
			stale = old || (pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH);
		else if (vf_statedir__ends(n, ".unpack"))
			stale = true; /* rebuilt from its .part by the next download */
		else if (strncmp(n, ".seed-", 6) == 0)
			stale = old;
		else if (vf_statedir__ends(n, ".part")) {
			/* useless once its entry is complete; else a resume point */
			_cleanup_free_ char *entry = vf_strndup(n, strlen(n) - 5);
			struct stat es;
			stale = fstatat(dfd, entry, &es, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(es.st_mode);
		}
		if (stale && unlinkat(dfd, n, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

unsigned vf_statedir_clean(const char *dir, time_t run_start)
{
	_cleanup_free_ char *cache = vf_asprintf("%s/cache", dir);
	_cleanup_free_ char *records = vf_asprintf("%s/records", dir); /* controller/state/records.c */
	return vf_statedir__sweep(dir, run_start) + vf_statedir__sweep(cache, run_start) +
	       vf_statedir__sweep(records, run_start);
}
