/* progress.h: how the CLI shows image downloads: a progress bar on a
 * terminal, else one log line every 5 s. For main() only: library code
 * reports progress through vf_fetch_progress_fn and never prints. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct vf_progress_printer {
	FILE *out;                /* where to print (stderr) */
	bool tty;                 /* draw a bar that rewrites itself */
	double last;              /* monotonic time of the last line (log mode) */
	bool drawn;               /* a bar is on screen and needs a newline */
} vf_progress_printer;

/* A vf_fetch_progress_fn; userdata is a vf_progress_printer. */
void vf_progress_print(const char *url, uint64_t bytes, uint64_t total, double rate, bool done,
		       void *userdata);
