#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "proto.h"
#include "support.h"

enum server_behaviour { ANSWER, SILENT, HALF_FRAME, HUGE_LENGTH };

struct server {
	int listen_fd;
	enum server_behaviour behaviour;
	pthread_t thread;
};

static int listen_on(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

static void *serve_one(void *arg)
{
	struct server *s = arg;
	struct nhi_buf *in = nhi_buf_new(), *req = NULL, *body = nhi_buf_new(),
		       *out = nhi_buf_new();
	uint8_t chunk[512], type;
	int fd = accept(s->listen_fd, NULL, NULL);
	ssize_t n;

	while (req == NULL && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		nhi_buf_put(in, chunk, (size_t)n);
		nhi_proto_frame_take(in, &req);
	}
	switch (s->behaviour) {
	case ANSWER:
		nhi_proto_get_request(req, &type);
		nhi_proto_put_response(body, type, 0, "hello");
		nhi_proto_frame_put(out, body);
		(void)!write(fd, nhi_buf_ptr(out), nhi_buf_len(out));
		break;
	case SILENT:
		sleep(3);
		break;
	case HALF_FRAME:
		(void)!write(fd, "\0\0\0\x20\x01", 5);
		break;
	case HUGE_LENGTH:
		(void)!write(fd, "\x7f\xff\xff\xff", 4);
		sleep(1);
		break;
	}
	close(fd);
	nhi_buf_free(req);
	nhi_buf_free(in);
	nhi_buf_free(body);
	nhi_buf_free(out);
	return NULL;
}

static int call(const char *path, int timeout_ms, char **ret_message)
{
	struct nhi_buf *req = nhi_buf_new(), *resp = NULL;
	int r, status;

	cr_assert_eq(nhi_proto_put_request(req, 7), 0);
	r = nhi_client_call(path, timeout_ms, req, &resp);
	if (r == 0) {
		cr_assert_eq(nhi_proto_get_response(resp, 7, &status, ret_message), 0);
		cr_assert_eq(status, 0);
	}
	nhi_buf_free(req);
	nhi_buf_free(resp);
	return r;
}

static int call_server(enum server_behaviour behaviour, int timeout_ms, char **ret_message)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "broker.sock");
	struct server s = { .behaviour = behaviour };
	int r;

	s.listen_fd = listen_on(path);
	cr_assert_eq(pthread_create(&s.thread, NULL, serve_one, &s), 0);
	r = call(path, timeout_ms, ret_message);
	pthread_join(s.thread, NULL);
	close(s.listen_fd);
	test_rmtree(dir);
	free(path);
	free(dir);
	return r;
}

Test(client, answered_call)
{
	char *msg = NULL;

	cr_assert_eq(call_server(ANSWER, 2000, &msg), 0);
	cr_assert_str_eq(msg, "hello");
	free(msg);
}

Test(client, silent_broker_times_out)
{
	cr_assert_eq(call_server(SILENT, 200, NULL), NHI_ERR_TIMEOUT);
}

Test(client, cut_answer_is_peer_closed)
{
	cr_assert_eq(call_server(HALF_FRAME, 2000, NULL), NHI_ERR_PEER_CLOSED);
}

Test(client, oversized_answer_is_refused)
{
	cr_assert_eq(call_server(HUGE_LENGTH, 2000, NULL), NHI_ERR_PROTOCOL);
}

Test(client, no_broker_is_unavailable)
{
	char *dir = test_mkdtemp(), *path = test_path(dir, "broker.sock");
	int fd;

	cr_assert_eq(call(path, 500, NULL), NHI_ERR_BROKER_UNAVAILABLE);
	/* A stale socket file from a dead broker. */
	fd = listen_on(path);
	close(fd);
	cr_assert_eq(call(path, 500, NULL), NHI_ERR_BROKER_UNAVAILABLE);
	test_rmtree(dir);
	free(path);
	free(dir);
}

Test(client, overlong_socket_path_is_refused)
{
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	cr_assert_eq(call(path, 100, NULL), NHI_ERR_INVALID_ARGUMENT);
}
