/* broker/breakglass_spool.c: records spooled by pam_nhi and nhictl, and
 * hostile ones, into audit details. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "breakglass_spool.h"
#include "err.h"

static int parse(const char *text, struct nhi_audit_detail **d, char **account)
{
	*d = NULL;
	*account = NULL;
	return nhi_bg_spool_parse(text, strlen(text), d, account);
}

Test(breakglass_spool, use_record)
{
	struct nhi_audit_detail *d;
	char *account;

	cr_assert_eq(parse("event=use\naccount=oncall\nservice=sshd\nrhost=192.0.2.1\ntty=ssh\n"
	                   "reason=INC-1 \"db\" down\ncode_index=2\ntime=1700000000\n",
	                   &d, &account),
	             0);
	cr_assert_str_eq(account, "oncall");
	cr_assert_not_null(strstr(nhi_audit_detail_text(d), "\"reason\":\"INC-1 \\\"db\\\" down\""));
	cr_assert_not_null(strstr(nhi_audit_detail_text(d), "\"code_index\":2"));
	cr_assert_not_null(strstr(nhi_audit_detail_text(d), "\"event\":\"use\""));
	free(account);
	nhi_audit_detail_free(d);
}

Test(breakglass_spool, hostile_records)
{
	static const char *const bad[] = {
	        "",
	        "event=use\naccount=oncall\nreason=x\ntime=1",        /* torn: no final newline */
	        "event=use\naccount=oncall\ntime=1\n",                /* use without a reason */
	        "event=use\naccount=oncall\nreason=\ntime=1\n",       /* empty reason */
	        "event=drop\naccount=oncall\nreason=x\ntime=1\n",     /* unknown event */
	        "event=use\naccount=../etc\nreason=x\ntime=1\n",      /* bad name */
	        "event=use\naccount=oncall\nreason=x\ntime=1\nevil=1\n",  /* unknown key */
	        "event=use\naccount=oncall\naccount=root\nreason=x\ntime=1\n", /* repeated */
	        "event=use\naccount=oncall\nreason=a\tb\ntime=1\n",   /* control byte */
	        "event=use\naccount=oncall\nreason=x\ntime=-1\n",     /* not a number */
	        "event=use\naccount=oncall\nreason=x\ntime=1\ncode_index=x\n",
	        "event=init\naccount=oncall\nno equals sign\ntime=1\n",
	};
	struct nhi_audit_detail *d;
	char *account;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_lt(parse(bad[i], &d, &account), 0, "case %zu accepted", i);
		cr_assert_null(d);
		cr_assert_null(account);
	}
}

Test(breakglass_spool, oversized_record)
{
	size_t n = NHI_BG_SPOOL_RECORD_MAX + 1;
	char *big = malloc(n);
	struct nhi_audit_detail *d = NULL;
	char *account = NULL;

	memset(big, 'a', n);
	cr_assert_eq(nhi_bg_spool_parse(big, n, &d, &account), NHI_ERR_FILE_TOO_LARGE);
	free(big);
}
