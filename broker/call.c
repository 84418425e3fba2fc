#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "err.h"

static void set_message(struct nhi_call *c, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	free(c->reply.message);
	c->reply.message = msg;
}

int nhi_call_error(struct nhi_call *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(c, fmt, ap);
	va_end(ap);
	c->reply.status = status < 0 ? status : NHI_ERR_INTERNAL;
	return c->reply.status;
}

int nhi_call_deny(struct nhi_call *c, const char *subject, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(c, fmt, ap);
	va_end(ap);
	free(c->deny_subject);
	c->deny_subject = strdup(subject != NULL ? subject : "");
	c->reply.status = status < 0 ? status : NHI_ERR_INTERNAL;
	return c->reply.status;
}

int nhi_call_message(struct nhi_call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(c, fmt, ap);
	va_end(ap);
	return c->reply.message != NULL ? 0 : NHI_ERR_ALLOC;
}

int nhi_call_add_record(struct nhi_call *c, struct nhi_kv **ret_record)
{
	struct nhi_kv *records;

	if (c->reply.n_records >= NHI_KV_LIST_MAX)
		return NHI_ERR_TOO_MANY;
	records = realloc(c->reply.records, (c->reply.n_records + 1) * sizeof(*records));
	if (records == NULL)
		return NHI_ERR_ALLOC;
	c->reply.records = records;
	nhi_kv_init(&records[c->reply.n_records]);
	*ret_record = &records[c->reply.n_records++];
	return 0;
}

void nhi_call_drop_records(struct nhi_call *c, size_t keep)
{
	while (c->reply.n_records > keep)
		nhi_kv_clear(&c->reply.records[--c->reply.n_records]);
}

void nhi_call_clear(struct nhi_call *c)
{
	if (c == NULL)
		return;
	nhi_msg_reply_clear(&c->reply);
	free(c->deny_subject);
	c->deny_subject = NULL;
}
