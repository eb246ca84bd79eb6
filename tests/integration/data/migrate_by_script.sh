#!/bin/sh
# A user's own migration, as automation would do it: docker exec into the lab's hosts, then a gratuitous ARP.
set -eu
docker exec "$OPSLAB_HOST_OLD" ip addr del "$OPSLAB_VIP/$OPSLAB_PREFIX" dev eth0
docker exec "$OPSLAB_HOST_NEW" ip addr add "$OPSLAB_VIP/$OPSLAB_PREFIX" dev eth0
docker exec "$OPSLAB_HOST_NEW" arping -q -s "$OPSLAB_VIP" -c1 -U "$OPSLAB_GATEWAY_IP"
