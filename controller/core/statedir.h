/* statedir.h: the directories virtform keeps its own files in (the state
 * directory: ledger, lock, image cache; the runtime directory: control
 * sockets) and the one way files are created there: under a temp name,
 * O_EXCL|O_NOFOLLOW, then renamed or linked into place. A directory that
 * others could write to, or that is a symlink, is refused, as sshd's
 * StrictModes refuses a writable ~/.ssh (docs/concepts.md, rule 7).
 * Not for what the files contain (ledger.c, drivers/fetch, drivers/lock). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "controller/core/error.h"

/* Where virtform keeps its files when no flag or setting says (docs/virtform.1,
 * FILES). root's are the system's; any other user's follow the XDG base
 * directories, as libvirt's session daemon keeps its own there: the state
 * directory in $XDG_STATE_HOME/virtform (~/.local/state/virtform), the
 * runtime directory in $XDG_RUNTIME_DIR/virtform or, without one, where
 * libvirt falls back to, $XDG_CACHE_HOME/virtform (~/.cache/virtform).
 * `privileged` is geteuid() == 0. Caller frees. */
#define VF_SYSTEM_STATE_DIR "/var/lib/virtform"
#define VF_SYSTEM_RUNTIME_DIR "/run/virtform"
char *vf_statedir_default(bool privileged);
char *vf_runtimedir_default(bool privileged);

/* Check that `dir` is a real directory (not a symlink) owned by the
 * effective user and not writable by group or others, and that no parent
 * lets another user swap it (each is owned by root or the user and not
 * group/other writable unless sticky). `what` names it in errors ("state
 * directory"). A missing `dir` is created with `create_mode` (parents 0755)
 * when create_mode is not 0; with 0 a missing dir is fine (returns 0). */
int vf_statedir_check(const char *dir, const char *what, mode_t create_mode, vf_error *err);

/* mkdir -p: missing parents 0755, `dir` itself exactly `mode` (not
 * through the umask). An existing `dir` is left as it is (no checks: that
 * is vf_statedir_check). `what` names it in errors. */
int vf_statedir_mkdirs(const char *dir, mode_t mode, const char *what, vf_error *err);

/* Create a new file next to `path` under a fresh temp name
 * ("<path>.tmp.<pid>.<hex>"), O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600.
 * Returns its descriptor and *ret_tmp (caller frees), or an error. */
int vf_statefile_temp(const char *path, char **ret_tmp, vf_error *err);

/* Replace `path` with `len` bytes of `data` atomically: a temp file from
 * vf_statefile_temp, fsync, rename over `path`, fsync of its directory. */
int vf_statefile_write(const char *path, const void *data, size_t len, vf_error *err);
/* The same; sync false skips both fsyncs, for files whose reader checks
 * them (content-addressed record texts: a torn one is never trusted), so
 * that writing thousands costs no flush each. */
int vf_statefile_write_opt(const char *path, const void *data, size_t len, bool sync,
			   vf_error *err);

/* Make `path` exist as a regular file without ever following a symlink
 * and without replacing one that exists: an empty temp file linked into
 * place (link fails on any existing name, a symlink included). For files
 * that must keep their inode, such as a lock file. 0 when it exists or
 * was created; an error when the name is taken by something else. */
int vf_statefile_ensure(const char *path, vf_error *err);

/* Remove what a killed run left in `dir` (and its cache/ and records/
 * subdirectories):
 * temp files "*.tmp.<pid>.<hex>" whose pid is gone or that are older than
 * `run_start`, "*.unpack" (rebuilt from their .part), ".seed-*" older than
 * run_start, and a ".part" whose entry is complete. A ".part" otherwise
 * stays: it is where an interrupted download resumes. Call it holding the
 * reconcile lock. Returns how many files were removed. */
unsigned vf_statedir_clean(const char *dir, time_t run_start);
