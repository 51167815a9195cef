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

/* o's spec.xml (and its digest into *ret_hash), for the kinds that keep
 * records; NULL without one. */
static const char *vf_records__xml(const vf_object *o, const char **ret_hash)
{
	const char *xml = NULL, *hash = NULL;
	if (o->kind == VF_KIND_DOMAIN) {
		xml = o->u.domain.xml;
		hash = o->u.domain.xml_hash;
	} else if (o->kind == VF_KIND_POOL) {
		xml = o->u.pool.xml;
		hash = o->u.pool.xml_hash;
	}
	if (ret_hash)
		*ret_hash = hash;
	return xml;
}

static int vf_records__by_name(const void *a, const void *b)
{
	const vf_object *x = *(const vf_object *const *)a, *y = *(const vf_object *const *)b;
	return strcmp(x->name, y->name);
}

/* d's raw-XML objects of `kind` (domains or pools) sorted by name, for
 * vf_records__find; *ret_n of them. */
static const vf_object **vf_records__xml_objects(const vf_desired *d, vf_kind kind, size_t *ret_n)
{
	const vf_object **v = vf_malloc((d->n + 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->objs[i].kind == kind && vf_records__xml(&d->objs[i], NULL))
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

/* The texts of one record the plan will diff: the applied manifest when
 * `want` (the declared object, NULL none) has another digest, the
 * normalised document when the live one (`bare_digest`) has; `all`: both. */
static void vf_records__load_one(const char *state_dir, vf_xml_record *rec, const char *bare_digest,
				 const vf_object *want, bool all)
{
	if (!rec->digest)
		return;
	if (!rec->normalised && (all || !vf_streq(rec->normalised_digest, bare_digest)))
		rec->normalised = vf_records_get(state_dir, rec->normalised_digest);
	const char *hash = NULL;
	if (want)
		vf_records__xml(want, &hash);
	if (!rec->manifest && (all || (want && !vf_streq(hash, rec->digest))))
		rec->manifest = vf_records_get(state_dir, rec->digest);
}

void vf_records_load(const char *state_dir, const vf_desired *d, vf_observed *o)
{
	size_t n = 0;
	_cleanup_free_ const vf_object **v = NULL;
	for (size_t i = 0; i < o->n_domains; i++) {
		vf_obs_domain *od = &o->domains[i];
		if (!od->applied.digest || (od->applied.manifest && od->applied.normalised))
			continue;
		if (!v)
			v = vf_records__xml_objects(d, VF_KIND_DOMAIN, &n);
		vf_records__load_one(state_dir, &od->applied, od->xml_bare_digest,
				     vf_records__find(v, n, od->name), false);
	}
}

void vf_records_load_all(const char *state_dir, vf_observed *o)
{
	for (size_t i = 0; i < o->n_domains; i++)
		vf_records__load_one(state_dir, &o->domains[i].applied, NULL, NULL, true);
}

void vf_records_pools(const char *state_dir, const vf_desired *d, const vf_ledger *l,
		      vf_observed *o)
{
	for (size_t i = 0; i < o->n_pools; i++) {
		vf_obs_pool *p = &o->pools[i];
		const vf_ledger_entry *e = l ? vf_ledger_find(l, VF_KIND_POOL, NULL, p->name) : NULL;
		/* the record is of the pool virtform defined: same name and UUID */
		bool ours = e && e->xml_digest && e->xml_normalised && uuid_compare(e->uuid, p->uuid) == 0;
		if (!ours || (p->applied.digest && !vf_streq(p->applied.digest, e->xml_digest))) {
			free(p->applied.digest);
			free(p->applied.normalised_digest);
			free(p->applied.manifest);
			free(p->applied.normalised);
			p->applied = (vf_xml_record){ 0 };
		}
		if (!ours)
			continue;
		if (!p->applied.digest) {
			p->applied.digest = vf_strdup(e->xml_digest);
			p->applied.normalised_digest = vf_strdup(e->xml_normalised);
		}
		vf_records__load_one(state_dir, &p->applied, p->xml_bare_digest,
				     d ? vf_desired_find(d, VF_KIND_POOL, NULL, p->name) : NULL, !d);
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

/* Store the texts of one record that are at hand: the declared spec.xml
 * when the record holds its digest, the live document when it still hashes
 * to the recorded one; else the texts loaded. Its digests go into keep. */
static int vf_records__save_one(const char *state_dir, const vf_xml_record *rec, const char *bare,
				const char *bare_digest, const vf_object *want, const char **keep,
				size_t *n_keep, vf_error *err)
{
	if (!rec->digest)
		return 0;
	keep[(*n_keep)++] = rec->digest;
	keep[(*n_keep)++] = rec->normalised_digest;
	const char *hash = NULL;
	const char *xml = want ? vf_records__xml(want, &hash) : NULL;
	const char *manifest = xml && vf_streq(hash, rec->digest) ? xml : rec->manifest;
	/* a text is stored only under the digest the record names */
	const char *normalised = vf_streq(bare_digest, rec->normalised_digest) ? bare : rec->normalised;
	int r = 0;
	if (manifest && (r = vf_records_put(state_dir, manifest, err)) < 0)
		return r;
	if (normalised && (r = vf_records_put(state_dir, normalised, err)) < 0)
		return r;
	return 0;
}

int vf_records_save(const char *state_dir, const vf_desired *d, const vf_observed *o,
		    vf_error *err)
{
	size_t n = 0, n_keep = 0;
	_cleanup_free_ const vf_object **v = vf_records__xml_objects(d, VF_KIND_DOMAIN, &n);
	_cleanup_free_ const char **keep =
		vf_malloc((2 * (o->n_domains + o->n_pools) + 1) * sizeof(*keep));
	for (size_t i = 0; i < o->n_domains; i++) {
		const vf_obs_domain *od = &o->domains[i];
		int r = vf_records__save_one(state_dir, &od->applied, od->xml_bare, od->xml_bare_digest,
					     vf_records__find(v, n, od->name), keep, &n_keep, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < o->n_pools; i++) {
		const vf_obs_pool *p = &o->pools[i];
		int r = vf_records__save_one(state_dir, &p->applied, p->xml_bare, p->xml_bare_digest,
					     vf_desired_find(d, VF_KIND_POOL, NULL, p->name), keep, &n_keep,
					     err);
		if (r < 0)
			return r;
	}
	qsort(keep, n_keep, sizeof(*keep), vf_records__cmp_str);
	_cleanup_free_ char *dir = vf_asprintf("%s/" VF_RECORDS_DIR, state_dir);
	vf_records__prune(dir, keep, n_keep);
	return 0;
}
