#!/bin/sh
# start|stop|status of heartbeat, as the init script does it: start daemonizes; stop asks the running heartbeat
# to shut down (it gives its resources up first, so the peer takes them over).
hb=/usr/libexec/heartbeat/heartbeat
case "$1" in
  start) mkdir -p /run/heartbeat; exec $hb ;;
  stop) $hb -k; i=0; while pgrep -x heartbeat >/dev/null; do i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.1; done ;;
  status) exec $hb -s ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
