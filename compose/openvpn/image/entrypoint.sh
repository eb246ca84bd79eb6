#!/bin/sh
# Adds the lab's static routes (ROUTES="net via gw;net via gw"), then runs the container's command.
# Readiness is a file: /run/opslab-ready appears once the routes are in place.
set -e
IFS=';'
for r in ${ROUTES:-}; do
  [ -n "$r" ] && eval "ip route replace $r"
done
unset IFS
touch /run/opslab-ready
exec "$@"
