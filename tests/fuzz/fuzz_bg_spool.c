/* Fuzzes the broker's reader of break-glass spool records. pam_nhi writes
 * them as root, but the broker treats the spool as untrusted: a record that
 * parses becomes an audit detail, which must be valid JSON text within the
 * record's size, and its account a valid name. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../broker/breakglass_spool.h"
#include "names.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhi_audit_detail *d = NULL;
	char *account = NULL;
	const char *json;

	if (nhi_bg_spool_parse((const char *)data, size, &d, &account) == 0) {
		CHECK(account != NULL && nhi_name_is_valid(account));
		CHECK(d != NULL && (json = nhi_audit_detail_text(d)) != NULL);
		CHECK(json[0] == '{' && json[strlen(json) - 1] == '}');
		nhi_audit_detail_free(d);
		free(account);
	} else {
		CHECK(d == NULL && account == NULL);
	}
	return 0;
}
