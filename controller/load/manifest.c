/* manifest.c: finds manifest files (sorted, hidden and editor files skipped,
 * symlinks kept inside the tree), reads them within bounds, decodes every
 * document and finds objects declared twice. The loader's entry point.
 * Not for field rules (decode*.c, values.c) or YAML itself (yaml.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/load/decode.h"
#include "controller/load/manifest.h"

typedef struct vf_mfile {
	char *name;               /* as the user would type it: argument + relative path */
	dev_t dev;
	ino_t ino;
} vf_mfile;

typedef struct vf_mfiles {
	vf_mfile *items;
	size_t n;
	size_t cap;
} vf_mfiles;

/* Directories already walked, so a symlinked directory cannot loop. */
typedef struct vf_seen {
	struct { dev_t dev; ino_t ino; } *items;
	size_t n;
	size_t cap;
} vf_seen;

static bool vf_manifest__ends_with(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);
	return l >= sl && strcmp(s + l - sl, suffix) == 0;
}

/* Hidden files and editors' temporaries: `.x`, `.#x`, `x~`, `#x#`, `.x.swp`. */
static bool vf_manifest__ignored(const char *name)
{
	size_t l = strlen(name);
	return name[0] == '.' || name[l - 1] == '~' || (name[0] == '#' && name[l - 1] == '#') ||
	       vf_manifest__ends_with(name, ".swp") || vf_manifest__ends_with(name, ".swx");
}

static bool vf_manifest__is_yaml(const char *name)
{
	return vf_manifest__ends_with(name, ".yaml") || vf_manifest__ends_with(name, ".yml");
}

static char *vf_manifest__join(const char *dir, const char *rel)
{
	size_t l = strlen(dir);
	return vf_asprintf("%s%s%s", dir, l > 0 && dir[l - 1] == '/' ? "" : "/", rel);
}

/* "cannot read "x": No such file or directory", placed at file x. */
static void vf_manifest__io(vf_desired *out, vf_diags *diags, const char *verb, const char *file,
			    const char *reason)
{
	vf_pos pos = { .file = vf_desired_intern_file(out, file) };
	_cleanup_free_ char *q = vf_decode_quote(file, strlen(file));
	vf_diag_add(diags, VF_E_IO, pos, "%s %s: %s", verb, q, reason);
}

static int vf_manifest__name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int vf_manifest__file_cmp(const void *a, const void *b)
{
	return strcmp(((const vf_mfile *)a)->name, ((const vf_mfile *)b)->name);
}

static void vf_manifest__add(vf_mfiles *files, const char *name, const struct stat *st)
{
	vf_mfile f = { .name = vf_strdup(name), .dev = st->st_dev, .ino = st->st_ino };
	VF_APPEND(files->items, files->n, files->cap, f);
}

/* Walk `dir` (shown to the user as `shown`); `root_real` is the realpath of
 * the directory argument, which symlinks must not leave. */
static void vf_manifest__walk(const char *shown, const char *root_arg, const char *root_real,
			      vf_seen *seen, vf_mfiles *files, vf_desired *out, vf_diags *diags)
{
	DIR *dir = opendir(shown);
	if (!dir) {
		vf_manifest__io(out, diags, "cannot read directory", shown, strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		if (vf_manifest__ignored(e->d_name))
			continue;
		char *copy = vf_strdup(e->d_name);
		VF_APPEND(names, n, cap, copy);
	}
	closedir(dir);
	if (n > 0)
		qsort(names, n, sizeof(*names), vf_manifest__name_cmp);   /* never readdir order */

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = vf_manifest__join(shown, names[i]);
		struct stat st;
		if (lstat(path, &st) < 0) {
			vf_manifest__io(out, diags, "cannot read", path, strerror(errno));
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			char real[PATH_MAX];
			if (!realpath(path, real) || stat(real, &st) < 0) {
				if (vf_manifest__is_yaml(names[i]))
					vf_manifest__io(out, diags, "cannot follow symlink", path, strerror(errno));
				continue;
			}
			size_t rl = strlen(root_real);
			bool inside = strncmp(real, root_real, rl) == 0 &&
				      (real[rl] == '/' || real[rl] == '\0' || strcmp(root_real, "/") == 0);
			if (!inside) {
				if (S_ISDIR(st.st_mode) || vf_manifest__is_yaml(names[i])) {
					vf_pos pos = { .file = vf_desired_intern_file(out, path) };
					_cleanup_free_ char *q = vf_decode_quote(path, strlen(path));
					_cleanup_free_ char *qr = vf_decode_quote(root_arg, strlen(root_arg));
					vf_diag_add(diags, VF_E_IO, pos,
						    "symlink %s points outside %s; not followed", q, qr);
				}
				continue;
			}
		}
		if (S_ISDIR(st.st_mode)) {
			bool loop = false;
			for (size_t j = 0; j < seen->n && !loop; j++)
				loop = seen->items[j].dev == st.st_dev && seen->items[j].ino == st.st_ino;
			if (loop)
				continue;
			vf_grow(&seen->items, &seen->cap, seen->n + 1, sizeof(*seen->items));
			seen->items[seen->n].dev = st.st_dev;
			seen->items[seen->n++].ino = st.st_ino;
			vf_manifest__walk(path, root_arg, root_real, seen, files, out, diags);
		} else if (S_ISREG(st.st_mode) && vf_manifest__is_yaml(names[i])) {
			vf_manifest__add(files, path, &st);
		}
		/* sockets, FIFOs and devices are never manifests */
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The files one path argument names, sorted by path. */
static void vf_manifest__discover(const char *arg, vf_mfiles *files, vf_desired *out, vf_diags *diags)
{
	struct stat st;
	if (stat(arg, &st) < 0) {
		vf_manifest__io(out, diags, "cannot read", arg, strerror(errno));
		return;
	}
	if (S_ISREG(st.st_mode)) {
		vf_manifest__add(files, arg, &st);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		vf_manifest__io(out, diags, "cannot read", arg, "not a regular file or directory");
		return;
	}
	char root_real[PATH_MAX];
	if (!realpath(arg, root_real)) {
		vf_manifest__io(out, diags, "cannot read", arg, strerror(errno));
		return;
	}
	vf_seen seen = { 0 };
	vf_grow(&seen.items, &seen.cap, 1, sizeof(*seen.items));
	seen.items[0].dev = st.st_dev;
	seen.items[0].ino = st.st_ino;
	seen.n = 1;
	size_t first = files->n;
	vf_manifest__walk(arg, arg, root_real, &seen, files, out, diags);
	free(seen.items);
	if (files->n > first)
		qsort(files->items + first, files->n - first, sizeof(*files->items), vf_manifest__file_cmp);
}

/* Read a whole file of at most VF_MANIFEST_MAX_FILE bytes; NULL after a diag. */
static char *vf_manifest__read(const char *file, size_t *len, vf_diags *diags)
{
	vf_pos pos = { .file = file };
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vf_diag_add(diags, VF_E_IO, pos, "cannot read \"%s\": %s", file, strerror(errno));
		return NULL;
	}
	size_t cap = 64 * 1024, n = 0;
	char *buf = vf_malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap > VF_MANIFEST_MAX_FILE)
				break;
			cap *= 2;
			buf = vf_realloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			vf_diag_add(diags, VF_E_IO, pos, "cannot read \"%s\": %s", file, strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > VF_MANIFEST_MAX_FILE) {
		vf_diag_add(diags, VF_E_LIMIT, pos, "file is larger than %u MiB; manifests are limited to that size",
			    VF_MANIFEST_MAX_FILE / (1024 * 1024));
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void vf_manifest__load_file(const char *file, vf_desired *out, vf_diags *diags)
{
	size_t len = 0;
	_cleanup_free_ char *text = vf_manifest__read(file, &len, diags);
	if (!text)
		return;
	vf_ystream ys = { 0 };
	vf_yaml_parse(file, text, len, &ys, diags);
	for (size_t i = 0; i < ys.n_docs; i++)
		vf_decode_document(&ys.docs[i], file, out, diags);
	vf_ystream_free(&ys);
}

/* The same kind+name (volumes: pool+name) twice: an error at the second. */
static void vf_manifest__duplicates(const vf_desired *d, size_t first, vf_diags *diags)
{
	for (size_t i = first; i < d->n; i++) {
		const vf_object *o = &d->objs[i];
		for (size_t j = 0; j < i; j++) {
			const vf_object *p = &d->objs[j];
			if (p->kind != o->kind || !vf_streq(p->name, o->name))
				continue;
			if (o->kind == VF_KIND_VOLUME && !vf_streq(p->u.volume.pool, o->u.volume.pool))
				continue;
			if (o->kind == VF_KIND_VOLUME)
				vf_diag_add2(diags, VF_E_DUPLICATE, o->name_pos, p->name_pos,
					     "Volume \"%s\" in pool \"%s\" is declared twice; first declared at %s:%d",
					     o->name, o->u.volume.pool, p->name_pos.file, p->name_pos.line);
			else
				vf_diag_add2(diags, VF_E_DUPLICATE, o->name_pos, p->name_pos,
					     "%s \"%s\" is declared twice; first declared at %s:%d",
					     vf_kind_to_string(o->kind), o->name, p->name_pos.file, p->name_pos.line);
			break;
		}
	}
}

int vf_manifest_load(const char *const *paths, size_t n_paths, vf_desired *out, vf_diags *diags)
{
	size_t first_diag = diags->n, first_obj = out->n;
	vf_mfiles files = { 0 };
	for (size_t i = 0; i < n_paths; i++)
		vf_manifest__discover(paths[i], &files, out, diags);

	for (size_t i = 0; i < files.n; i++) {
		bool again = false;   /* one file named twice (a directory and a file in it) */
		for (size_t j = 0; j < i && !again; j++)
			again = files.items[j].dev == files.items[i].dev && files.items[j].ino == files.items[i].ino;
		if (!again)
			vf_manifest__load_file(vf_desired_intern_file(out, files.items[i].name), out, diags);
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.items[i].name);
	free(files.items);

	vf_manifest__duplicates(out, first_obj, diags);
	if (diags->n == first_diag)
		return 0;
	/* a failing load hands back no objects, only the file names diags point to */
	for (size_t i = first_obj; i < out->n; i++)
		vf_object_clear(&out->objs[i]);
	out->n = first_obj;
	vf_diags_sort(diags);
	return -(int)diags->items[first_diag].code;
}
