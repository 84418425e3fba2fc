#!/bin/sh
# Regenerates the build system. automake ships the TAP driver but does not
# install it, so take it from the automake in use.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi
am_dir=$(automake --print-libdir)
cp -f "$am_dir/tap-driver.sh" build-aux/tap-driver.sh
