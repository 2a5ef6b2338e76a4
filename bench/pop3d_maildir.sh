#!/bin/bash
# pop3d_maildir.sh - one POP3 session doing LIST, UIDL and RETR of every
# message of a BENCH_POP3_MESSAGES-message Maildir (default 10000), twice:
# the first login builds dovecot-uidlist, the second reads it. Prints the
# seconds of each phase and the resident memory of the process serving the
# session's mail (and of the login process) during the session.
# A private instance (authd with a passwd-file, one pop3d) in a temp dir.
# With Dovecot installed, the same sessions against Dovecot's pop3d on the
# same Maildir (after pop3d: Dovecot reads pop3d's UID list), the ratios,
# and whether both give the same UIDLs; then BENCH_POP3_ROUNDS (default 3)
# more sessions of each, alternating, and the ratio of their summed times.
# Prints figures only.
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
# Dovecot's pop3d on the same Maildir, when installed (scripts/install-deps).
PD=
if command -v dovecot >/dev/null 2>&1; then
    PD=$(mr_free_port)
    GROUP=$(id -gn "$OWNER")
    cat >"$T/dovecot.conf" <<EOF2
base_dir = $T/dovecot-run
state_dir = $T/dovecot-state
log_path = $T/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
default_internal_user = $OWNER
default_internal_group = $GROUP
default_login_user = $OWNER
first_valid_uid = 1
service pop3-login {
  inet_listener pop3 {
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
/usr/bin/python3 - "$P" "$CONF" "$PD" "${BENCH_POP3_ROUNDS:-3}" <<'PY'
import poplib, subprocess, sys, time
port, conf, dport, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

def procs(name, marker):
    """{pid: (ppid, VmRSS kB)} of the processes called `name` (with `marker` in their command line)."""
    out = {}
    for p in subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split():
        try:
            if marker is not None and marker.encode() not in open("/proc/%s/cmdline" % p, "rb").read():
                continue
            st = dict(l.split(":", 1) for l in open("/proc/%s/status" % p))
        except OSError:
            continue
        out[p] = (st["PPid"].strip(), int(st.get("VmRSS", "0 kB").split()[0]))
    return out

def rss_of(name, marker, login_name):
    """(mail process RSS, login process RSS) in kB: the process that serves the
    session's mail, and the one that took the login. pop3d's mail process is
    the child of the broker, itself a child of the login process; Dovecot's
    is its "pop3" process, its login process "pop3-login"."""
    ps = procs(name, marker)
    if login_name is None:
        mail = [r for p, (pp, r) in ps.items() if pp in ps and ps[pp][0] in ps]
        login = [r for p, (pp, r) in ps.items() if pp not in ps]
    else:
        mail = [r for _, r in ps.values()]
        login = [r for _, r in procs(login_name, None).values()]
    return max(mail, default=0), max(login, default=0)

def session(label, port, proc, marker, login_name):
    t0 = time.monotonic()
    c = poplib.POP3("127.0.0.1", port)
    c.user("bench"); c.pass_("bench")
    t1 = time.monotonic()
    n = len(c.list()[1]); t2 = time.monotonic()
    uidls = c.uidl()[1]; t3 = time.monotonic()
    size = 0
    for i in range(1, n + 1):
        size += c.retr(i)[2]
    t4 = time.monotonic()
    rss, login_rss = rss_of(proc, marker, login_name)
    c.quit()
    print("%s: %d messages, %d bytes: login+open %.3fs, LIST %.3fs, UIDL %.3fs, RETR all %.3fs (%.0f msg/s); "
          "mail process RSS %d kB (login process %s)"
          % (label, n, size, t1 - t0, t2 - t1, t3 - t2, t4 - t3, n / (t4 - t3), rss,
             "%d kB" % login_rss if login_rss else "none left"))
    return t4 - t0, rss, uidls

ours1 = session("pop3d, first session (builds dovecot-uidlist)", port, "pop3d", conf, None)
ours = session("pop3d, second session", port, "pop3d", conf, None)
if dport:
    dove1 = session("dovecot, first session (builds its index)", int(dport), "pop3", None, "pop3-login")
    dove = session("dovecot, second session", int(dport), "pop3", None, "pop3-login")
    if ours[2] != dove[2]:
        print("first UIDLs: pop3d %s, dovecot %s" % (ours[2][:2], dove[2][:2]))
    print("time pop3d/dovecot: %.2f; mail process memory pop3d/dovecot: %.2f; UIDLs identical: %s"
          % (ours[0] / dove[0], ours[1] / max(dove[1], 1), ours[2] == dove[2]))
    # One pair of sessions on a busy machine says little: more, alternating.
    tp, td = [ours[0]], [dove[0]]
    for k in range(rounds):
        tp.append(session("pop3d, round %d" % (k + 1), port, "pop3d", conf, None)[0])
        td.append(session("dovecot, round %d" % (k + 1), int(dport), "pop3", None, "pop3-login")[0])
    print("whole sessions, pop3d: %s; dovecot: %s; time pop3d/dovecot over all of them: %.2f"
          % (" ".join("%.2f" % t for t in tp), " ".join("%.2f" % t for t in td), sum(tp) / sum(td)))
else:
    print("dovecot: not installed, no comparison")
PY
