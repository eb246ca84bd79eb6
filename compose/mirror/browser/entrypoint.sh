#!/bin/sh
# Starts nginx on the loopback; /run/opslab-ready appears once it answers.
set -e
nginx
until python3 -c 'import urllib.request as u; u.urlopen("http://127.0.0.1/", timeout=1)' 2>&1 | grep -q "404\|403" ; do
  sleep 0.1
done
touch /run/opslab-ready
exec "$@"
