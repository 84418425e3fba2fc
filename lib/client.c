#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "proto.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline; 0 when ready. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return NHI_ERR_TIMEOUT;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return NHI_ERR_SYSTEM;
	}
}

static int connect_socket(const char *path, long long deadline, int *ret_fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, r, err = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return NHI_ERR_INVALID_ARGUMENT;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NHI_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*ret_fd = fd;
		return 0;
	}
	if (errno == ENOENT || errno == ECONNREFUSED) {
		r = NHI_ERR_BROKER_UNAVAILABLE;
		goto out;
	}
	/* A full backlog: wait for room like any other slow broker. */
	if (errno != EAGAIN && errno != EINPROGRESS) {
		r = NHI_ERR_SYSTEM;
		goto out;
	}
	if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
		goto out;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		r = NHI_ERR_BROKER_UNAVAILABLE;
		goto out;
	}
	*ret_fd = fd;
	return 0;
out:
	close(fd);
	return r;
}

static int send_all(int fd, const struct nhi_buf *frame, long long deadline)
{
	const uint8_t *p = nhi_buf_ptr(frame);
	size_t left = nhi_buf_len(frame);
	ssize_t n;
	int r;

	while (left > 0) {
		n = send(fd, p, left, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
				return r;
			continue;
		}
		return NHI_ERR_PEER_CLOSED;
	}
	return 0;
}

static int recv_frame(int fd, long long deadline, struct nhi_buf **ret_body)
{
	struct nhi_buf *in = nhi_buf_new(), *body = NULL;
	uint8_t chunk[4096];
	ssize_t n;
	int r;

	if (in == NULL)
		return NHI_ERR_ALLOC;
	for (;;) {
		if ((r = nhi_proto_frame_take(in, &body)) < 0)
			goto out;
		if (body != NULL)
			break;
		if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			r = NHI_ERR_PEER_CLOSED;
			goto out;
		}
		if ((r = nhi_buf_put(in, chunk, (size_t)n)) < 0)
			goto out;
	}
	*ret_body = body;
	r = 0;
out:
	explicit_bzero(chunk, sizeof(chunk));
	nhi_buf_free(in);
	return r;
}

int nhi_client_call(const char *socket_path, int timeout_ms, const struct nhi_buf *request_body,
		    struct nhi_buf **ret_response_body)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	struct nhi_buf *frame = NULL;
	int fd = -1, r;

	if (socket_path == NULL || request_body == NULL || ret_response_body == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((frame = nhi_buf_new()) == NULL)
		return NHI_ERR_ALLOC;
	if ((r = nhi_proto_frame_put(frame, request_body)) < 0 ||
	    (r = connect_socket(socket_path, deadline, &fd)) < 0 ||
	    (r = send_all(fd, frame, deadline)) < 0 ||
	    (r = recv_frame(fd, deadline, ret_response_body)) < 0)
		goto out;
out:
	if (fd >= 0)
		close(fd);
	nhi_buf_free(frame);
	return r;
}
