#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "policy.h"

/* ssh-keygen's default extensions but permit-pty, which decides whether a
 * certificate can become an interactive shell. */
static const char *const base_extensions[] = {
        "permit-X11-forwarding",
        "permit-agent-forwarding",
        "permit-port-forwarding",
        "permit-user-rc",
};

int nhi_policy_ttl_bounds(const struct nhi_config *cfg, const struct nhi_identity *id,
                          uint32_t *ret_default, uint32_t *ret_cap)
{
	uint32_t def, cap;

	switch (id->kind) {
	case NHI_KIND_HUMAN:
		def = cfg->human_ttl_default;
		cap = cfg->human_ttl_max;
		break;
	case NHI_KIND_AUTOMATION:
	case NHI_KIND_SERVICE:
		def = cfg->automation_ttl_default;
		cap = cfg->automation_ttl_max;
		break;
	default:
		return NHI_ERR_REFUSED;
	}
	if (id->ttl_max != 0 && id->ttl_max < cap)
		cap = id->ttl_max;
	if (id->ttl_default != 0)
		def = id->ttl_default;
	if (def > cap)
		def = cap;
	*ret_default = def;
	*ret_cap = cap;
	return 0;
}

static bool has_principal(const struct nhi_policy_decision *d, const char *p)
{
	for (size_t i = 0; i < d->n_principals; i++) {
		if (strcmp(d->principals[i], p) == 0)
			return true;
	}
	return false;
}

static int add_principal(struct nhi_policy_decision *d, const char *p)
{
	char **v;

	if (has_principal(d, p))
		return 0;
	if (d->n_principals >= NHI_CERT_PRINCIPALS_MAX)
		return NHI_ERR_TOO_MANY;
	v = realloc(d->principals, (d->n_principals + 1) * sizeof(*v));
	if (v == NULL)
		return NHI_ERR_ALLOC;
	d->principals = v;
	if ((v[d->n_principals] = strdup(p)) == NULL)
		return NHI_ERR_ALLOC;
	d->n_principals++;
	return 0;
}

static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int nhi_policy_decide(const struct nhi_config *cfg, const struct nhi_identity *id,
                      char *const *roles, size_t n_roles, const struct nhi_key *key,
                      uint32_t ttl_requested, uint64_t now, struct nhi_policy_decision *ret,
                      char reason[NHI_POLICY_REASON_MAX])
{
	struct nhi_policy_decision d = {0};
	const char *why = NULL;
	uint32_t def, cap;
	int r;

	reason[0] = '\0';
	if (id->status != NHI_STATUS_ACTIVE) {
		snprintf(reason, NHI_POLICY_REASON_MAX, "identity %s is %s", id->name,
		         nhi_identity_status_name(id->status));
		return NHI_ERR_IDENTITY_INACTIVE;
	}
	if (nhi_policy_ttl_bounds(cfg, id, &def, &cap) < 0) {
		snprintf(reason, NHI_POLICY_REASON_MAX,
		         "identity %s is %s: not issued through a certificate request", id->name,
		         nhi_identity_kind_name(id->kind));
		return NHI_ERR_REFUSED;
	}
	if (ttl_requested > cap) {
		snprintf(reason, NHI_POLICY_REASON_MAX, "ttl %u exceeds the cap %u for %s",
		         ttl_requested, cap, id->name);
		return NHI_ERR_TTL_EXCEEDED;
	}
	if (key == NULL || nhi_key_policy(key, &why) != NHI_KEY_ACCEPTABLE) {
		snprintf(reason, NHI_POLICY_REASON_MAX, "subject key refused: %s",
		         why != NULL ? why : "no key");
		return NHI_ERR_KEY_REFUSED;
	}
	d.ttl = ttl_requested != 0 ? ttl_requested : def;
	if (d.ttl == 0) {
		snprintf(reason, NHI_POLICY_REASON_MAX, "no lifetime allowed for %s", id->name);
		return NHI_ERR_TTL_EXCEEDED;
	}
	d.valid_after = now > cfg->backdate ? now - cfg->backdate : 0;
	d.valid_before = now + d.ttl;
	d.permit_pty = id->kind == NHI_KIND_HUMAN || id->allow_pty;
	d.source_address = nonempty(id->source_addresses);
	d.force_command = nonempty(id->force_command);
	if ((r = add_principal(&d, id->name)) < 0)
		goto out;
	for (size_t i = 0; i < n_roles; i++) {
		if (!nhi_principal_is_valid(roles[i])) {
			snprintf(reason, NHI_POLICY_REASON_MAX,
			         "a role of %s cannot be a principal", id->name);
			r = NHI_ERR_NAME_INVALID;
			goto out;
		}
		if ((r = add_principal(&d, roles[i])) < 0)
			goto out;
	}
	*ret = d;
	memset(&d, 0, sizeof(d));
	r = 0;
out:
	nhi_policy_decision_clear(&d);
	return r;
}

void nhi_policy_decision_clear(struct nhi_policy_decision *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_principals; i++)
		free(d->principals[i]);
	free(d->principals);
	memset(d, 0, sizeof(*d));
}

int nhi_policy_key_id(const char *identity, uint64_t serial, char out[NHI_POLICY_KEY_ID_MAX])
{
	int n = snprintf(out, NHI_POLICY_KEY_ID_MAX, "nhi:%s:%llu", identity,
	                 (unsigned long long)serial);

	return n < 0 || (size_t)n >= NHI_POLICY_KEY_ID_MAX ? NHI_ERR_NAME_INVALID : 0;
}

int nhi_policy_apply(const struct nhi_policy_decision *d, const char *identity, uint64_t serial,
                     struct nhi_cert *cert)
{
	char key_id[NHI_POLICY_KEY_ID_MAX];
	int r;

	if ((r = nhi_policy_key_id(identity, serial, key_id)) < 0 ||
	    (r = nhi_cert_set_key_id(cert, key_id)) < 0)
		return r;
	for (size_t i = 0; i < d->n_principals; i++) {
		if ((r = nhi_cert_add_principal(cert, d->principals[i])) < 0)
			return r;
	}
	for (size_t i = 0; i < sizeof(base_extensions) / sizeof(base_extensions[0]); i++) {
		if ((r = nhi_cert_set_extension(cert, base_extensions[i], NULL)) < 0)
			return r;
	}
	if (d->permit_pty && (r = nhi_cert_set_extension(cert, "permit-pty", NULL)) < 0)
		return r;
	if (d->source_address != NULL &&
	    (r = nhi_cert_set_critical(cert, "source-address", d->source_address)) < 0)
		return r;
	if (d->force_command != NULL &&
	    (r = nhi_cert_set_critical(cert, "force-command", d->force_command)) < 0)
		return r;
	cert->type = NHI_CERT_TYPE_USER;
	cert->serial = serial;
	cert->valid_after = d->valid_after;
	cert->valid_before = d->valid_before;
	return 0;
}
