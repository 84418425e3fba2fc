#include "config.h"

#include <string.h>

#include "names.h"

static bool is_lower_or_underscore(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_lower_or_underscore(c) || (c >= '0' && c <= '9') || c == '-';
}

bool nhi_name_is_valid(const char *name)
{
	size_t len, i;

	if (name == NULL)
		return false;
	/* Bounded: a hostile name may be very long. */
	len = strnlen(name, NHI_NAME_MAX + 1);
	if (len == 0 || len > NHI_NAME_MAX)
		return false;
	/* The first character keeps '-' (an option to whatever gets the name
	 * in argv) and digits (confusable with a uid) out. */
	if (!is_lower_or_underscore(name[0]))
		return false;
	for (i = 1; i < len; i++) {
		if (is_name_char(name[i]))
			continue;
		/* Samba machine accounts end in '$'; only there. */
		if (name[i] == '$' && i == len - 1)
			continue;
		return false;
	}
	return true;
}

bool nhi_principal_is_valid(const char *principal)
{
	size_t len, i;

	if (principal == NULL)
		return false;
	len = strnlen(principal, NHI_PRINCIPAL_MAX + 1);
	if (len == 0 || len > NHI_PRINCIPAL_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)principal[i];

		/* Printable, no space (sshd splits on it), no ',' (the list
		 * separator in authorized_keys principals=""). */
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return false;
	}
	return true;
}
