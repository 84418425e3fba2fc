#!/usr/bin/env bash
# libnss_nhi.so.2 exports only the _nss_nhi_* entry points, has the soname
# glibc looks for, and needs nothing but libc. Needs no root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

MODULE=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
[ -f "$MODULE" ] || bail_out "libnss_nhi.so.2 not built at $MODULE"
command -v nm >/dev/null && command -v readelf >/dev/null || bail_out "needs nm and readelf"
plan 4

defined=$(nm -D --defined-only "$MODULE" | awk '{ print $3 }' | sort)
others=$(grep -v '^_nss_nhi_' <<<"$defined")
if [ -z "$others" ]; then
	pass "only _nss_nhi_* symbols are exported"
else
	fail "only _nss_nhi_* symbols are exported" "also exported:" "$others"
fi

want="_nss_nhi_endgrent _nss_nhi_endpwent _nss_nhi_getgrent_r _nss_nhi_getgrgid_r
_nss_nhi_getgrnam_r _nss_nhi_getpwent_r _nss_nhi_getpwnam_r _nss_nhi_getpwuid_r
_nss_nhi_initgroups_dyn _nss_nhi_setgrent _nss_nhi_setpwent"
missing=$(comm -23 <(tr ' ' '\n' <<<"$want" | grep . | sort) <(echo "$defined"))
if [ -z "$missing" ]; then
	pass "every passwd, group and initgroups entry point is exported"
else
	fail "every passwd, group and initgroups entry point is exported" "missing:" "$missing"
fi

needed=$(readelf -d "$MODULE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ "$needed" = libc.so.6 ]; then
	pass "DT_NEEDED is libc.so.6 alone"
else
	fail "DT_NEEDED is libc.so.6 alone" "needed:" "$needed"
fi

soname=$(readelf -d "$MODULE" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
check "the soname is libnss_nhi.so.2 (got: $soname)" test "$soname" = libnss_nhi.so.2
