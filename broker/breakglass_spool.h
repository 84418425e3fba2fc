/* Break-glass records spooled by pam_nhi (a code used) and by nhictl
 * (codes issued) while the broker may be down: one file per event in
 * <state_dir>/breakglass-spool, appended to the audit chain as
 * "breakglass" events when nhid starts and on reload. */
#ifndef NHI_BREAKGLASS_SPOOL_H
#define NHI_BREAKGLASS_SPOOL_H

#include <stddef.h>

#include "audit.h"

#define NHI_BG_SPOOL_NAME       "breakglass-spool"
#define NHI_BG_SPOOL_RECORD_MAX 4096u

/* Parses one record ("key=value" lines) into a flat JSON detail for the
 * audit trail; *ret_account is the account (heap). NHI_ERR_INVALID_FORMAT
 * for anything unexpected: unknown or repeated keys, a missing account or
 * event, control characters. */
int nhi_bg_spool_parse(const char *text, size_t len, struct nhi_audit_detail **ret_detail,
                       char **ret_account);

struct nhi_broker;
/* Appends every record in the spool and deletes each file only after its
 * record committed. A bad file is renamed ".bad-NAME" and logged. Returns
 * the number of records appended, or an error about the directory (or the
 * audit trail, which stops the scan). A missing spool is 0. */
int nhi_bg_spool_ingest(struct nhi_broker *b);

#endif
