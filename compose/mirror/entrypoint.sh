#!/bin/sh
# SITE=<name>: serve a copy of /fixtures/site/<name> (the copy may be changed by scenarios; the fixture never is),
# with a large file of LARGE_KB KiB at /files/big.bin. No SITE: a client, nothing to start.
# Readiness is a file: /run/opslab-ready appears once nginx listens.
set -e
mkdir -p /etc/nginx/faults
if [ -n "${SITE:-}" ]; then
  rm -rf /srv/www && cp -a "/fixtures/site/$SITE" /srv/www
  if [ -n "${LARGE_KB:-}" ]; then
    mkdir -p /srv/www/files && head -c "$((LARGE_KB * 1024))" /dev/urandom > /srv/www/files/big.bin
  fi
  chmod -R a+rX /srv/www
  : > /var/log/nginx/access.log
  nginx  # returns once the listening socket is open
fi
touch /run/opslab-ready
exec "$@"
