/* nhid as a client sees it: a real daemon on a private socket. */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "msg.h"
#include "proto.h"
#include "support.h"

static char *dir, *sock;
static pid_t nhid = -1;

static void start_nhid(void)
{
	char *conf, *state, *nhid_path;
	const char *top = getenv("top_builddir");
	struct stat st;

	dir = test_mkdtemp();
	chmod(dir, 0755);
	sock = test_path(dir, "broker.sock");
	conf = test_path(dir, "nhi.conf");
	state = test_path(dir, "state");
	{
		static const char text[] = "[broker]\nlog_level = debug\nadmin_group = nogroup\n";

		test_write_file(conf, text, sizeof(text) - 1, 0644);
	}
	cr_assert(asprintf(&nhid_path, "%s/broker/nhid", top != NULL ? top : ".") > 0);
	nhid = fork();
	cr_assert(nhid >= 0);
	if (nhid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(devnull, 1);
		execl(nhid_path, "nhid", "-f", "-c", conf, "--state-dir", state, "--socket", sock,
		      "--no-syslog", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(sock, &st) != 0; i++)
		usleep(10000);
	cr_assert_eq(stat(sock, &st), 0, "nhid did not start");
	free(conf);
	free(state);
	free(nhid_path);
}

static int stop_nhid(void)
{
	int status = -1;

	if (nhid > 0) {
		kill(nhid, SIGTERM);
		waitpid(nhid, &status, 0);
		nhid = -1;
	}
	return status;
}

static void cleanup(void)
{
	stop_nhid();
	test_rmtree(dir);
	free(sock);
	free(dir);
}

static int raw_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strncpy(sun.sun_path, sock, sizeof(sun.sun_path) - 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static int call(uint8_t type, struct nhi_msg_reply *reply)
{
	return nhi_msg_call(sock, 3000, type, NULL, reply);
}

TestSuite(server, .init = start_nhid, .fini = cleanup);

Test(server, status_answers)
{
	struct nhi_msg_reply reply;

	cr_assert_eq(call(NHI_MSG_STATUS, &reply), 0);
	cr_assert_eq(reply.status, 0, "%s", reply.message);
	cr_assert_eq(reply.n_records, 1);
	cr_assert_str_eq(nhi_kv_str(&reply.records[0], "version"), PACKAGE_VERSION);
	cr_assert_not_null(strstr(nhi_kv_str(&reply.records[0], "ca_fingerprint"), "SHA256:"));
	nhi_msg_reply_clear(&reply);
}

Test(server, unknown_type_is_refused)
{
	struct nhi_msg_reply reply;

	cr_assert_eq(call(99, &reply), 0);
	cr_assert_eq(reply.status, NHI_ERR_PROTOCOL);
	cr_assert_not_null(strstr(reply.message, "unknown request type 99"));
	nhi_msg_reply_clear(&reply);
}

Test(server, silent_and_half_frame_clients_hold_nothing_up)
{
	struct nhi_msg_reply reply;
	int silent = raw_connect(), half = raw_connect();

	cr_assert_eq(write(half, "\0\0", 2), 2);
	cr_assert_eq(call(NHI_MSG_STATUS, &reply), 0);
	cr_assert_eq(reply.status, 0);
	nhi_msg_reply_clear(&reply);
	close(silent);
	close(half);
}

Test(server, oversized_frame_drops_the_connection)
{
	int fd = raw_connect();
	char c;

	cr_assert_eq(write(fd, "\x7f\xff\xff\xff", 4), 4);
	cr_assert_eq(read(fd, &c, 1), 0, "the broker must hang up");
	close(fd);
}

Test(server, admin_requests_are_refused_to_other_users)
{
	pid_t child;
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root to act as another user");
	chmod(sock, 0666);
	child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		struct nhi_msg_reply reply;

		if (setgroups(0, NULL) < 0 || setgid(65533) < 0 || setuid(65533) < 0)
			_exit(10);
		if (call(NHI_MSG_IDENTITY_LIST, &reply) < 0)
			_exit(11);
		if (reply.status != NHI_ERR_REFUSED || strstr(reply.message, "permission denied") == NULL)
			_exit(12);
		/* Requests for anyone still work for that user. */
		nhi_msg_reply_clear(&reply);
		if (call(NHI_MSG_STATUS, &reply) < 0 || reply.status != 0)
			_exit(13);
		_exit(0);
	}
	waitpid(child, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
		  WEXITSTATUS(status));
}

Test(server, members_of_the_admin_group_are_admins)
{
	pid_t child;
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root to act as another user");
	child = fork();
	cr_assert(child >= 0);
	if (child == 0) {
		struct nhi_msg_reply reply;

		/* nogroup is the configured admin group. */
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		if (call(NHI_MSG_IDENTITY_LIST, &reply) < 0)
			_exit(11);
		_exit(reply.status == 0 ? 0 : 12);
	}
	waitpid(child, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
		  WEXITSTATUS(status));
}

Test(server, sighup_reloads_and_sigterm_stops_cleanly)
{
	struct nhi_msg_reply reply;
	struct stat st;
	int status;

	kill(nhid, SIGHUP);
	cr_assert_eq(call(NHI_MSG_STATUS, &reply), 0);
	cr_assert_eq(reply.status, 0);
	nhi_msg_reply_clear(&reply);
	status = stop_nhid();
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_neq(stat(sock, &st), 0, "the socket is removed on exit");
	cr_assert_eq(call(NHI_MSG_STATUS, &reply), NHI_ERR_BROKER_UNAVAILABLE);
}
