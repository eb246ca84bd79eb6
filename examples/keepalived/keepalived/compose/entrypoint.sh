#!/bin/sh
# A balancer (ROLE=balancer) serves its name on port 80 (busybox httpd) and runs keepalived with the VRRP settings
# from the environment (log: /var/log/keepalived.log, pid: /run/keepalived.pid); a client (ROLE=client) only
# waits. The host is ready (/run/opslab-ready) once its programs run.
set -e
if [ "$ROLE" = balancer ]; then
  mkdir -p /srv/www && hostname > /srv/www/index.html
  busybox httpd -p 80 -h /srv/www
  sed -e "s/@NAME@/$(hostname)/" -e "s/@STATE@/$STATE/" -e "s/@PRIORITY@/$PRIORITY/" \
      -e "s/@ADVERT_INT@/$ADVERT_INT/" -e "s/@VIP@/$VIP/" \
      /etc/keepalived/keepalived.conf.in > /etc/keepalived/keepalived.conf
  keepalived --dont-fork --log-console --log-detail --pid=/run/keepalived.pid \
      -f /etc/keepalived/keepalived.conf > /var/log/keepalived.log 2>&1 &
  until [ -s /run/keepalived.pid ]; do sleep 0.1; done
fi
touch /run/opslab-ready
exec "$@"
