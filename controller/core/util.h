/* util.h: small helpers every module uses: allocation that aborts on failure,
 * cleanup attributes, string tables and growable arrays.
 * Not for anything with a policy of its own; that lives in its module. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VF_UNUSED __attribute__((unused))
#define VF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Allocation failure aborts through these (libvirt's rule): no caller checks. */
void *vf_malloc(size_t n);
void *vf_calloc(size_t n, size_t size);
void *vf_realloc(void *p, size_t n);
char *vf_strdup(const char *s);              /* NULL in, NULL out */
char *vf_strndup(const char *s, size_t n);
char *vf_asprintf(const char *fmt, ...) VF_PRINTF(1, 2);
char *vf_vasprintf(const char *fmt, va_list ap) VF_PRINTF(1, 0);

/* Grow *arr (of *cap elements of size elsz) so index n fits. */
void vf_grow(void *arr, size_t *cap, size_t n, size_t elsz);
#define VF_APPEND(arr, n, cap, value)                                   \
	do {                                                            \
		vf_grow(&(arr), &(cap), (n) + 1, sizeof(*(arr)));       \
		(arr)[(n)++] = (value);                                 \
	} while (0)

static inline void vf_freep(void *p) { free(*(void **)p); }
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(vf_freep)

/* Hand a cleanup-owned pointer on: returns it and clears the variable. */
#define TAKE_PTR(p)                                  \
	({                                           \
		__typeof__(p) _ptr_ = (p);           \
		(p) = NULL;                          \
		_ptr_;                               \
	})

static inline bool vf_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Like vf_streq but two NULLs are equal too. */
static inline bool vf_streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* String tables: an enum's names, used both to parse and to print.
 * Declare with VF_STRING_TABLE_DECL(name, type) in a header and define with
 * VF_STRING_TABLE(name, type, max) next to a `static const char *const
 * name##_table[max]` array. Unnamed (NULL) slots do not parse. */
#define VF_STRING_TABLE_DECL(name, type)                    \
	const char *name##_to_string(type v);               \
	int name##_from_string(const char *s) /* -1 if unknown */

#define VF_STRING_TABLE(name, type, max)                                   \
	const char *name##_to_string(type v)                               \
	{                                                                  \
		if ((int)v < 0 || (size_t)v >= (size_t)(max))              \
			return NULL;                                       \
		return name##_table[v];                                    \
	}                                                                  \
	int name##_from_string(const char *s)                              \
	{                                                                  \
		if (!s)                                                    \
			return -1;                                         \
		for (size_t i_ = 0; i_ < (size_t)(max); i_++)              \
			if (name##_table[i_] && strcmp(name##_table[i_], s) == 0) \
				return (int)i_;                            \
		return -1;                                                 \
	}

/* A growable string buffer. */
typedef struct vf_buf {
	char *data;      /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
} vf_buf;

void vf_buf_add(vf_buf *b, const char *s);
void vf_buf_addn(vf_buf *b, const char *s, size_t n);
void vf_buf_printf(vf_buf *b, const char *fmt, ...) VF_PRINTF(2, 3);
char *vf_buf_steal(vf_buf *b);  /* returns "" rather than NULL when empty */
void vf_buf_free(vf_buf *b);

/* Format a byte count in the one style virtform prints sizes in (plan,
 * errors, progress and download lines): the largest IEC unit it reaches,
 * whole when exact ("20GiB", "512MiB", "1.5GiB"), else one decimal
 * ("189.7MiB"). A manifest accepts the exact forms as written. */
char *vf_format_size(uint64_t bytes);
/* The same, followed by " (N bytes)" when the short form is not exact: for
 * bounds, where a byte decides ("48.8KiB (49999 bytes)"). */
char *vf_format_size_exact(uint64_t bytes);

/* ISO 8601 in UTC, "2026-11-21T05:00:00Z"; NULL when t cannot be broken down. */
char *vf_format_time(time_t t);

/* Levenshtein distance, for "did you mean" hints. */
size_t vf_edit_distance(const char *a, const char *b);

/* SHA-256 of data[0..n) as 64 lower-case hex digits and a NUL in out. */
void vf_sha256_hex(const void *data, size_t n, char out[65]);
/* Is s a digest as vf_sha256_hex writes it (64 lower-case hex digits)? */
bool vf_sha256_hex_valid(const char *s);

/* A per-user base directory as the XDG Base Directory spec and libvirt's
 * session daemon find it: $`var` when it is an absolute path, else
 * `home_rel` under the user's home ($HOME, else the passwd entry's).
 * ("XDG_STATE_HOME", ".local/state") is ~/.local/state. Caller frees. */
char *vf_user_dir(const char *var, const char *home_rel);
