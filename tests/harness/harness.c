/* harness.c: file helpers shared by the cmocka tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "controller/core/util.h"
#include "harness.h"

char *vf_test_tmpdir(const char *tag)
{
	_cleanup_free_ char *tmpl = vf_asprintf("/tmp/vf-%s-XXXXXX", tag);
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return vf_strdup(d);
}

static int vf_test__rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void vf_test_rm_tree(const char *path)
{
	nftw(path, vf_test__rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *vf_test_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	vf_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		vf_buf_addn(&b, chunk, n);
	fclose(f);
	return vf_buf_steal(&b);
}

void vf_test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

void vf_test_setenv(const char *name, const char *value)
{
	if (value)
		assert_int_equal(setenv(name, value, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

char **vf_test_env_save(const char *const *names)
{
	size_t n = 0;
	while (names[n])
		n++;
	char **saved = vf_calloc(n + 1, sizeof(*saved));
	for (size_t i = 0; i < n; i++)
		saved[i] = vf_strdup(getenv(names[i]));
	return saved;
}

void vf_test_env_restore(const char *const *names, char **saved)
{
	for (size_t i = 0; names[i]; i++) {
		vf_test_setenv(names[i], saved[i]);
		free(saved[i]);
	}
	free(saved);
}

pid_t vf_test_spawn_sleep(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	/* Wait until it is sleep (not still our fork): its start time and
	 * command are then the stand-in's own. */
	for (int i = 0; i < 200; i++) {
		_cleanup_free_ char *p = vf_asprintf("/proc/%ld/comm", (long)pid);
		_cleanup_free_ char *comm = vf_test_read_file(p);
		if (comm && strncmp(comm, "sleep", 5) == 0)
			break;
		usleep(5000);
	}
	return pid;
}
