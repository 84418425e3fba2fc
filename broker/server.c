#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "breakglass_spool.h"
#include "ca.h"
#include "dispatch.h"
#include "err.h"
#include "krl_export.h"
#include "nss_export.h"
#include "log.h"
#include "proto.h"
#include "server.h"

#define EVENTS_MAX 64
#define DRAIN_MS 2000

enum client_state { CLIENT_READING, CLIENT_WAITING, CLIENT_WRITING };

struct client {
	int fd;
	enum client_state state;
	struct nhi_peer peer;
	struct nhi_buf *in, *out, *request;
	long long deadline;
	struct client *next; /* in the batch */
};

struct server {
	struct nhi_broker *b;
	int epfd, listen_fd, sig_fd;
	struct client *clients[NHI_CLIENTS_MAX];
	size_t n_clients;
	struct client *batch, **batch_tail;
	unsigned long long n_requests, n_batches; /* reported at stop */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nhi_server_listen(const char *path, int *ret_fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return NHI_ERR_INVALID_ARGUMENT;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* Replace only a stale socket, never a file someone put there. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return NHI_ERR_FILE_UNSAFE;
		if (unlink(path) < 0)
			return NHI_ERR_SYSTEM;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return NHI_ERR_SYSTEM;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return NHI_ERR_SYSTEM;
	}
	*ret_fd = fd;
	return 0;
}

static void client_close(struct server *srv, struct client *c)
{
	for (size_t i = 0; i < srv->n_clients; i++) {
		if (srv->clients[i] == c) {
			srv->clients[i] = srv->clients[--srv->n_clients];
			break;
		}
	}
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	nhi_buf_free(c->in);
	nhi_buf_free(c->out);
	nhi_buf_free(c->request);
	free(c);
}

static int watch(struct server *srv, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(srv->epfd, op, fd, &ev) < 0 ? NHI_ERR_SYSTEM : 0;
}

static void client_read(struct server *srv, struct client *c);

static void accept_clients(struct server *srv)
{
	struct client *c;
	int fd;

	while ((fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (srv->n_clients >= NHI_CLIENTS_MAX) {
			nhi_log_warning("too many clients; connection dropped");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->in = nhi_buf_new()) == NULL ||
		    nhi_buf_set_max(c->in, NHI_PROTO_FRAME_MAX + 4) < 0 ||
		    nhi_peer_from_socket(fd, srv->b, &c->peer) < 0 ||
		    watch(srv, EPOLL_CTL_ADD, fd, EPOLLIN, c) < 0) {
			if (c != NULL)
				nhi_buf_free(c->in);
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline = now_ms() + NHI_CLIENT_TIMEOUT_MS;
		srv->clients[srv->n_clients++] = c;
		/* A client writes its request right after connecting: take it
		 * now, into this batch, rather than after one more epoll_wait. */
		client_read(srv, c);
	}
}

/* Reads what is there; a whole frame moves the client to the batch. */
static void client_read(struct server *srv, struct client *c)
{
	uint8_t chunk[4096];
	ssize_t n;
	int r;

	for (;;) {
		n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || nhi_buf_put(c->in, chunk, (size_t)n) < 0)
			break;
		r = nhi_proto_frame_take(c->in, &c->request);
		if (r < 0) {
			nhi_log_info("%s: malformed frame: %s", c->peer.name, nhi_strerror(r));
			break;
		}
		if (c->request != NULL) {
			/* One request per connection: stop listening until answered. */
			watch(srv, EPOLL_CTL_MOD, c->fd, 0, c);
			c->state = CLIENT_WAITING;
			c->next = NULL;
			*srv->batch_tail = c;
			srv->batch_tail = &c->next;
			return;
		}
	}
	client_close(srv, c);
}

static void client_write(struct server *srv, struct client *c)
{
	ssize_t n;

	while (nhi_buf_len(c->out) > 0) {
		n = send(c->fd, nhi_buf_ptr(c->out), nhi_buf_len(c->out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			watch(srv, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
			return;
		}
		if (n <= 0)
			break;
		nhi_buf_consume(c->out, (size_t)n);
	}
	client_close(srv, c);
}

static void audit_denial(struct nhi_broker *b, const struct nhi_call *call)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = { .type = NHI_AUDIT_DENY };
	const char *name = nhi_msg_name(call->type);
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "request", name != NULL ? name : "unknown")) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason",
				      call->reply.message != NULL ? call->reply.message : "")) < 0 ||
	    (r = nhi_audit_detail_int(d, "uid", call->peer->uid)) < 0 ||
	    (r = nhi_audit_detail_int(d, "pid", call->peer->pid)) < 0)
		goto out;
	ev.actor = call->peer->name;
	ev.subject = call->deny_subject;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(b->audit, &ev, NULL);
out:
	if (r < 0)
		nhi_log_error("cannot audit a denial: %s", nhi_strerror(r));
	nhi_audit_detail_free(d);
}

/* Runs one request under its own savepoint. */
static void handle_request(struct server *srv, struct client *c, struct nhi_call *call)
{
	struct nhi_broker *b = srv->b;
	const struct nhi_handler *h;
	struct nhi_kv args;
	size_t mark;
	int r;

	nhi_kv_init(&args);
	call->b = b;
	call->peer = &c->peer;
	if ((r = nhi_msg_get_request(c->request, &call->type, &args)) < 0) {
		nhi_call_error(call, NHI_ERR_PROTOCOL, "malformed request: %s", nhi_strerror(r));
		goto out;
	}
	call->args = &args;
	if ((h = nhi_dispatch_find(call->type)) == NULL) {
		nhi_call_error(call, NHI_ERR_PROTOCOL, "unknown request type %u", call->type);
		goto out;
	}
	if (h->access != NHI_ACCESS_ANY)
		nhi_peer_check_admin(&c->peer, b);
	if (!nhi_dispatch_allowed(h, &c->peer)) {
		nhi_call_deny(call, nhi_msg_name(call->type), NHI_ERR_REFUSED,
			      "permission denied: %s is for administrators",
			      nhi_msg_name(call->type));
		audit_denial(b, call);
		goto out;
	}
	if ((r = nhi_store_savepoint(b->store)) < 0) {
		nhi_call_error(call, r, "store unavailable: %s", nhi_strerror(r));
		goto out;
	}
	mark = nhi_audit_mark(b->audit);
	r = h->fn(call);
	if (r < 0 || call->reply.status < 0) {
		if (call->reply.status == 0)
			nhi_call_error(call, r, "%s", nhi_strerror(r));
		nhi_store_savepoint_rollback(b->store);
		nhi_audit_rollback_to(b->audit, mark);
		if (call->deny_subject != NULL)
			audit_denial(b, call);
	} else {
		nhi_store_savepoint_release(b->store);
	}
out:
	call->args = NULL;
	nhi_kv_clear(&args);
}

static int encode_reply(struct client *c, const struct nhi_call *call)
{
	struct nhi_buf *body = nhi_buf_new();
	int r;

	nhi_buf_free(c->out);
	if ((c->out = nhi_buf_new()) == NULL || body == NULL) {
		nhi_buf_free(body);
		return NHI_ERR_ALLOC;
	}
	r = nhi_msg_put_reply(body, call->type, call->reply.status,
			      call->reply.message != NULL ? call->reply.message : "",
			      call->reply.records, call->reply.n_records);
	if (r == NHI_ERR_NO_BUFFER_SPACE || (r == 0 && nhi_buf_len(body) > NHI_PROTO_FRAME_MAX)) {
		nhi_buf_reset(body);
		r = nhi_msg_put_reply(body, call->type, NHI_ERR_TOO_MANY,
				      "answer too large: narrow the request", NULL, 0);
	}
	if (r == 0)
		r = nhi_proto_frame_put(c->out, body);
	nhi_buf_free(body);
	return r;
}

/* Answers every request that arrived together, in one transaction: no
 * reply leaves before the commit that holds what it reports. */
static void run_batch(struct server *srv)
{
	struct nhi_broker *b = srv->b;
	struct client *c, *next, *batch = srv->batch;
	struct nhi_call call;
	int r;

	srv->batch = NULL;
	srv->batch_tail = &srv->batch;
	r = nhi_store_begin(b->store);
	srv->n_batches++;
	for (c = batch; c != NULL; c = c->next) {
		srv->n_requests++;
		memset(&call, 0, sizeof(call));
		if (r < 0)
			nhi_call_error(&call, r, "store unavailable: %s", nhi_strerror(r));
		else
			handle_request(srv, c, &call);
		if (encode_reply(c, &call) < 0)
			nhi_buf_reset(c->out);
		nhi_call_clear(&call);
	}
	if (r == 0 && (r = nhi_store_commit(b->store)) < 0) {
		/* Nothing of the batch is durable, so nothing of it may leave. */
		nhi_log_error("store commit failed: %s; %s", nhi_strerror(r),
			      nhi_store_last_error(b->store));
		for (c = batch; c != NULL; c = c->next) {
			memset(&call, 0, sizeof(call));
			nhi_call_error(&call, r, "not recorded: the store could not commit");
			if (encode_reply(c, &call) < 0)
				nhi_buf_reset(c->out);
			nhi_call_clear(&call);
		}
		b->krl_dirty = false;
		b->nss_dirty = false;
	}
	if (b->krl_dirty) {
		b->krl_dirty = false;
		if ((r = nhi_krl_export(b)) < 0)
			nhi_log_error("cannot rewrite the KRL: %s", nhi_strerror(r));
	}
	/* A failed write stays dirty and is retried after the next batch:
	 * the store already holds the change, the cache only lags. */
	if (b->nss_dirty) {
		if ((r = nhi_nss_export(b)) < 0)
			nhi_log_error("cannot rewrite the NSS cache: %s", nhi_strerror(r));
		else
			b->nss_dirty = false;
	}
	for (c = batch; c != NULL; c = next) {
		next = c->next;
		c->state = CLIENT_WRITING;
		c->deadline = now_ms() + NHI_CLIENT_TIMEOUT_MS;
		client_write(srv, c);
	}
}

static void reload(struct server *srv)
{
	char err[512];
	int r;

	srv->b->reload_requested = false;
	sd_notify(0, "RELOADING=1");
	if ((r = nhi_broker_reload(srv->b, err, sizeof(err))) < 0)
		nhi_log_error("reload failed, keeping the old configuration: %s", err);
	else
		nhi_log_notice("configuration reloaded");
	if ((r = nhi_bg_spool_ingest(srv->b)) < 0)
		nhi_log_error("break-glass spool not ingested: %s", nhi_strerror(r));
	sd_notify(0, "READY=1");
}

static void read_signals(struct server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			srv->b->reload_requested = true;
		else
			srv->b->stop_requested = true;
	}
}

/* Drops clients past their deadline; returns the wait until the next one. */
static int expire_clients(struct server *srv)
{
	long long now = now_ms(), next = -1;

	for (size_t i = 0; i < srv->n_clients;) {
		struct client *c = srv->clients[i];

		if (c->state != CLIENT_WAITING && c->deadline <= now) {
			nhi_log_info("%s: timed out; connection dropped", c->peer.name);
			client_close(srv, c);
			continue;
		}
		if (c->state != CLIENT_WAITING && (next < 0 || c->deadline < next))
			next = c->deadline;
		i++;
	}
	/* Wake at least once a minute: expired CA keys are dropped then. */
	if (next < 0)
		return 60000;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

static int setup(struct server *srv, int listen_fd)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return NHI_ERR_SYSTEM;
	signal(SIGPIPE, SIG_IGN);
	srv->listen_fd = listen_fd;
	srv->batch_tail = &srv->batch;
	srv->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->sig_fd < 0 || srv->epfd < 0)
		return NHI_ERR_SYSTEM;
	if (watch(srv, EPOLL_CTL_ADD, listen_fd, EPOLLIN, &srv->listen_fd) < 0 ||
	    watch(srv, EPOLL_CTL_ADD, srv->sig_fd, EPOLLIN, &srv->sig_fd) < 0)
		return NHI_ERR_SYSTEM;
	return 0;
}

/* After SIGTERM: answered clients get their bytes, for a short while. */
static void drain(struct server *srv)
{
	long long until = now_ms() + DRAIN_MS;
	struct epoll_event events[EVENTS_MAX];

	while (srv->n_clients > 0 && now_ms() < until) {
		int n = epoll_wait(srv->epfd, events, EVENTS_MAX, 100);

		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;

			if (c != (void *)&srv->listen_fd && c != (void *)&srv->sig_fd &&
			    c->state == CLIENT_WRITING)
				client_write(srv, c);
		}
		for (size_t i = 0; i < srv->n_clients;) {
			if (srv->clients[i]->state != CLIENT_WRITING)
				client_close(srv, srv->clients[i]);
			else
				i++;
		}
	}
	while (srv->n_clients > 0)
		client_close(srv, srv->clients[0]);
}

int nhi_server_run(struct nhi_broker *b, int listen_fd)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct epoll_event events[EVENTS_MAX];
	int r, n;

	if (srv == NULL)
		return NHI_ERR_ALLOC;
	srv->b = b;
	srv->sig_fd = srv->epfd = -1;
	if ((r = setup(srv, listen_fd)) < 0)
		goto out;
	sd_notify(0, "READY=1");
	nhi_log_notice("serving on %s", b->socket_path);
	while (!b->stop_requested) {
		n = epoll_wait(srv->epfd, events, EVENTS_MAX, expire_clients(srv));
		if (n < 0 && errno != EINTR) {
			r = NHI_ERR_SYSTEM;
			goto out;
		}
		for (int i = 0; i < n; i++) {
			void *p = events[i].data.ptr;
			struct client *c = p;

			if (p == &srv->listen_fd)
				accept_clients(srv);
			else if (p == &srv->sig_fd)
				read_signals(srv);
			else if (c->state == CLIENT_READING)
				client_read(srv, c);
			else if (c->state == CLIENT_WRITING)
				client_write(srv, c);
		}
		/* Requests already read are answered even when stopping. */
		if (srv->batch != NULL)
			run_batch(srv);
		if (nhi_ca_set_prune(b, nhi_broker_now()) < 0)
			nhi_log_error("cannot drop an expired user CA key from the store");
		nhi_nss_expire(b, nhi_broker_now());
		if (b->reload_requested)
			reload(srv);
	}
	sd_notify(0, "STOPPING=1");
	nhi_log_notice("stopping after %llu requests in %llu transactions", srv->n_requests,
	               srv->n_batches);
	drain(srv);
	r = 0;
out:
	while (srv->n_clients > 0)
		client_close(srv, srv->clients[0]);
	if (srv->sig_fd >= 0)
		close(srv->sig_fd);
	if (srv->epfd >= 0)
		close(srv->epfd);
	free(srv);
	return r;
}
