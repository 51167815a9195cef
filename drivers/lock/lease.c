/* lease.c: reads whether a disk's content lease (virtlockd's) is held, so
 * the plan can block a step that would break it. Probes only: a lease is
 * never taken or released here, and nothing talks to virtlockd itself.
 * Not for virtform's own locks (fcntl.c). */
#include "drivers/driver.h"
#include "drivers/lock/syscalls.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

/* The value of `file_lockspace_dir` in a libvirt-style conf file
 * (`key = "value"`, `#` comments), NULL in *out when unset or the file is
 * missing. Only that key is read: the rest of qemu-lockd.conf is
 * virtlockd's business. */
static int vf_lease__conf_dir(const char *conf, char **out, vf_error *err)
{
	*out = NULL;
	FILE *f = fopen(conf, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return vf_error_set(err, VF_E_IO, "cannot read %s: %s", conf, strerror(errno));
	}
	static const char key[] = "file_lockspace_dir";
	char line[4096];
	int lineno = 0;
	int r = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, key, sizeof(key) - 1) != 0)
			continue;
		p += sizeof(key) - 1;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;   /* a longer key that starts the same */
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		char q = *p;
		char *end = (q == '"' || q == '\'') ? strchr(p + 1, q) : NULL;
		if (!end) {
			r = vf_error_set(err, VF_E_SYNTAX,
					 "%s:%d: file_lockspace_dir must be a quoted string", conf,
					 lineno);
			break;
		}
		free(*out);   /* the last assignment wins, as in libvirt's parser */
		*out = vf_strndup(p + 1, (size_t)(end - p - 1));
	}
	fclose(f);
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* "qemu:///session", "qemu+unix:///session?socket=...": a session daemon
 * on this machine, run by the user who connects. */
static bool vf_lease__local_session(const char *uri)
{
	const char *p = uri ? strstr(uri, "://") : NULL;
	if (!p || p[3] != '/')
		return false; /* no URI, or one naming a host */
	p += 3;
	size_t n = strcspn(p, "?#");
	return n == strlen("/session") && strncmp(p, "/session", n) == 0;
}

char *vf_lockd_conf_for(const char *uri, bool privileged)
{
	if (privileged || !vf_lease__local_session(uri))
		return vf_strdup(VF_LOCKD_CONF_DEFAULT);
	_cleanup_free_ char *base = vf_user_dir("XDG_CONFIG_HOME", ".config");
	return vf_asprintf("%s/libvirt/qemu-lockd.conf", base);
}

/* Lower-case hex SHA-256 of s: virtlockd's name for an indirect lease. */
static int vf_lease__sha256_hex(const char *s, char hex[65], vf_error *err)
{
	unsigned char d[32];
	int rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, s, strlen(s), d);
	if (rc < 0)
		return vf_error_set(err, VF_E_INTERNAL, "SHA-256 failed: %s", gnutls_strerror(rc));
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Probe byte 0 of `file`. 1 held (out filled), 0 free or missing, <0 error. */
static int vf_lease__probe_file(const char *file, const char *lockspace, vf_lease *out,
				vf_error *err)
{
	int fd = vf_lock_sys.open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return vf_error_set(err, VF_E_IO, "cannot open %s to check its lease: %s", file,
				    strerror(errno));
	}
	pid_t pid = 0;
	bool shared = false;
	int held = vf_lock__probe(fd, VF_LOCK_LEASE_BYTE, &pid, &shared);
	vf_lock_sys.close(fd);
	if (held < 0)
		return vf_error_set(err, VF_E_IO, "cannot check the lease on %s: %s", file,
				    strerror(-held));
	if (held == 0)
		return 0;
	*out = (vf_lease){
		.held = true,
		.shared = shared,
		.pid = pid,
		.command = pid > 0 ? vf_lock__proc_cmdline(pid) : NULL,
		.lockspace = vf_strdup(lockspace),
		.lock_path = vf_strdup(file),
	};
	return 1;
}

/* vf_lease_query with the indirect lockspace already read from the conf
 * (dir NULL or empty: none). */
static int vf_lease__query_in(const char *path, const char *dir, vf_lease *out, vf_error *err)
{
	if (!path || !*path)
		return vf_error_set(err, VF_E_INTERNAL, "lease query: empty path");
	int r;
	vf_lease found = { 0 };
	if (dir && *dir) {
		char hex[65];
		r = vf_lease__sha256_hex(path, hex, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *file = vf_asprintf("%s/%s", dir, hex);
		r = vf_lease__probe_file(file, dir, &found, err);
		if (r < 0)
			return r;
	}
	/* The direct lockspace too, even when an indirect one is configured:
	 * a lease taken before the conf changed is still a lease. */
	if (!found.held) {
		r = vf_lease__probe_file(path, "direct", &found, err);
		if (r < 0)
			return r;
	}
	vf_lease_clear(out);
	*out = found;
	return 0;
}

int vf_lease_query(const char *path, const char *lockd_conf, vf_lease *out, vf_error *err)
{
	_cleanup_free_ char *dir = NULL;
	int r = vf_lease__conf_dir(lockd_conf ? lockd_conf : VF_LOCKD_CONF_DEFAULT, &dir, err);
	if (r < 0)
		return r;
	return vf_lease__query_in(path, dir, out, err);
}

void vf_leases_observe(vf_observed *o, const char *lockd_conf)
{
	/* The conf once for the whole host, not once per file. When it cannot
	 * be read, every lease is unknown, which counts as free (driver.h). */
	_cleanup_free_ char *dir = NULL;
	vf_error cerr = { 0 };
	bool conf_ok = vf_lease__conf_dir(lockd_conf ? lockd_conf : VF_LOCKD_CONF_DEFAULT, &dir,
					  &cerr) == 0;
	vf_error_clear(&cerr);
	for (size_t i = 0; i < o->n_volumes; i++) {
		vf_obs_volume *v = &o->volumes[i];
		vf_error err = { 0 };
		vf_lease_clear(&v->lease);
		if (conf_ok && v->path && vf_lease__query_in(v->path, dir, &v->lease, &err) < 0)
			vf_error_clear(&err); /* unknown counts as free: see driver.h */
	}
	for (size_t i = 0; i < o->n_domains; i++) {
		vf_obs_domain *d = &o->domains[i];
		for (size_t k = 0; k < d->n_disks; k++) {
			vf_obs_disk *disk = &d->disks[k];
			vf_error err = { 0 };
			vf_lease_clear(&disk->lease);
			if (conf_ok && disk->path &&
			    vf_lease__query_in(disk->path, dir, &disk->lease, &err) < 0)
				vf_error_clear(&err);
		}
	}
}
