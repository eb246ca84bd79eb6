#!/usr/bin/python3
"""The lab's application: writes to the master without pause and logs every write the server acknowledged.

Each write is one autocommit statement, chosen in turn:
  insert  documents    a new row whose token is w<seq> (blob body, NULL title every ninth time)
  insert  order_lines  a new order (<seq> + 1,000,000, line 1; NULL comment every fourth time)
  update  accounts     one of the first 500 accounts: version = <seq>
One line per write, flushed as soon as the server answered (tab separated):
  <unix time of the answer>  ok|err  <table>  <key>  <value>  [error]
`ok` lines are acknowledged writes: each must be on every slave exactly once (for updates: the last version
acknowledged per key is the one every slave holds). SIGTERM ends the loop after the write in flight.
"""

import argparse
import os
import random
import signal
import sys
import time

import pymysql

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pause", type=float, default=0.005, help="seconds between writes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=1, help="number of the first write (keys are made from it)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    rnd = random.Random(args.seed)
    log = open(args.log, "a", buffering=1)
    conn = None
    seq = args.first - 1
    while not stop:
        seq += 1
        kind = seq % 3
        try:
            if conn is None:
                conn = pymysql.connect(host=args.host, user="app", password="app", database="shop",
                                       autocommit=True, connect_timeout=5)
            with conn.cursor() as cur:
                if kind == 0:
                    token = f"w{seq:015d}"
                    title = None if seq % 9 == 0 else f"written {seq}"
                    cur.execute("INSERT INTO documents (token, title, body) VALUES (%s, %s, %s)",
                                (token, title, os.urandom(64 + seq % 64)))
                    table, key, value = "documents", token, str(cur.lastrowid)
                elif kind == 1:
                    order = 1_000_000 + seq
                    cur.execute("INSERT INTO order_lines (order_id, line_no, sku, qty, comment) "
                                "VALUES (%s, 1, %s, %s, %s)",
                                (order, f"W{seq % 10000:05d}", 1 + seq % 5, None if seq % 4 == 0 else f"w {seq}"))
                    table, key, value = "order_lines", f"{order},1", str(1 + seq % 5)
                else:
                    account = rnd.randint(1, 500)
                    cur.execute("UPDATE accounts SET version = %s, balance = balance + 1 WHERE id = %s",
                                (seq, account))
                    table, key, value = "accounts", str(account), str(seq)
            log.write(f"{time.time():.6f}\tok\t{table}\t{key}\t{value}\n")
        except pymysql.MySQLError as exc:
            log.write(f"{time.time():.6f}\terr\t-\t-\t{seq}\t{exc}\n")
            try:
                conn and conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.2)
        if args.pause:
            time.sleep(args.pause)
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
