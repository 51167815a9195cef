/* many.c: take a set of metadata locks in one deadlock-free order (sorted
 * paths, as libvirt's security manager does) and give them all back.
 * Works with any lock driver; not for choosing which files to lock. */
#include "drivers/driver.h"

#include <string.h>

typedef struct vf_many_item {
	const char *path;
	size_t index;             /* position in the caller's array */
} vf_many_item;

static int vf_many__cmp(const void *a, const void *b)
{
	const vf_many_item *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

int vf_lock_metadata_many(const vf_lock_driver *drv, const char *const *paths, size_t n,
			  unsigned wait_ms, vf_lock_token ***out, vf_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!paths[i])
			return vf_error_set(err, VF_E_INTERNAL, "metadata lock: path %zu is NULL", i);
	_cleanup_free_ vf_many_item *items = vf_calloc(n ? n : 1, sizeof(*items));
	for (size_t i = 0; i < n; i++)
		items[i] = (vf_many_item){ .path = paths[i], .index = i };
	qsort(items, n, sizeof(*items), vf_many__cmp);

	vf_lock_token **toks = vf_calloc(n ? n : 1, sizeof(*toks));
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && strcmp(items[k].path, items[k - 1].path) == 0)
			continue;   /* listed twice: locked once, slot stays NULL */
		int r = drv->lock(VF_LOCK_METADATA, items[k].path, wait_ms, &toks[items[k].index],
				  NULL, err);
		if (r < 0) {
			/* Give back what was taken, newest first. */
			for (size_t j = k; j-- > 0;) {
				drv->unlock(toks[items[j].index]);
				toks[items[j].index] = NULL;
			}
			free(toks);
			return r;
		}
	}
	*out = toks;
	return 0;
}

void vf_lock_release_many(const vf_lock_driver *drv, vf_lock_token **toks, size_t n)
{
	if (!toks)
		return;
	for (size_t i = n; i-- > 0;)
		drv->unlock(toks[i]);   /* unlock accepts NULL */
	free(toks);
}
