/* Helpers for unit tests that cross-check against OpenSSH's tools. */
#ifndef NHI_TEST_SUPPORT_H
#define NHI_TEST_SUPPORT_H

#include <stddef.h>

/* A fresh private directory under $TMPDIR (removed by test_rmtree). */
char *test_mkdtemp(void);
void test_rmtree(const char *dir);
/* "dir/name", heap-allocated. */
char *test_path(const char *dir, const char *name);
/* Writes or reads a whole file; abort the test on error. */
void test_write_file(const char *path, const void *data, size_t len, int mode);
char *test_read_file(const char *path, size_t *ret_len);
/* Runs argv (no shell) with stdin from /dev/null; captures stdout+stderr
 * into *ret_output (may be NULL) and returns the exit status (or -1). */
int test_run(char *const argv[], char **ret_output);
/* The ssh-keygen to cross-check with: $SSH_KEYGEN or ssh-keygen on PATH. */
const char *test_ssh_keygen(void);

#endif
