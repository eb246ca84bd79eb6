#!/bin/sh
# A drbd-lab host boots. ROLE=client: nothing to start. ROLE=node (alpha, beta): this container is a node's new
# hardware around its old disk (the named volume at /var/lib/drbd):
#   - a new NIC: the first start of a container gives eth0 a new random MAC (Docker 20.10 derives MACs from IPs,
#     so a recreated container would otherwise keep the old one);
#   - /var/lib/drbd/.unplug-replication-link (left by the lab's fault) = the replication cable is not plugged
#     in: everything on eth1 is dropped (nftables) until the fault heals;
#   - the node's init: /etc/drbd.d/r0.res, ha.cf, haresources and authkeys written from the lab's addresses,
#     the block digests of the disk as it boots (/var/lib/drbd/.boot-digests.json, for the judges),
#     `drbdadm up r0`, and heartbeat started when /var/lib/drbd/.heartbeat-enabled exists (the lab's setup
#     creates it once the volume had its first sync: `update-rc.d heartbeat enable`, kept on the disk).
# The container's output is the node's logs (heartbeat, drbd), so they land in the lab's report.
set -e
if [ "${ROLE:-node}" = client ]; then
  touch /run/opslab-ready
  exec "$@"
fi
# a restarted machine (after a crash) keeps its files but none of its processes
rm -rf /run/heartbeat /run/drbd-sim /run/recordd.pid /run/heartbeat.pid /run/opslab-ready
if [ ! -f /etc/opslab-nic ]; then
  mac=$(od -An -N5 -tx1 /dev/urandom | tr -s ' ' ':' | sed 's/^:/02:/')
  # changed while the link is up (a veth allows it): `ip link set eth0 down` would flush every route through
  # eth0, Docker's default route with them, and with no route out Docker's embedded DNS (which forwards what it
  # does not know from this container's namespace) fails every forward, so each lookup of an unknown name or
  # address (a reverse lookup of the floating IP) hung for the resolver's full 10 s
  ip link set eth0 address "$mac"
  echo "$mac" > /etc/opslab-nic
fi
if [ -f /var/lib/drbd/.unplug-replication-link ]; then
  nft -f - <<NFT
table inet opslab_unplugged {
  chain in { type filter hook input priority 0; iifname "eth1" drop; }
  chain out { type filter hook output priority 0; oifname "eth1" drop; }
}
NFT
fi
/opt/opslab/node/configure.sh
mkdir -p /run/heartbeat /run/drbd-sim /var/lib/drbd
touch /var/log/ha-log /var/log/drbd-r0.log
# what the disk holds as the node boots, before DRBD touches it: the judges compare it with the disk after its
# resync (scenarios/drbd/checks.py, ResyncMovedOnlyChangedBlocks)
python3 /opt/opslab/node/digests.py > /var/lib/drbd/.boot-digests.json || rm -f /var/lib/drbd/.boot-digests.json
drbdadm up r0
if [ -f /var/lib/drbd/.heartbeat-enabled ]; then
  /opt/opslab/node/heartbeat.sh start
fi
touch /run/opslab-ready
exec tail -n +1 -F /var/log/ha-log /var/log/drbd-r0.log
