#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "issue_authinfo.h"

/* Anything other than exactly one plain key (another method, a
 * certificate, two keys) is refused rather than guessed at. */
int nhi_issue_authinfo_parse(const char *text, struct nhi_key **ret_key)
{
	const char *nl = strchr(text, '\n');
	size_t len = nl != NULL ? (size_t)(nl - text) : strlen(text);
	bool is_cert = false;
	char *line, *sp;
	int r;

	if (nl != NULL && nl[1] != '\0')
		return NHI_ERR_INVALID_FORMAT;
	if (len < 11 || strncmp(text, "publickey ", 10) != 0)
		return NHI_ERR_INVALID_FORMAT;
	if ((line = strndup(text + 10, len - 10)) == NULL)
		return NHI_ERR_ALLOC;
	/* One blank between two fields, no comment. */
	sp = strchr(line, ' ');
	if (sp == NULL || strchr(sp + 1, ' ') != NULL || strchr(line, '\t') != NULL) {
		r = NHI_ERR_INVALID_FORMAT;
		goto out;
	}
	*sp = '\0';
	if (nhi_key_type_from_name(line, &is_cert) == NHI_KEY_UNKNOWN || is_cert) {
		r = NHI_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	*sp = ' ';
	r = nhi_key_from_text(line, ret_key, NULL);
out:
	free(line);
	return r;
}
