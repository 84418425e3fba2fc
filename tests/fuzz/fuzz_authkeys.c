/* Fuzzes authorized_keys line parsing.
 *
 * The input is one line, passed with its exact length and no terminating
 * NUL, so a parser reading past the length is caught by ASan. A line that
 * parses is rebuilt from what was parsed (options as written, key as
 * text) and must parse again to the same key and options: discovery
 * records keys by what this parser returns. The parser without the curve
 * check must agree with it but for the curve. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authkeys.h"
#include "err.h"
#include "sshkey.h"
#include "fuzz.h"

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (!same_str(a[i], b[i]))
			return false;
	return true;
}

static bool same_opts(const struct nhi_authkey_opts *a, const struct nhi_authkey_opts *b)
{
	return a->restrict_all == b->restrict_all && a->cert_authority == b->cert_authority &&
	       a->no_agent_forwarding == b->no_agent_forwarding &&
	       a->no_port_forwarding == b->no_port_forwarding && a->no_pty == b->no_pty &&
	       a->no_user_rc == b->no_user_rc && a->no_x11_forwarding == b->no_x11_forwarding &&
	       a->permit_agent_forwarding == b->permit_agent_forwarding &&
	       a->permit_port_forwarding == b->permit_port_forwarding &&
	       a->permit_pty == b->permit_pty && a->permit_user_rc == b->permit_user_rc &&
	       a->permit_x11_forwarding == b->permit_x11_forwarding &&
	       a->no_touch_required == b->no_touch_required &&
	       a->verify_required == b->verify_required && same_str(a->command, b->command) &&
	       same_str(a->from, b->from) && same_str(a->principals, b->principals) &&
	       same_str(a->tunnel, b->tunnel) &&
	       same_str(a->expiry_time_text, b->expiry_time_text) &&
	       a->expiry_time == b->expiry_time &&
	       same_list(a->environment, a->n_environment, b->environment, b->n_environment) &&
	       same_list(a->permitopen, a->n_permitopen, b->permitopen, b->n_permitopen) &&
	       same_list(a->permitlisten, a->n_permitlisten, b->permitlisten, b->n_permitlisten);
}

static void reparse(const struct nhi_authkey *ak)
{
	struct nhi_authkey *again = NULL;
	char *keytext = NULL, *line = NULL;
	size_t len;
	int n;

	CHECK(nhi_key_to_text(ak->key, NULL, &keytext) == 0);
	n = ak->options_text != NULL ? asprintf(&line, "%s %s", ak->options_text, keytext)
	                             : asprintf(&line, "%s", keytext);
	if (n < 0)
		abort();
	len = (size_t)n;
	CHECK(nhi_authkeys_parse_line(line, len, &again, NULL) == 0);
	CHECK(again != NULL && again->key != NULL);
	CHECK(nhi_key_equal(ak->key, again->key));
	CHECK(same_str(ak->options_text, again->options_text));
	CHECK(same_opts(&ak->opts, &again->opts));
	CHECK(again->comment == NULL);
	nhi_authkey_free(again);
	free(line);
	free(keytext);
}

/* The parser without the curve check (nhi-authorized-keys') agrees with
 * the full one, error and reason included, except for an ECDSA point off
 * its curve, which only the full parser refuses. */
static void match_agrees(const char *line, size_t size, const struct nhi_authkey *full, int rf,
                         const char *reason)
{
	struct nhi_authkey *match = NULL;
	const char *mreason = NULL;
	int rm = nhi_authkeys_parse_line_for_match(line, size, &match, &mreason);

	if (rm < 0) {
		CHECK(rf == rm && match == NULL);
		CHECK(same_str(reason, mreason));
	} else if (rf == 0) {
		CHECK((full == NULL) == (match == NULL));
		if (full != NULL) {
			CHECK(nhi_key_equal(full->key, match->key));
			CHECK(same_opts(&full->opts, &match->opts));
		}
	} else {
		CHECK(rf == NHI_ERR_KEY_INVALID && match != NULL);
		CHECK(nhi_key_check_curve(match->key) < 0);
	}
	nhi_authkey_free(match);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_authkey *ak = NULL;
	const char *reason = NULL;
	char *line;
	int r;

	/* An exact-size copy: the parser must not need a terminator. An empty
	 * input still gets a valid pointer. */
	if ((line = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(line, data, size);
	r = nhi_authkeys_parse_line(line, size, &ak, &reason);
	match_agrees(line, size, ak, r, reason);
	if (r != 0) {
		CHECK(r < 0 && ak == NULL);
		CHECK(reason != NULL);
		goto out;
	}
	if (ak == NULL) /* blank or comment */
		goto out;
	CHECK(ak->key != NULL);
	CHECK(size <= NHI_AUTHKEYS_LINE_MAX);
	CHECK(ak->opts.n_environment <= NHI_AUTHKEYS_OPTION_VALUES_MAX);
	CHECK(ak->opts.n_permitopen <= NHI_AUTHKEYS_OPTION_VALUES_MAX);
	CHECK(ak->opts.n_permitlisten <= NHI_AUTHKEYS_OPTION_VALUES_MAX);
	CHECK(ak->opts.expiry_time == 0 || ak->opts.expiry_time_text != NULL);
	reparse(ak);
out:
	nhi_authkey_free(ak);
	free(line);
	return 0;
}
