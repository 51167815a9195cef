/* harness.h: the few file helpers every cmocka test needs (temporary
 * directories, reading and writing whole files), so each test file reads
 * as the behaviour it checks. Failures fail the calling test. */
#pragma once

#include <sys/types.h>

/* A new empty directory under /tmp named after `tag`; caller frees. */
char *vf_test_tmpdir(const char *tag);
/* Remove `path` and everything under it (symlinks are not followed). */
void vf_test_rm_tree(const char *path);
/* The whole file as a string; NULL when it cannot be opened. Caller frees. */
char *vf_test_read_file(const char *path);
/* Create or truncate `path` with `text`. */
void vf_test_write_file(const char *path, const char *text);
/* Set (value NULL: unset) an environment variable; vf_test_env_save and
 * vf_test_env_restore keep and put back what `names` (NULL-terminated)
 * held, so a test that plays another user's environment leaves none of it. */
void vf_test_setenv(const char *name, const char *value);
char **vf_test_env_save(const char *const *names);
void vf_test_env_restore(const char *const *names, char **saved);
/* A `sleep 60` child (a stand-in for a QEMU process), exec'd by return. */
pid_t vf_test_spawn_sleep(void);
