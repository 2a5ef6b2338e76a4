#!/bin/bash
# pop3d_users.sh - pop3d's logins of the seed's users and its per-user mail
# processes, with real parts: a private MariaDB holding an extmail-schema
# user, authd reading the seed's authmysqlrc (paths and uid changed only),
# and Python poplib:
#   - the MySQL user logs in over POP3 (USER/PASS and AUTH PLAIN), reads
#     its Maildir (STAT, LIST, RETR, UIDL), deletes a message at QUIT;
#   - a message larger than what pop3d reads whole comes out intact
#     (RETR, TOP);
#   - commands pipelined behind PASS are answered by the mail process;
#   - two sessions of users sharing a uid are served by one mail process,
#     the login process by neither;
#   - "mailroom stop" ends a session held in a mail process, and leaves no
#     process behind;
#   - as root (the uid checks are skipped otherwise, with the reason):
#     the mail process runs as the uid/gid authd gives (a user of its own),
#     the files the session creates (dovecot-uidlist, the session lock)
#     belong to that uid, as do the moved cur/ file and maildirsize, and a user whose uid is 0 is
#     refused without a mail process.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/authd_common.sh"
mr_enter_netns "$@"
mr_require_programs master pop3d authd mailroom
mr_require_commands openssl
SEED_RC="$MAILROOM_SRC/tests/data/auth/authmysqlrc.seed"

mr_setup
trap dl_cleanup EXIT
P=$(mr_free_port)
ad_start_mariadb
ad_mail_account mrp
PW='md5-Secret!'
ad_load_extmail "('postmaster@extmail.org', '$(openssl passwd -1 "$PW")', 'Post Master', 'extmail.org/postmaster')," \
    "('jerry@extmail.org', '$(openssl passwd -6 "$PW")', 'Jerry', 'extmail.org/jerry')"
MB="$T/mailbox"
sed -e "s|^MYSQL_SOCKET .*|MYSQL_SOCKET  $SOCK|" -e "s|/var/mailbox/|$MB/|g" \
    -e "s|^MYSQL_UID_FIELD .*|MYSQL_UID_FIELD  '$VUID'|" -e "s|^MYSQL_GID_FIELD .*|MYSQL_GID_FIELD  '$VGID'|" \
    "$SEED_RC" >"$CONF/authmysqlrc"
chmod 600 "$CONF/authmysqlrc"
echo "rootish@example.com:{PLAIN}root-pw:0:0::$T/rootish::userdb_mail=maildir:$T/rootish/Maildir" >"$T/users"
chmod 644 "$T/users"
/usr/bin/python3 - "$MB/extmail.org/postmaster/Maildir" "$MB/extmail.org/jerry/Maildir" <<'PY' || mr_fail "Maildirs"
import os, sys
for md in sys.argv[1:]:
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
for i in (1, 2):
    with open(os.path.join(sys.argv[1], "new", "17000000%02d.M%dP1Q%d.mx" % (i, i, i)), "w") as f:
        f.write("From: a@example.com\nSubject: message %d\n\nbody %d\n" % (i, i))
# A large message (sent piece by piece): dot-stuffed lines, bare LFs.
with open(os.path.join(sys.argv[2], "new", "1700000100.M1P1Q1.mx"), "w") as f:
    f.write("Subject: large\n\n")
    for i in range(20000):
        f.write((".%05d " % i if i % 7 == 0 else "%06d " % i) + "z" * 20 + "\n")
with open(os.path.join(sys.argv[1], "maildirsize"), "w") as f:
    f.write("10000000S\n94 2\n")
PY
chown -R "$VUID:$VGID" "$MB"
chmod -R go-rwx "$MB/extmail.org"  # only the user (and root) can read the mail
cat >>"$CONF/main.cf" <<EOF2
myhostname = mx.example.test
authd_modules = mysql:$CONF/authmysqlrc, passwd-file:$T/users
auth_failure_delay = 0
disable_plaintext_auth = no
EOF2
{
    echo "authd     unix  -       -       n       -       -       authd"
    echo "127.0.0.1:$P inet n - n - 1 pop3d"
    echo "anvil     unix  -       -       n       -       1       anvil"
} >"$CONF/master.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"

/usr/bin/python3 - "$P" "$PW" "$VUID" "$(id -u)" <<'PY' >"$T/client.out" 2>&1 || mr_fail "clients: $(cat "$T/client.out")"
import base64, os, poplib, socket, subprocess, sys
P, PW, VUID, ME = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
socket.setdefaulttimeout(15)

def pop3d_uids():
    """uid of every pop3d process, by pid."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "pop3d": continue
            with open("/proc/%s/status" % pid) as f:
                for l in f:
                    if l.startswith("Uid:"): out[int(pid)] = int(l.split()[1])
        except OSError:
            pass
    return out

c = poplib.POP3("127.0.0.1", P)
c.user("postmaster@extmail.org")
assert c.pass_(PW) == b"+OK Logged in."
assert c.stat() == (2, 2 * 51), c.stat()
assert c.list()[1] == [b"1 51", b"2 51"], c.list()
assert c.retr(1)[1][1] == b"Subject: message 1"
assert len(c.uidl()[1]) == 2
# A second user of the same uid, with AUTH PLAIN, while the first is in.
d = poplib.POP3("127.0.0.1", P)
ir = base64.b64encode(b"\0jerry@extmail.org\0" + PW.encode()).decode()
assert d._shortcmd("AUTH PLAIN " + ir).startswith(b"+OK"), "AUTH PLAIN"
LARGE = [b"Subject: large", b""] + [(b".%05d " % i if i % 7 == 0 else b"%06d " % i) + b"z" * 20
                                    for i in range(20000)]
assert d.stat() == (1, sum(len(l) + 2 for l in LARGE)), d.stat()
resp, lines, octets = d.retr(1)
assert lines == LARGE, "the large message differs"
assert d.top(1, 3)[1] == LARGE[:5]
if ME == 0:
    uids = pop3d_uids()
    mine = [p for p, u in uids.items() if u == VUID]
    assert len(mine) == 1, ("one mail process for the uid", uids)
    assert 0 in uids.values() and VUID != 0, uids  # the broker
d.quit()
c.dele(2)
assert c.quit() == b"+OK Logging out, messages deleted."
# Commands pipelined behind PASS reach the mail process with the session.
s = socket.create_connection(("127.0.0.1", P))
s.sendall(("USER postmaster@extmail.org\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % PW).encode())
got = b""
while True:
    b = s.recv(4096)
    if not b: break
    got += b
lines = got.decode().split("\r\n")
assert lines[1:] == ["+OK", "+OK Logged in.", "+OK 1 51", "+OK Logging out.", ""], lines
if ME == 0:
    r = poplib.POP3("127.0.0.1", P)
    r.user("rootish@example.com")
    try:
        r.pass_("root-pw"); raise SystemExit("a session as uid 0 got in")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [SYS/PERM] "), e
print("ok")
PY

MD="$MB/extmail.org/postmaster/Maildir"
grep -q "^-47 -1$" "$MD/maildirsize" || mr_fail "maildirsize did not shrink: $(cat "$MD/maildirsize")"
SEEN=$(ls "$MD/cur" | grep "^1700000001\.M1P1Q1\.mx:2,") || mr_fail "message 1 not moved to cur/: $(ls -R "$MD")"
[ -z "$(ls "$MD/new")" ] || mr_fail "new/ not emptied: $(ls "$MD/new")"
! ls "$MD"/*/1700000002* >/dev/null 2>&1 || mr_fail "message 2 not deleted"
grep -q "pop3-login: Login: user=<postmaster@extmail.org>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1$" "$T/maillog" ||
    mr_fail "no Login line"
grep -q "pop3(postmaster@extmail.org): Disconnected: Logged out top=0/0, retr=1/[0-9]*, del=1/2, size=102$" "$T/maillog" ||
    mr_fail "no Logged out line: $(grep pop3 "$T/maillog")"
if dl_root; then
    # dovecot-uidlist and the session lock are made by the session; the
    # moved message and the appended maildirsize stay the user's.
    for f in "$MD/cur/$SEEN" "$MD/dovecot-uidlist" "$MD/mailroom-pop3.lock" "$MD/maildirsize"; do
        [ -e "$f" ] || mr_fail "$f was not made"
        [ "$(stat -c %u:%g "$f")" = "$VUID:$VGID" ] || mr_fail "$f belongs to $(stat -c %u:%g "$f"), not $VUID:$VGID"
    done
    grep -q "pop3(rootish@example.com): refusing to run a mail process as uid 0 gid 0" "$T/maillog" ||
        mr_fail "no refusal of uid 0: $(grep rootish "$T/maillog")"
else
    echo "not root: the mail process runs as $(id -un); the checks of file owners and uid 0 are skipped"
fi
# "mailroom stop" ends a session in a mail process too: no process of
# the instance is left.
/usr/bin/python3 - "$P" "$PW" "$T/held" <<'PY' &
import poplib, sys
c = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
c.user("postmaster@extmail.org"); c.pass_(sys.argv[2])
open(sys.argv[3], "w").write("in\n")
try:
    line = c.file.readline()
except OSError:
    line = b""
open(sys.argv[3], "a").write("eof %r\n" % line)
PY
HELD=$!
mr_wait_for "the held session" grep -q "^in" "$T/held"
[ -n "$(mr_instance_pids)" ] || mr_fail "no processes of the instance while a session is in"
"$MR" -c "$CONF" stop
mr_wait_for "the held session's end" grep -q "^eof b''" "$T/held"
wait "$HELD"
no_instance_pids() { [ -z "$(mr_instance_pids)" ]; }
mr_wait_for "every process of the instance gone" no_instance_pids
echo "pop3d_users: ok"
