/* nhictl's output: aligned tables and "name: value" lines for people, one
 * JSON object per line for programs. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_json.h"
#include "err.h"
#include "nhictl.h"

#define CELL_MAX 256

/* Control bytes become \xNN, so no value can move a terminal's cursor or
 * forge a line; the rest passes as is (the broker already escaped what it
 * quotes from hostile input). Cut at len with "...". */
const char *nhictl_clean(const char *s, char *buf, size_t len)
{
	size_t pos = 0;

	if (len == 0)
		return "";
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		size_t need = ch < 0x20 || ch == 0x7f ? 4 : 1;
		if (pos + need + 4 > len) {
			if (pos + 4 <= len)
				memcpy(buf + pos, "...", 3), pos += 3;
			break;
		}
		if (need == 4)
			pos += (size_t)snprintf(buf + pos, len - pos, "\\x%02x", ch);
		else
			buf[pos++] = (char)ch;
	}
	buf[pos] = '\0';
	return buf;
}

void nhictl_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

static bool is_integer(const char *s)
{
	size_t i = s[0] == '-' ? 1 : 0;

	if (s[i] == '\0' || strlen(s + i) > 18 || (s[i] == '0' && s[i + 1] != '\0'))
		return false;
	return strspn(s + i, "0123456789") == strlen(s + i);
}

static void format_secs(const char *v, char *buf, size_t len)
{
	unsigned long long n;

	if (!is_integer(v) || v[0] == '-') {
		snprintf(buf, len, "%s", v);
		return;
	}
	n = strtoull(v, NULL, 10);
	if (n != 0 && n % 86400 == 0)
		snprintf(buf, len, "%llud", n / 86400);
	else if (n != 0 && n % 3600 == 0)
		snprintf(buf, len, "%lluh", n / 3600);
	else if (n != 0 && n % 60 == 0)
		snprintf(buf, len, "%llum", n / 60);
	else
		snprintf(buf, len, "%llus", n);
}

static const char *value_of(const struct nhi_kv *rec, const char *key)
{
	const struct nhi_kv_item *it = nhi_kv_find(rec, key);

	return it != NULL ? (const char *)it->value : NULL;
}

/* The text of one field for a person; "-" when absent. */
static void cell(const struct nhi_kv *rec, const struct nhictl_field *f, char *buf, size_t len)
{
	const char *v = value_of(rec, f->key);
	char tmp[CELL_MAX];
	size_t n, pos = 0;

	if (v == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	switch (f->type) {
	case NHICTL_TIME:
		if (is_integer(v)) {
			nhictl_format_time(strtoll(v, NULL, 10), buf, len);
			return;
		}
		break;
	case NHICTL_SECS:
		format_secs(v, tmp, sizeof(tmp));
		v = tmp;
		break;
	case NHICTL_LIST:
		n = nhi_kv_count(rec, f->key);
		buf[0] = '\0';
		for (size_t i = 0; i < n && pos + 1 < len; i++) {
			char item[CELL_MAX];
			nhictl_clean((const char *)nhi_kv_nth(rec, f->key, i)->value, item,
			             sizeof(item));
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i > 0 ? "," : "",
			                        item);
		}
		return;
	default:
		break;
	}
	nhictl_clean(v, buf, len);
}

static void json_value(struct nhi_json *j, const struct nhictl_field *f, const char *v)
{
	size_t len = strlen(v);

	switch (f->type) {
	case NHICTL_INT:
	case NHICTL_TIME:
	case NHICTL_SECS:
		if (is_integer(v)) {
			nhi_json_raw(j, v, len);
			return;
		}
		break;
	case NHICTL_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
			nhi_json_raw(j, v[0] == 'y' ? "true" : "false", v[0] == 'y' ? 4 : 5);
			return;
		}
		break;
	case NHICTL_JSON:
		/* Only what is provably one flat object is embedded; anything
		 * else (a tampered row, say) stays a string. */
		if (nhi_json_is_flat_object(v, len)) {
			nhi_json_raw(j, v, len);
			return;
		}
		break;
	default:
		break;
	}
	nhi_json_string(j, v, len);
}

static void print_json(const struct nhictl_field *fields, size_t n_fields, const struct nhi_kv *rec)
{
	struct nhi_json j = NHI_JSON_INIT;
	bool first = true;

	nhi_json_raw(&j, "{", 1);
	for (size_t i = 0; i < (fields != NULL ? n_fields : rec->n); i++) {
		struct nhictl_field generic = {NULL, NULL, NHICTL_STR, true};
		const struct nhictl_field *f = &generic;
		const char *v;

		if (fields != NULL)
			f = &fields[i];
		else
			generic.key = generic.name = rec->items[i].key;
		v = value_of(rec, f->key);

		/* Generic records: each key once, repeated keys as arrays. */
		if (fields == NULL && nhi_kv_find(rec, f->key) != &rec->items[i])
			continue;
		if (fields == NULL && nhi_kv_count(rec, f->key) > 1)
			generic.type = NHICTL_LIST;
		else if (fields == NULL && v != NULL && is_integer(v))
			generic.type = NHICTL_INT;
		if (!first)
			nhi_json_raw(&j, ",", 1);
		first = false;
		nhi_json_string(&j, f->name, strlen(f->name));
		nhi_json_raw(&j, ":", 1);
		if (f->type == NHICTL_LIST) {
			size_t n = nhi_kv_count(rec, f->key);
			nhi_json_raw(&j, "[", 1);
			for (size_t k = 0; k < n; k++) {
				const struct nhi_kv_item *it = nhi_kv_nth(rec, f->key, k);
				if (k > 0)
					nhi_json_raw(&j, ",", 1);
				nhi_json_string(&j, (const char *)it->value, it->len);
			}
			nhi_json_raw(&j, "]", 1);
		} else if (v == NULL) {
			nhi_json_raw(&j, "null", 4);
		} else {
			json_value(&j, f, v);
		}
	}
	nhi_json_raw(&j, "}\n", 2);
	if (j.err == 0)
		fputs(j.data, stdout);
	else
		fprintf(stderr, "nhictl: cannot format JSON: %s\n", nhi_strerror(j.err));
	nhi_json_free(&j);
}

/* Every key of the records in order of first appearance: the columns of a
 * record type nhictl does not know. */
static struct nhictl_field *generic_fields(const struct nhi_kv *records, size_t n_records,
                                           size_t *ret_n)
{
	struct nhictl_field *f = NULL, *grown;
	size_t n = 0;

	for (size_t r = 0; r < n_records; r++) {
		for (size_t i = 0; i < records[r].n; i++) {
			const char *key = records[r].items[i].key;
			bool seen = false;
			for (size_t k = 0; k < n && !seen; k++)
				seen = strcmp(f[k].key, key) == 0;
			if (seen)
				continue;
			if ((grown = realloc(f, (n + 1) * sizeof(*f))) == NULL)
				break;
			f = grown;
			f[n++] = (struct nhictl_field){
			        key, key,
			        nhi_kv_count(&records[r], key) > 1 ? NHICTL_LIST : NHICTL_STR,
			        true};
		}
	}
	*ret_n = n;
	return f;
}

static void print_table(const struct nhictl_field *fields, size_t n_fields,
                        const struct nhi_kv *records, size_t n_records)
{
	size_t *width = calloc(n_fields + 1, sizeof(*width));
	char buf[CELL_MAX], head[64];

	if (width == NULL)
		return;
	for (size_t i = 0; i < n_fields; i++) {
		if (!fields[i].in_table)
			continue;
		width[i] = strlen(fields[i].name);
		for (size_t r = 0; r < n_records; r++) {
			cell(&records[r], &fields[i], buf, sizeof(buf));
			if (strlen(buf) > width[i])
				width[i] = strlen(buf);
		}
	}
	for (size_t r = 0; r <= n_records; r++) {
		bool first = true;
		size_t pending = 0;
		for (size_t i = 0; i < n_fields; i++) {
			if (!fields[i].in_table)
				continue;
			if (r == 0) {
				size_t k;
				for (k = 0; fields[i].name[k] != '\0' && k + 1 < sizeof(head); k++)
					head[k] = (char)toupper((unsigned char)fields[i].name[k]);
				head[k] = '\0';
				snprintf(buf, sizeof(buf), "%s", head);
			} else {
				cell(&records[r - 1], &fields[i], buf, sizeof(buf));
			}
			/* Pad the previous column only now, so no line ends in blanks. */
			printf("%*s%s", first ? 0 : (int)(pending + 2), "", buf);
			pending = width[i] - strlen(buf);
			first = false;
		}
		putchar('\n');
	}
	free(width);
}

void nhictl_print_list(const struct nhictl *ctl, const struct nhictl_field *fields, size_t n_fields,
                       const struct nhi_kv *records, size_t n_records)
{
	struct nhictl_field *generic = NULL;

	if (ctl->json) {
		for (size_t r = 0; r < n_records; r++)
			print_json(fields, n_fields, &records[r]);
		return;
	}
	if (fields == NULL)
		fields = generic = generic_fields(records, n_records, &n_fields);
	if (n_records > 0)
		print_table(fields, n_fields, records, n_records);
	free(generic);
}

void nhictl_print_item(const struct nhictl *ctl, const struct nhictl_field *fields, size_t n_fields,
                       const struct nhi_kv *record)
{
	struct nhictl_field *generic = NULL;
	char buf[4096];
	size_t width = 0;

	if (ctl->json) {
		print_json(fields, n_fields, record);
		return;
	}
	if (fields == NULL)
		fields = generic = generic_fields(record, 1, &n_fields);
	for (size_t i = 0; i < n_fields; i++)
		if (strlen(fields[i].name) > width)
			width = strlen(fields[i].name);
	for (size_t i = 0; i < n_fields; i++) {
		if (nhi_kv_find(record, fields[i].key) == NULL)
			continue;
		char label[72];
		cell(record, &fields[i], buf, sizeof(buf));
		snprintf(label, sizeof(label), "%s:", fields[i].name);
		printf("%-*s %s\n", (int)width + 1, label, buf);
	}
	free(generic);
}

int nhictl_records_take(struct nhi_kv **list, size_t *n, struct nhi_msg_reply *reply)
{
	struct nhi_kv *grown;

	if (reply->n_records == 0)
		return 0;
	grown = realloc(*list, (*n + reply->n_records) * sizeof(*grown));
	if (grown == NULL)
		return NHI_ERR_ALLOC;
	memcpy(grown + *n, reply->records, reply->n_records * sizeof(*grown));
	*list = grown;
	*n += reply->n_records;
	free(reply->records);
	reply->records = NULL;
	reply->n_records = 0;
	return 0;
}

void nhictl_records_free(struct nhi_kv *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++)
		nhi_kv_clear(&list[i]);
	free(list);
}
