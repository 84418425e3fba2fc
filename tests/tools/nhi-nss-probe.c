/* nhi-nss-probe MODULE NAME BUFLEN: loads an NSS module with dlopen, calls
 * its getpwnam_r for NAME with a BUFLEN-byte buffer and prints
 * "status=S errnop=E errno-kept=0|1", so the tests can tell UNAVAIL from
 * NOTFOUND and see ERANGE, which getent's exit status does not show. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum nss_status getpwnam_fn(const char *, struct passwd *, char *, size_t, int *);

int main(int argc, char **argv)
{
	static char buf[65536];
	struct passwd pw;
	getpwnam_fn *fn;
	size_t buflen;
	void *h;
	int err = 0, status;

	if (argc != 4) {
		fprintf(stderr, "usage: nhi-nss-probe MODULE NAME BUFLEN\n");
		return 2;
	}
	buflen = strtoul(argv[3], NULL, 10);
	if (buflen > sizeof(buf))
		return 2;
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	fn = (getpwnam_fn *)dlsym(h, "_nss_nhi_getpwnam_r");
	if (!fn) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	errno = EDOM;
	status = fn(argv[2], &pw, buf, buflen, &err);
	printf("status=%d errnop=%d errno-kept=%d\n", status, err, errno == EDOM);
	return 0;
}
