#!/bin/sh
# Starts one host of the mysql lab from its environment:
#   ROLE=master|slave|writer, SERVER_ID, MASTER_HOST (slaves), LOG_BIN (binlog base name, "" for none).
# A server runs sshd and mariadbd; a slave, once the server answers, starts replicating from the
# master's first binary log (the image's datadir already holds the seed, identical on every server).
# Readiness is a file: /run/opslab-ready appears when the host can do its job.
set -e
if [ "$ROLE" = writer ]; then
  touch /run/opslab-ready
  exec sleep infinity
fi
{
  echo "[mariadbd]"
  echo "server_id = ${SERVER_ID:?}"
  [ -n "$LOG_BIN" ] && echo "log_bin = $LOG_BIN"
  [ "$ROLE" = slave ] && echo "skip_slave_start"
  true
} > /etc/mysql/mariadb.conf.d/70-host.cnf
install -d -o mysql -g mysql /run/mysqld
/usr/sbin/sshd  # the seed runbook copies its dump from host to host with scp
mariadbd --user=mysql &
pid=$!
trap 'kill -TERM $pid; wait $pid' TERM INT
until mariadb-admin ping >/dev/null 2>&1; do
  kill -0 $pid || exit 1
  sleep 0.05
done
if [ "$ROLE" = slave ]; then
  mariadb -e "CHANGE MASTER TO master_host='$MASTER_HOST', master_user='repl', master_password='repl',
              master_log_file='mysql-bin.000001', master_log_pos=4, master_connect_retry=1; START SLAVE;"
fi
touch /run/opslab-ready
wait $pid
