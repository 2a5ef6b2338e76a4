#!/bin/bash
# imapd_compare.sh - imapd side by side with Debian's Dovecot imapd on the
# same BENCH_IMAP_MESSAGES-message Maildir (default 100000): login and
# SELECT, FETCH 1:* (UID FLAGS), FETCH 1:* ENVELOPE, SEARCH BODY of a word,
# APPEND rate (BENCH_IMAP_APPENDS, default 1000), and memory per idle
# connection with BENCH_IMAP_IDLERS (default 1000) sessions in IDLE. Each
# server runs the rows twice (the first builds its index and cache); the
# second run is compared. A private instance (authd with a passwd-file,
# imapd) and a private Dovecot in a temp dir. Prints figures and ratios
# (mailroom/dovecot; below 1 is better for mailroom); asserts nothing.
set -u
export MAILROOM_BIN="${MAILROOM_BUILD:?}/bin"
source "${MAILROOM_SRC:?}/tests/integration/mr_instance.sh"
N=${BENCH_IMAP_MESSAGES:-100000}
APPENDS=${BENCH_IMAP_APPENDS:-1000}
IDLERS=${BENCH_IMAP_IDLERS:-1000}
mr_setup
P=$(mr_free_port)
if [ "$(id -u)" -eq 0 ]; then OWNER=nobody; else OWNER=$(id -un); fi
cat >>"$CONF/main.cf" <<EOF2
authd_modules = passwd-file:$T/users
auth_failure_delay = 0
mail_max_userip_connections = 0
EOF2
{
    echo "authd     unix  -       -       n       -       -       authd"
    echo "127.0.0.1:$P inet n - n - $((IDLERS + 20)) imapd"
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
    word = "needle" if i % 1000 == 7 else "hay"
    text = ("From: Sender %d <a%d@example.com>\nTo: bench@example.com\nSubject: message %d\n"
            "Date: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <%d@example.com>\n\n%s%s\n" % (i, i, i, i, body, word))
    name = "%d.M%dP1Q%d.bench,S=%d:2,%s" % (1700000000 + i, i, i, len(text), "S" if i % 3 else "")
    with open(os.path.join(md, "cur", name), "w") as f:
        f.write(text)
PY
chown -R "$OWNER" "$T/home"
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true
"$MR" -c "$CONF" start >/dev/null || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"
PD=
if command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ]; then
    PD=$(mr_free_port)
    GROUP=$(id -gn "$OWNER")
    cat >"$T/dovecot.conf" <<EOF2
base_dir = $T/dovecot-run
state_dir = $T/dovecot-state
log_path = $T/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_max_userip_connections = 0
default_internal_user = $OWNER
default_internal_group = $GROUP
default_login_user = $OWNER
default_client_limit = $((IDLERS + 100))
default_process_limit = $((IDLERS + 100))
first_valid_uid = 1
service imap-login {
  inet_listener imap {
    port = $PD
  }
  chroot =
}
service anvil {
  chroot =
}
passdb {
  driver = passwd-file
  args = $T/users
}
userdb {
  driver = passwd-file
  args = $T/users
}
EOF2
    dovecot -F -c "$T/dovecot.conf" &
    DOVECOT_PID=$!
    trap 'kill $DOVECOT_PID 2>/dev/null; mr_cleanup' EXIT
    mr_wait_for "dovecot listening" python3 -c "import socket; socket.create_connection(('127.0.0.1', $PD))"
fi
python3 - "$P" "$CONF" "${PD:-0}" "$APPENDS" "$IDLERS" <<'PY'
import imaplib, subprocess, sys, time
port, conf, dport, appends, idlers = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def rss_total(names, marker):
    total = 0
    for name in names:
        for p in subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split():
            try:
                if marker and marker.encode() not in open("/proc/%s/cmdline" % p, "rb").read():
                    continue
                total += sum(int(l.split()[1]) for l in open("/proc/%s/status" % p) if l.startswith("VmRSS"))
            except OSError:
                pass
    return total

def timed(f):
    t0 = time.monotonic()
    r = f()
    return time.monotonic() - t0, r

def rows(port):
    out = {}
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login("bench", "bench")
    out["SELECT"], _ = timed(lambda: c.select("INBOX"))
    out["FETCH 1:* (UID FLAGS)"], _ = timed(lambda: c.fetch("1:*", "(UID FLAGS)"))
    out["FETCH 1:* ENVELOPE"], _ = timed(lambda: c.fetch("1:*", "(ENVELOPE)"))
    out["SEARCH BODY needle"], _ = timed(lambda: c.search(None, "BODY", "needle"))
    msg = b"From: a@example.com\r\nSubject: appended\r\n\r\nbody\r\n"
    t, _ = timed(lambda: [c.append("INBOX", None, None, msg) for _ in range(appends)])
    out["APPEND (per second)"] = appends / t
    c.logout()
    return out

def idle_memory(port, names, marker):
    base = rss_total(names, marker)
    conns = []
    for _ in range(idlers):
        c = imaplib.IMAP4("127.0.0.1", port)
        c.login("bench", "bench")
        c.select("INBOX")
        tag = c._new_tag()
        c.send(tag + b" IDLE\r\n")
        c.readline()
        conns.append(c)
    time.sleep(1)
    used = rss_total(names, marker) - base
    for c in conns:
        c.shutdown()
    return used / max(idlers, 1)

servers = [("mailroom", port, ["imapd"], conf)]
if dport:
    servers.append(("dovecot", dport, ["imap", "imap-login"], None))
results = {}
for label, p, names, marker in servers:
    first = rows(p)
    second = rows(p)
    second["kB per IDLE session"] = idle_memory(p, names, marker)
    results[label] = second
    for k, v in first.items():
        print("%-10s first  %-24s %10.3f" % (label, k, v))
    for k, v in second.items():
        print("%-10s second %-24s %10.3f" % (label, k, v))
if "dovecot" in results:
    print("ratios mailroom/dovecot (times and memory: below 1 is better; APPEND rate: above 1 is better):")
    for k in results["mailroom"]:
        print("  %-24s %6.2f" % (k, results["mailroom"][k] / max(results["dovecot"][k], 1e-9)))
else:
    print("dovecot imapd: not installed, no comparison")
PY
