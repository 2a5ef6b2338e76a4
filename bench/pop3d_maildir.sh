#!/bin/bash
# pop3d_maildir.sh - one POP3 session doing LIST, UIDL and RETR of every
# message of a BENCH_POP3_MESSAGES-message Maildir (default 10000), twice:
# the first login builds dovecot-uidlist, the second reads it. Prints the
# seconds of each phase and pop3d's resident memory during the session.
# A private instance (authd with a passwd-file, one pop3d) in a temp dir.
# Prints figures only. Not yet: the same run against Dovecot's pop3d.
set -u
export MAILROOM_BIN="${MAILROOM_BUILD:?}/bin"
source "${MAILROOM_SRC:?}/tests/integration/mr_instance.sh"
N=${BENCH_POP3_MESSAGES:-10000}
mr_setup
P=$(mr_free_port)
if [ "$(id -u)" -eq 0 ]; then OWNER=nobody; else OWNER=$(id -un); fi
cat >>"$CONF/main.cf" <<EOF2
authd_modules = passwd-file:$T/users
auth_failure_delay = 0
EOF2
{
    echo "authd     unix  -       -       n       -       -       authd"
    echo "127.0.0.1:$P inet n - n - - pop3d"
} >"$CONF/master.cf"
echo "bench:{PLAIN}bench:$(id -u "$OWNER"):$(id -g "$OWNER")::$T/home::" >"$T/users"
chmod 644 "$T/users"
/usr/bin/python3 - "$T/home/Maildir" "$N" <<'PY'
import os, sys
md, n = sys.argv[1], int(sys.argv[2])
for d in ("new", "cur", "tmp"):
    os.makedirs(os.path.join(md, d), exist_ok=True)
body = "".join("line %d of a typical message body, some words to fill it\n" % i for i in range(40))
for i in range(n):
    text = "From: a@example.com\nTo: bench@example.com\nSubject: message %d\n\n%s" % (i, body)
    name = "%d.M%dP1Q%d.bench,S=%d:2,S" % (1700000000 + i, i, i, len(text))
    with open(os.path.join(md, "cur", name), "w") as f:
        f.write(text)
PY
chown -R "$OWNER" "$T/home"
"$MR" -c "$CONF" start >/dev/null || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"
for run in 1 2; do
    /usr/bin/python3 - "$P" "$run" "$CONF" <<'PY'
import os, poplib, subprocess, sys, time
port, run, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3]
t0 = time.monotonic()
c = poplib.POP3("127.0.0.1", port)
c.user("bench"); c.pass_("bench")
t1 = time.monotonic()
n = len(c.list()[1]); t2 = time.monotonic()
c.uidl(); t3 = time.monotonic()
size = 0
for i in range(1, n + 1):
    size += c.retr(i)[2]
t4 = time.monotonic()
pids = [p for p in subprocess.run(["pgrep", "-x", "pop3d"], capture_output=True, text=True).stdout.split()
        if conf.encode() in open("/proc/%s/cmdline" % p, "rb").read()]
rss = max((int(l.split()[1]) for p in pids for l in open("/proc/%s/status" % p) if l.startswith("VmRSS")), default=0)
c.quit()
print("run %s: %d messages, %d bytes: login+open %.3fs, LIST %.3fs, UIDL %.3fs, RETR all %.3fs (%.0f msg/s); pop3d RSS %d kB"
      % (run, n, size, t1 - t0, t2 - t1, t3 - t2, t4 - t3, n / (t4 - t3), rss))
PY
done
