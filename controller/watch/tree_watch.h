/* tree_watch.h: watching a manifest tree with inotify (libinotifytools) on
 * a thread of its own, reporting "something relevant changed" through an
 * eventfd a poll loop can wait on. Follows new subdirectories, ignores
 * editor temporaries, and notices when DIR is a symlink swapped to a new
 * worktree (git-sync style). Not for deciding what to do about a change.
 *
 * libinotifytools keeps process-wide state: one vf_tree_watch at a time,
 * and nothing else in the process may use libinotifytools meanwhile. */
#pragma once

#include "controller/core/error.h"
#include "controller/core/util.h"

typedef struct vf_tree_watch vf_tree_watch;

/* What happened since the last vf_tree_watch_take. */
typedef struct vf_tree_changes {
	unsigned events;          /* relevant events folded together */
	bool root_swapped;        /* DIR now resolves to another directory */
	char *last_path;          /* the last relevant path, for the log */
	char *root;               /* DIR's current real path (NULL: missing) */
	char *error;              /* a watch problem worth logging, or NULL */
} vf_tree_changes;

/* Watch DIR (a directory or a symlink to one) and its parent directory.
 * Fails when DIR cannot be watched at all. */
int vf_tree_watch_start(const char *dir, vf_tree_watch **out, vf_error *err);
/* Readable while changes wait to be taken (borrowed descriptor). */
int vf_tree_watch_fd(const vf_tree_watch *w);
/* Drain the descriptor and hand over what accumulated. */
void vf_tree_watch_take(vf_tree_watch *w, vf_tree_changes *out);
void vf_tree_changes_clear(vf_tree_changes *c);
/* Ask the thread to compare DIR's real path now (on resync). */
void vf_tree_watch_recheck(vf_tree_watch *w);
/* Stop the thread and release everything; accepts NULL. */
void vf_tree_watch_stop(vf_tree_watch *w);
