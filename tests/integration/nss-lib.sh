# Running commands against nss_nhi through the real glibc NSS (bash,
# sourced after lib.sh; needs root for unshare and mounts).
#
# nss_namespace_run CACHE_DIR MODULE_DIR CMD...: runs CMD in a private
# mount namespace where /etc/nsswitch.conf reads "passwd: files nhi" and
# "group: files nhi", /var/lib/nhi is CACHE_DIR (so the module's compiled-in
# cache path is CACHE_DIR/nss.cache), and /etc/ld.so.cache is a private
# cache that also covers MODULE_DIR, which must hold libnss_nhi.so.2. The
# host's files are never changed; /var/lib/nhi is created as a mount point
# if missing. CMD's exit status is returned.

nss_namespace_prepare()
{
	local module_dir=$1 dir=$NHI_TMP/nss-ns multiarch
	mkdir -p "$dir" || return 1
	multiarch=$(gcc -print-multiarch 2>/dev/null || true)
	[ -n "$multiarch" ] || multiarch=$(uname -m)-linux-gnu
	{
		echo "$module_dir"
		echo "include /etc/ld.so.conf.d/*.conf"
		echo "/lib/$multiarch"
		echo "/usr/lib/$multiarch"
		echo "/lib"
		echo "/usr/lib"
	} >"$dir/ld.so.conf"
	# -X: leave the links in the listed directories alone.
	ldconfig -X -C "$dir/ld.so.cache" -f "$dir/ld.so.conf" 2>"$dir/ldconfig.err" || return 1
	cat >"$dir/nsswitch.conf" <<'NSS'
passwd: files nhi
group: files nhi
shadow: files
gshadow: files
hosts: files
NSS
	mkdir -p /var/lib/nhi || return 1
}

nss_namespace_run()
{
	local cache_dir=$1 module_dir=$2 dir=$NHI_TMP/nss-ns
	shift 2
	[ -f "$dir/ld.so.cache" ] || nss_namespace_prepare "$module_dir" || return 125
	unshare -m --propagation private -- /bin/sh -c '
		mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf &&
		mount --bind "$1/ld.so.cache" /etc/ld.so.cache &&
		mount --bind "$2" /var/lib/nhi || exit 125
		shift 2
		exec "$@"' nss-ns "$dir" "$cache_dir" "$@"
}

# nss_broker_setup REGION [CONFIG]: a broker (broker_setup) whose uid range
# is ten ids at a random hundred in REGION, left in base, with CONFIG added
# to its [nss] section; base + 50 is free too, for an explicit gid. The
# built module ($MODULE) is copied to MODDIR, ready for nss_namespace_run.
nss_broker_setup()
{
	local region=$1 extra=${2:-} id
	base=$((region + (RANDOM % 5000) * 100))
	for id in $(seq "$base" $((base + 9))) $((base + 50)); do
		getent passwd "$id" >/dev/null || getent group "$id" >/dev/null &&
			bail_out "id $id in use"
	done
	broker_setup "$(printf '[nss]\nuid_min = %s\nuid_max = %s\n%s' "$base" $((base + 9)) \
		"${extra:+$extra$'\n'}")"
	MODDIR=$NHI_TMP/module
	mkdir -p "$MODDIR" && cp "$MODULE" "$MODDIR/libnss_nhi.so.2"
	nss_namespace_prepare "$MODDIR" || bail_out "cannot prepare the NSS namespace"
}
