/* nhictl identity import: one JSON line, one identity, checked strictly and
 * turned into the record the broker's identity requests take. The broker
 * checks every record again; this is for errors that name the line and the
 * field before anything is sent. */
#ifndef NHI_IMPORT_PARSE_H
#define NHI_IMPORT_PARSE_H

#include <stddef.h>

#include "kv.h"

#define NHI_IMPORT_LINE_MAX    65536u  /* bytes in one line, without its newline */
#define NHI_IMPORT_RECORDS_MAX 200000u /* identities in one file */

/* Parses one line (len bytes, no newline) into ret_record, which must be
 * empty: name, kind and the optional fields, in the broker's keys (ttl ->
 * ttl_default, roles -> role..., selectors -> selector...). On a bad line
 * returns NHI_ERR_INVALID_ARGUMENT and writes the reason, naming the field,
 * to err; ret_record is left empty. */
int nhi_import_parse_line(const char *line, size_t len, struct nhi_kv *ret_record, char *err,
                          size_t errlen);

#endif
