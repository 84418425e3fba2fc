#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <security/pam_ext.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "login.h"
#include "names.h"

/* The process start time in clock ticks since boot (/proc/self/stat field
 * 22): with the pid it names this process uniquely across pid reuse, so the
 * open and close of one session carry the same id. */
static unsigned long long process_start_time(void)
{
	char buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return 0;
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm (field 2) may hold blanks and parentheses: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; *p != '\0' && field < 22; p++) {
		if (*p == ' ')
			field++;
	}
	if (field == 22 && sscanf(p, "%llu", &start) != 1)
		start = 0;
	return start;
}

static const char *get_item(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || v == NULL || *(const char *)v == '\0')
		return NULL;
	return v;
}

int nhi_pam_login_get(pam_handle_t *pamh, struct nhi_pam_login *ret_login)
{
	struct nhi_pam_login login = {0};
	const char *user;

	nhi_authinfo_init(&login.authinfo);
	/* The item, not pam_get_user: these stages run after authentication
	 * and must never prompt for a name. */
	if ((user = get_item(pamh, PAM_USER)) == NULL || !nhi_name_is_valid(user))
		return NHI_ERR_NAME_INVALID;
	login.user = user;
	login.service = get_item(pamh, PAM_SERVICE);
	login.rhost = get_item(pamh, PAM_RHOST);
	login.tty = get_item(pamh, PAM_TTY);
	if (login.service == NULL)
		login.service = "unknown";
	/* The PAM environment, set by sshd: never the process environment,
	 * which the user controls. */
	login.authinfo_error =
	        nhi_authinfo_parse(pam_getenv(pamh, "SSH_AUTH_INFO_0"), &login.authinfo);
	snprintf(login.session_id, sizeof(login.session_id), "%ld-%llu", (long)getpid(),
	         process_start_time());
	*ret_login = login;
	return 0;
}

void nhi_pam_login_clear(struct nhi_pam_login *login)
{
	if (login == NULL)
		return;
	nhi_authinfo_clear(&login->authinfo);
}

int nhi_pam_login_put(const struct nhi_pam_login *login, struct nhi_kv *args)
{
	const struct nhi_authinfo *ai = &login->authinfo;
	int r;

	if ((r = nhi_kv_add_str(args, "user", login->user)) < 0 ||
	    (r = nhi_kv_add_str(args, "service", login->service)) < 0 ||
	    (login->rhost != NULL && (r = nhi_kv_add_str(args, "rhost", login->rhost)) < 0) ||
	    (login->tty != NULL && (r = nhi_kv_add_str(args, "tty", login->tty)) < 0))
		return r;
	if (login->authinfo_error < 0) {
		/* A credential we could not read is sent as such: the broker
		 * treats it as no broker certificate, never as a good one. */
		return nhi_kv_add_str(args, "method", "unreadable");
	}
	if (ai->method[0] != '\0' && (r = nhi_kv_add_str(args, "method", ai->method)) < 0)
		return r;
	if (ai->key_blob == NULL)
		return 0;
	if ((r = nhi_kv_add_str(args, "key_type", ai->key_type)) < 0 ||
	    (r = nhi_kv_add(args, "key", ai->key_blob, ai->key_blob_len)) < 0)
		return r;
	if (ai->is_cert && ((r = nhi_kv_add_u64(args, "cert_serial", ai->cert_serial)) < 0 ||
	                    (r = nhi_kv_add_str(args, "cert_key_id", ai->cert_key_id)) < 0))
		return r;
	return 0;
}

void nhi_pam_tell(pam_handle_t *pamh, int flags, int style, const char *message)
{
	char clean[512];

	if ((flags & PAM_SILENT) != 0 || message == NULL || *message == '\0')
		return;
	nhi_log_sanitize(message, clean, sizeof(clean));
	if (style == PAM_ERROR_MSG)
		pam_error(pamh, "%s", clean);
	else
		pam_info(pamh, "%s", clean);
}
