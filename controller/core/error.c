/* error.c: filling in, collecting and printing errors.
 * Not for deciding what is an error; callers do that. */
#include "controller/core/error.h"

#include <stdarg.h>
#include <stdlib.h>

static const char *const vf_code_table[VF_CODE_MAX] = {
	[VF_OK] = "ok",
	[VF_E_NOMEM] = "nomem",
	[VF_E_IO] = "io",
	[VF_E_SYNTAX] = "syntax",
	[VF_E_LIMIT] = "limit",
	[VF_E_SCHEMA] = "schema",
	[VF_E_DUPLICATE] = "duplicate",
	[VF_E_CONFLICT] = "conflict",
	[VF_E_BLOCKED] = "blocked",
	[VF_E_DRIVER] = "driver",
	[VF_E_LOCKED] = "locked",
	[VF_E_TIMEOUT] = "timeout",
	[VF_E_USAGE] = "usage",
	[VF_E_NOT_CONVERGED] = "not-converged",
	[VF_E_INTERNAL] = "internal",
	[VF_E_EMPTY] = "empty",
	[VF_E_HOST] = "host",
	[VF_E_CONNECTION] = "connection",
	[VF_E_FORMAT] = "format",
	[VF_E_STALE] = "stale",
	[VF_E_UNSUPPORTED] = "unsupported",
};
VF_STRING_TABLE(vf_code, vf_code, VF_CODE_MAX)

int vf_error_set_at(vf_error *err, vf_code code, vf_pos pos, const char *src_file,
		    int src_line, const char *fmt, ...)
{
	if (!err)
		return -(int)code;
	va_list ap;
	va_start(ap, fmt);
	char *msg = vf_vasprintf(fmt, ap);
	va_end(ap);
	free(err->message);
	*err = (vf_error){
		.code = code,
		.message = msg,
		.pos = pos,
		.src_file = src_file,
		.src_line = src_line,
	};
	return -(int)code;
}

void vf_error_clear(vf_error *err)
{
	if (!err)
		return;
	free(err->message);
	*err = (vf_error){ 0 };
}

int vf_diag_addv_at(vf_diags *d, vf_code code, vf_pos pos, vf_pos other, const char *src_file,
		    int src_line, const char *fmt, va_list ap)
{
	vf_error e = {
		.code = code,
		.message = vf_vasprintf(fmt, ap),
		.pos = pos,
		.other = other,
		.src_file = src_file,
		.src_line = src_line,
	};
	VF_APPEND(d->items, d->n, d->cap, e);
	return -(int)code;
}

int vf_diag_add_at(vf_diags *d, vf_code code, vf_pos pos, vf_pos other,
		   const char *src_file, int src_line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vf_diag_addv_at(d, code, pos, other, src_file, src_line, fmt, ap);
	va_end(ap);
	return r;
}

void vf_diags_free(vf_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].message);
	free(d->items);
	*d = (vf_diags){ 0 };
}

static int vf_pos_cmp(const vf_pos *a, const vf_pos *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void vf_diags_sort(vf_diags *d)
{
	/* insertion sort: stable, and diagnostic lists are short */
	for (size_t i = 1; i < d->n; i++) {
		vf_error e = d->items[i];
		size_t j = i;
		while (j > 0 && vf_pos_cmp(&d->items[j - 1].pos, &e.pos) > 0) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = e;
	}
}

/* Read line `line` (1-based) of `file`; NULL when it cannot. */
static char *vf_read_line(const char *file, int line)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len = 0;
	int n = 0;
	while ((len = getline(&buf, &cap, f)) >= 0) {
		if (++n == line)
			break;
	}
	fclose(f);
	if (n != line || len < 0) {
		free(buf);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return buf;
}

void vf_error_print(FILE *out, const vf_error *e, bool color)
{
	const char *bold = color ? "\033[1m" : "";
	const char *red = color ? "\033[1;31m" : "";
	const char *cyan = color ? "\033[1;36m" : "";
	const char *green = color ? "\033[1;32m" : "";
	const char *reset = color ? "\033[0m" : "";

	if (e->pos.file && e->pos.line > 0)
		fprintf(out, "%s%s:%d:%d:%s ", bold, e->pos.file, e->pos.line,
			e->pos.col > 0 ? e->pos.col : 1, reset);
	else if (e->pos.file)
		fprintf(out, "%s%s:%s ", bold, e->pos.file, reset);
	fprintf(out, "%serror:%s %s\n", red, reset, e->message ? e->message : "(no message)");

	if (e->pos.file && e->pos.line > 0) {
		_cleanup_free_ char *src = vf_read_line(e->pos.file, e->pos.line);
		if (src) {
			fprintf(out, "  %s\n  ", src);
			int col = e->pos.col > 0 ? e->pos.col : 1;
			/* keep tabs so the caret lines up under tabbed YAML */
			for (int i = 0; i < col - 1 && src[i]; i++)
				fputc(src[i] == '\t' ? '\t' : ' ', out);
			fprintf(out, "%s^%s\n", green, reset);
		}
	}
	if (e->other.file && e->other.line > 0)
		fprintf(out, "%s%s:%d:%d:%s %snote:%s the other side is here\n", bold,
			e->other.file, e->other.line, e->other.col > 0 ? e->other.col : 1, reset,
			cyan, reset);
}

void vf_diags_print(FILE *out, const vf_diags *d, bool color)
{
	for (size_t i = 0; i < d->n; i++)
		vf_error_print(out, &d->items[i], color);
}
