#!/bin/sh
# Runs a Criterion test binary with its results as TAP on stdout, for
# automake's TAP driver.
exec "$@" --tap=-
