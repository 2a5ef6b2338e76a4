#!/bin/bash
# authd_mysql.sh - authentications per second through authd's socket, for
# MySQL users (the seed's authmysqlrc against a private MariaDB), uncached
# (auth_cache_size = 0: one query per request) and cached (the user's
# record kept by authd, no query), with MD5-crypt passwords so that the
# figures show authd and MySQL rather than the hash. Each request is its own
# connection, as courier's clients make them (AUTH login, then the reply).
# BENCH_AUTHS (default 2000) requests per run from 4 client threads.
# Prints figures only.
set -u
export MAILROOM_BIN="${MAILROOM_BUILD:?}/bin"
source "${MAILROOM_SRC:?}/tests/integration/mr_instance.sh"
source "$MAILROOM_SRC/tests/integration/authd_common.sh"
N=${BENCH_AUTHS:-2000}
USERS=50
mr_setup
ad_start_mariadb
PW=bench-pw
HASH=$(openssl passwd -1 "$PW")
ROWS=""
for i in $(seq 1 $USERS); do
    ROWS="$ROWS('u$i@bench.test', '$HASH', 'User $i', 'bench.test/u$i'),"
done
ad_load_extmail "${ROWS%,}"
sed -e "s|^MYSQL_SOCKET .*|MYSQL_SOCKET  $SOCK|" "$MAILROOM_SRC/tests/data/auth/authmysqlrc.seed" >"$CONF/authmysqlrc"
cat >>"$CONF/main.cf" <<EOF2
authd_modules = mysql:$CONF/authmysqlrc
auth_cache_size = 0
EOF2
{
    echo "authd     unix  -       -       n       -       1       authd"
    echo "$T/cached unix  -       -       n       -       1       authd -o auth_cache_size=10000000"
} >"$CONF/master.cf"
"$MR" -c "$CONF" start >/dev/null || mr_fail "start failed"

/usr/bin/python3 - "$Q/private/authd" "$T/cached" "$N" "$USERS" "$PW" <<'PY'
import socket, sys, threading, time
uncached, cached, n, users, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def auth(path, user):
    body = f"smtp\nlogin\n{user}\n{pw}\n"
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(f"AUTH {len(body)}\n{body}".encode())
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.endswith(b".\n")

def run(path, label):
    per = n // 4
    failures = [0]
    def worker(k):
        for i in range(per):
            if not auth(path, f"u{(k * per + i) % users + 1}@bench.test"):
                failures[0] += 1
    auth(path, "u1@bench.test")  # the process and its connection exist
    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    dt = time.time() - t0
    print(f"  {label}: {per * 4} AUTH requests in {dt:.2f}s: {per * 4 / dt:.0f} authentications/second"
          + (f" ({failures[0]} failed)" if failures[0] else ""))

run(uncached, "uncached MySQL users (auth_cache_size = 0)")
for k in range(1, users + 1):
    auth(cached, f"u{k}@bench.test")  # fill the cache
run(cached, "cached MySQL users (auth_cache_size = 10000000)")
PY
