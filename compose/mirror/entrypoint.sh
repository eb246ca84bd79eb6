#!/bin/sh
# One entrypoint, three roles:
# - SITE=<name>: serve a copy of /fixtures/site/<name> (scenarios may change the copy; the fixture never is), with
#   a large file of LARGE_KB KiB at /files/big.bin;
# - VIEWER=1: serve /srv/mirror (read-only) on the loopback, for the headless browser;
# - neither: a client, nothing to start.
# Readiness is a file: /run/opslab-ready appears once nginx listens (`nginx` returns after it opened its socket).
set -e
mkdir -p /etc/nginx/faults
if [ -n "${SITE:-}" ]; then
  rm -rf /srv/www && cp -a "/fixtures/site/$SITE" /srv/www
  if [ -n "${LARGE_KB:-}" ]; then
    mkdir -p /srv/www/files && head -c "$((LARGE_KB * 1024))" /dev/urandom > /srv/www/files/big.bin
  fi
  chmod -R a+rX /srv/www
  : > /var/log/nginx/access.log
  nginx
elif [ "${VIEWER:-}" = 1 ]; then
  nginx -c /etc/nginx/viewer.conf
fi
touch /run/opslab-ready
exec "$@"
