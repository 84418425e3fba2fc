#!/usr/bin/env bash
# Installs everything needed to build and test nhi on Debian 12: compilers
# and autotools, the libraries libnhi links, Criterion, a real OpenSSH for
# the integration tests, pamtester and the cwrap preload libraries.
#
# Idempotent: when every package is already installed it changes nothing
# and needs no network. Run as root, or as a user with sudo.
#
# Installing openssh-server may start the system's own sshd on port 22;
# that is harmless: the tests run their own sshd on a free loopback port.
set -euo pipefail

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	clang libclang-rt-14-dev
	libpam0g-dev libssh-dev libssl-dev libsodium-dev libsqlite3-dev sqlite3
	libcriterion-dev libinih-dev libsystemd-dev
	openssh-server openssh-client pamtester sudo passwd
	libpam-wrapper libnss-wrapper libuid-wrapper libpamtest0-dev
	iproute2 ca-certificates procps
	libjansson-dev
	strace
	# Bench only (bench/nss.sh): the peers nss_nhi is measured against.
	libnss-db libnss-cache
)

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "deps.sh: run as root, or install sudo" >&2
	exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}"
