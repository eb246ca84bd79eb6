-- The mysql lab's seed: accounts (integer key, text, NULLs), order_lines (composite key), documents (blobs,
-- auto-increment key), about 35,000 rows generated with MariaDB's Sequence engine (seq_1_to_N), so the image
-- needs no data file and a dump takes a second or two. Users: root (password root) from anywhere, repl for
-- replication, app for the writer.
ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('root');
CREATE USER root@'%' IDENTIFIED BY 'root';
GRANT ALL ON *.* TO root@'%' WITH GRANT OPTION;
CREATE USER repl@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO repl@'%';
CREATE USER app@'%' IDENTIFIED BY 'app';
CREATE DATABASE shop;
GRANT ALL ON shop.* TO app@'%';
USE shop;
CREATE TABLE accounts (
  id INT NOT NULL PRIMARY KEY,
  owner VARCHAR(64) NOT NULL,
  balance DECIMAL(12,2) NOT NULL,
  note TEXT NULL,
  version INT NOT NULL DEFAULT 0
) ENGINE=InnoDB;
INSERT INTO accounts
  SELECT seq, CONCAT('owner-', seq), (seq * 37 % 100000) / 100,
         IF(seq % 7 = 0, NULL, REPEAT(CONCAT('note ', seq, ' '), 1 + seq % 4)), 0
  FROM seq_1_to_10000;
CREATE TABLE order_lines (
  order_id INT NOT NULL,
  line_no SMALLINT NOT NULL,
  sku VARCHAR(16) NOT NULL,
  qty INT NOT NULL,
  comment TEXT NULL,
  PRIMARY KEY (order_id, line_no)
) ENGINE=InnoDB;
INSERT INTO order_lines
  SELECT 1 + (seq - 1) DIV 3, 1 + (seq - 1) % 3, CONCAT('SKU', LPAD(seq % 997, 5, '0')), 1 + seq % 9,
         IF(seq % 5 = 0, NULL, CONCAT('line ', seq, ' of order ', 1 + (seq - 1) DIV 3))
  FROM seq_1_to_15000;
CREATE TABLE documents (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  token CHAR(16) NOT NULL,
  title VARCHAR(100) NULL,
  body BLOB NOT NULL,
  KEY (token)
) ENGINE=InnoDB;
INSERT INTO documents (id, token, title, body)
  SELECT seq, LPAD(HEX(seq), 16, '0'), IF(seq % 3 = 0, NULL, CONCAT('document ', seq)), UNHEX(REPEAT(MD5(seq), 8))
  FROM seq_1_to_10000;
