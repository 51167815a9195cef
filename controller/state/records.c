/* records.c: the texts of raw-XML records in the state directory
 * (records/<sha256>), loaded for the plan only where a digest differs and
 * stored after an apply from what is at hand. Content-addressed: a name
 * says what its file must hold, so a file is either right or not read.
 * Not for the digests or for comparing (records.h). */
#include "controller/state/records.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/core/statedir.h"
#include "controller/core/util.h"

#define VF_RECORDS_DIR "records"


int vf_records_put(const char *state_dir, const char *text, vf_error *err)
{
	char digest[65];
	vf_sha256_hex(text, strlen(text), digest);
	_cleanup_free_ char *dir = vf_asprintf("%s/" VF_RECORDS_DIR, state_dir);
	_cleanup_free_ char *path = vf_asprintf("%s/%s", dir, digest);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == strlen(text))
		return 0; /* content-addressed: the same name holds the same text (a torn
			   * file of the same size is refused when read, never trusted) */
	int r = vf_statedir_check(dir, "record directory", 0700, err);
	if (r < 0)
		return r;
	/* no fsync each: vf_records_get checks the content against its name */
	return vf_statefile_write_opt(path, text, strlen(text), false, err);
}

char *vf_records_get(const char *state_dir, const char *digest)
{
	if (!state_dir || !vf_sha256_hex_valid(digest))
		return NULL;
	_cleanup_free_ char *path = vf_asprintf("%s/" VF_RECORDS_DIR "/%s", state_dir, digest);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *text = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)(64u << 20)) {
		size_t len = (size_t)st.st_size, got = 0;
		text = vf_malloc(len + 1);
		while (got < len) {
			ssize_t k = read(fd, text + got, len - got);
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		text[got] = '\0';
		char hex[65];
		vf_sha256_hex(text, got, hex);
		if (got != len || strcmp(hex, digest) != 0) {
			/* torn or tampered: as good as missing */
			free(text);
			text = NULL;
		}
	}
	close(fd);
	return text;
}

static int vf_records__by_name(const void *a, const void *b)
{
	const vf_object *x = *(const vf_object *const *)a, *y = *(const vf_object *const *)b;
	return strcmp(x->name, y->name);
}

/* d's raw-XML domains sorted by name, for vf_records__find; *ret_n of them. */
static const vf_object **vf_records__xml_domains(const vf_desired *d, size_t *ret_n)
{
	const vf_object **v = vf_malloc((d->n + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->objs[i].kind == VF_KIND_DOMAIN && d->objs[i].u.domain.xml)
			v[n++] = &d->objs[i];
	qsort(v, n, sizeof(*v), vf_records__by_name);
	*ret_n = n;
	return v;
}

static const vf_object *vf_records__find(const vf_object **v, size_t n, const char *name)
{
	vf_object key = { .name = (char *)(uintptr_t)name };
	const vf_object *k = &key;
	const vf_object **hit = bsearch(&k, v, n, sizeof(*v), vf_records__by_name);
	return hit ? *hit : NULL;
}

void vf_records_load(const char *state_dir, const vf_desired *d, vf_observed *o)
{
	size_t n = 0;
	_cleanup_free_ const vf_object **v = NULL;
	for (size_t i = 0; i < o->n_domains; i++) {
		vf_obs_domain *od = &o->domains[i];
		vf_xml_record *rec = &od->applied;
		if (!rec->digest)
			continue;
		if (!rec->normalised && !vf_streq(rec->normalised_digest, od->xml_bare_digest))
			rec->normalised = vf_records_get(state_dir, rec->normalised_digest);
		if (rec->manifest)
			continue;
		if (!v)
			v = vf_records__xml_domains(d, &n);
		const vf_object *want = vf_records__find(v, n, od->name);
		if (want && !vf_streq(want->u.domain.xml_hash, rec->digest))
			rec->manifest = vf_records_get(state_dir, rec->digest);
	}
}

void vf_records_load_all(const char *state_dir, vf_observed *o)
{
	for (size_t i = 0; i < o->n_domains; i++) {
		vf_xml_record *rec = &o->domains[i].applied;
		if (!rec->digest)
			continue;
		if (!rec->normalised)
			rec->normalised = vf_records_get(state_dir, rec->normalised_digest);
		if (!rec->manifest)
			rec->manifest = vf_records_get(state_dir, rec->digest);
	}
}

static int vf_records__cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Remove records/<digest> files that none of the `n` sorted names in
 * `keep` is. Temp files and anything not named like a digest stay (the
 * state directory's sweep handles a killed run's temp files). */
static void vf_records__prune(const char *dir, const char **keep, size_t n)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	for (struct dirent *e; (e = readdir(dh));) {
		const char *name = e->d_name;
		if (!vf_sha256_hex_valid(name) || bsearch(&name, keep, n, sizeof(*keep), vf_records__cmp_str))
			continue;
		if (unlinkat(dirfd(dh), name, 0) < 0 && errno != ENOENT)
			continue; /* kept for the next apply to try again */
	}
	closedir(dh);
}

int vf_records_save(const char *state_dir, const vf_desired *d, const vf_observed *o,
		    vf_error *err)
{
	size_t n = 0, n_keep = 0;
	_cleanup_free_ const vf_object **v = vf_records__xml_domains(d, &n);
	_cleanup_free_ const char **keep = vf_malloc((2 * o->n_domains + 1) * sizeof(*keep));
	for (size_t i = 0; i < o->n_domains; i++) {
		const vf_obs_domain *od = &o->domains[i];
		const vf_xml_record *rec = &od->applied;
		if (!rec->digest)
			continue;
		keep[n_keep++] = rec->digest;
		keep[n_keep++] = rec->normalised_digest;
		const vf_object *want = vf_records__find(v, n, od->name);
		const char *manifest = want && vf_streq(want->u.domain.xml_hash, rec->digest)
			? want->u.domain.xml : rec->manifest;
		/* a text is stored only under the digest the record names */
		const char *normalised = vf_streq(od->xml_bare_digest, rec->normalised_digest)
			? od->xml_bare : rec->normalised;
		int r = 0;
		if (manifest && (r = vf_records_put(state_dir, manifest, err)) < 0)
			return r;
		if (normalised && (r = vf_records_put(state_dir, normalised, err)) < 0)
			return r;
	}
	qsort(keep, n_keep, sizeof(*keep), vf_records__cmp_str);
	_cleanup_free_ char *dir = vf_asprintf("%s/" VF_RECORDS_DIR, state_dir);
	vf_records__prune(dir, keep, n_keep);
	return 0;
}
