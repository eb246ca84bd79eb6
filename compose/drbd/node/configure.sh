#!/bin/sh
# Writes the node's configuration from the lab's addresses (VIP, ALPHA_REPL_IP, BETA_REPL_IP: compose.yaml's
# x-addresses, the one place they are written) and timers.
set -e
: "${VIP:?}" "${ALPHA_REPL_IP:?}" "${BETA_REPL_IP:?}"
peer_repl_ip=$ALPHA_REPL_IP; [ "$(hostname)" = alpha ] && peer_repl_ip=$BETA_REPL_IP
mkdir -p /etc/drbd.d /etc/ha.d
echo "$VIP" > /etc/opslab-vip
cat > /etc/drbd.d/r0.res <<RES
resource r0 {
  protocol C;
  net  { after-sb-0pri discard-zero-changes; after-sb-1pri discard-secondary; after-sb-2pri disconnect;
         ping-int 1; ping-timeout 5; timeout 20; }
  disk { resync-rate ${RESYNC_RATE:-4M}; al-extents 67; }
  sim  { size ${VOLUME_SIZE:-4M}; block-size 4096; }
  on alpha { disk /var/lib/drbd/r0.img; address ${ALPHA_REPL_IP}:7789;
             sim { control /run/drbd-sim/r0.sock; log /var/log/drbd-r0.log; } }
  on beta  { disk /var/lib/drbd/r0.img; address ${BETA_REPL_IP}:7789;
             sim { control /run/drbd-sim/r0.sock; log /var/log/drbd-r0.log; } }
}
RES
cat > /etc/ha.d/ha.cf <<CF
logfile /var/log/ha-log
logfacility none
use_logd no
keepalive ${HB_KEEPALIVE:-250ms}
warntime ${HB_WARNTIME:-1}
deadtime ${HB_DEADTIME:-2}
initdead ${HB_INITDEAD:-4}
udpport 694
ucast eth1 ${peer_repl_ip}
auto_failback off
node alpha
node beta
CF
echo "alpha drbddisk::r0 IPaddr2::${VIP}/24/eth0 recordd" > /etc/ha.d/haresources
printf 'auth 1\n1 sha1 opslab-drbd-lab\n' > /etc/ha.d/authkeys
chmod 600 /etc/ha.d/authkeys
