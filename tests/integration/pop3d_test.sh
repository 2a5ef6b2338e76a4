#!/bin/bash
# pop3d_test.sh - pop3d end to end: a real instance (master, authd with a
# passwd-file, pop3d on plain, STLS and implicit-TLS ports) and real
# clients. Checks the seed's telnet transcript line by line (USER/PASS,
# "+OK Logged in.", "+OK 4 messages:" with the seed's sizes, "+OK Logging
# out."); Python poplib: CAPA, STAT, LIST, RETR (dot-stuffed, CRLF), TOP,
# UIDL (Dovecot's %08Xu%08Xv, stable across sessions and written to
# dovecot-uidlist), DELE+RSET (nothing deleted), DELE+QUIT (file gone,
# maildirsize shrinks), AUTH PLAIN with an initial response, AUTH LOGIN,
# STLS and pop3s; APOP's challenge; a virtual user whose Maildir comes from authd's MAILDIR=;
# wrong passwords ([AUTH]); two sessions on one mailbox ([IN-USE]); a
# delivery into new/ during a session (seen by the next one);
# disable_plaintext_auth from another address (refused until STLS); bad
# and over-long commands; APOP checked by authd; Dovecot's log lines, read by fail2ban's dovecot
# filter; fetchmail fetching into an mbox and skipping seen UIDLs; mutt
# reading a pop:// mailbox.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_require_programs master pop3d authd mailroom postconf
mr_require_commands openssl fetchmail fail2ban-regex mutt script

mr_setup
P=$(mr_free_port)    # plain POP3 with STLS
PS=$(mr_free_port)   # pop3s
PM=$(mr_free_port)   # the seed's mbox mail_location
PA=$(mr_free_port)   # APOP offered
PU=$(mr_free_port)   # mail_max_userip_connections=1, counted by anvil
cat >>"$CONF/main.cf" <<EOF2
myhostname = mail.yuliang.com
authd_modules = passwd-file:$T/users
auth_failure_delay = 0
login_greeting = Dovecot ready.
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
EOF2
{
    echo "authd     unix  -       -       n       -       -       authd"
    echo "127.0.0.1:$P inet n - n - - pop3d"
    echo "127.0.0.1:$PS inet n - n - - pop3d -o pop3_tls_wrappermode=yes"
    echo "127.0.0.1:$PM inet n - n - - pop3d -o mail_location=mbox:~/mail:INBOX=$T/spool/%u"
    echo "127.0.0.1:$PA inet n - n - - pop3d -o auth_mechanisms=plain,apop"
    echo "127.0.0.1:$PU inet n - n - - pop3d -o mail_max_userip_connections=1"
    echo "anvil     unix  -       -       n       -       1       anvil"
} >"$CONF/master.cf"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj "/CN=mail.yuliang.com" >/dev/null 2>&1 || mr_fail "openssl req"
# As root the daemons run as mail_owner (nobody), so the mail belongs to it.
if [ "$(id -u)" -eq 0 ]; then OWNER=nobody; else OWNER=$(id -un); fi
OUID=$(id -u "$OWNER"); OGID=$(id -g "$OWNER")
chmod 644 "$T/key.pem"
VMD="$T/vmail/yuliang.com/hadoop/Maildir"
{
    echo "openstack:{PLAIN}redhat:$OUID:$OGID::$T/home/openstack::"
    echo "hadoop@yuliang.com:{PLAIN}tswcbyy888:$OUID:$OGID::$T/vmail/yuliang.com/hadoop::userdb_mail=maildir:$VMD"
} >"$T/users"
chmod 644 "$T/users"

# The seed's four messages: 454, 806, 800 and 757 octets as POP3 counts them
# (CRLF line ends); the second has a line starting with a dot.
/usr/bin/python3 - "$T/home/openstack/Maildir" "$VMD" "$T" <<'PY' || mr_fail "making the Maildirs"
import os, sys
def fill(size, n, dot=False):
    head = "From: hadoop@yuliang.com\nTo: openstack@yuliang.com\nSubject: message %d\n\n" % n
    body = ".dot line\n" if dot else ""
    while len(head + body) + (head + body).count("\n") + 40 < size:
        body += "x" * 38 + "\n"
    text = head + body
    pad = size - (len(text) + text.count("\n")) - 2
    return text + "y" * pad + "\n"
for md in sys.argv[1:3]:
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
md = sys.argv[1]
for i, size in enumerate((454, 806, 800, 757), 1):
    sub = "cur" if i <= 2 else "new"
    name = "17000000%02d.M%dP1Q%d.mail.yuliang.com" % (i, i, i) + (":2,S" if sub == "cur" else "")
    with open(os.path.join(md, sub, name), "w") as f:
        f.write(fill(size, i, dot=(i == 2)))
with open(os.path.join(md, "maildirsize"), "w") as f:
    f.write("10000000S\n2817 4\n")
with open(os.path.join(sys.argv[2], "new", "1700000100.M1P1Q1.host"), "w") as f:
    f.write(fill(300, 9))
spool = os.path.join(sys.argv[3], "spool")
os.makedirs(spool, exist_ok=True)
with open(os.path.join(spool, "openstack"), "w") as f:
    for i in (1, 2):
        f.write("From hadoop@yuliang.com Thu May  5 19:4%d:00 2016\n" % i)
        f.write(fill(200 + i, 20 + i, dot=(i == 2)))
        f.write("\n")
PY
chown -R "$OUID:$OGID" "$T/home" "$T/vmail" "$T/spool"

"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"

/usr/bin/python3 - "$P" "$PS" "$T" "$PM" "$PA" "$PU" <<'PY' >"$T/client.out" 2>&1 || mr_fail "clients: $(cat "$T/client.out")"
import base64, glob, os, poplib, re, socket, ssl, sys
P, PS, T = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socket.setdefaulttimeout(15)
PM, PA, PU = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])

def in_use(port):
    """A second session on a mailbox another one holds gets [IN-USE]."""
    d = poplib.POP3("127.0.0.1", port)
    d.user("openstack")
    try:
        d.pass_("redhat")
    except poplib.error_proto as e:
        assert e.args[0].startswith(b"-ERR [IN-USE] "), e
        return
    raise SystemExit("a second session got in")
MD = T + "/home/openstack/Maildir"
b64 = lambda s: base64.b64encode(s.encode()).decode()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

class Telnet:
    def __init__(self, port, source=None):
        self.s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0) if source else None)
        self.f = self.s.makefile("rb")
    def line(self):
        l = self.f.readline()
        assert l.endswith(b"\r\n"), l
        return l[:-2].decode()
    def say(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.line()

# 1. The seed's telnet transcript, line by line.
t = Telnet(P)
g = t.line()
assert g == "+OK Dovecot ready.", g
assert t.say("user openstack") == "+OK"
assert t.say("pass redhat") == "+OK Logged in."
assert t.say("LIST") == "+OK 4 messages:"
assert [t.line() for _ in range(5)] == ["1 454", "2 806", "3 800", "4 757", "."]
assert t.say("quit ") == "+OK Logging out."
assert t.f.read() == b""

# 2. poplib: CAPA, STAT, LIST, RETR, TOP, UIDL.
c = poplib.POP3("127.0.0.1", P)
caps = c.capa()
for k in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "STLS"):
    assert k in caps, caps
assert caps["SASL"] == ["PLAIN", "LOGIN"], caps
c.user("openstack")
c.pass_("redhat")
assert c.stat() == (4, 454 + 806 + 800 + 757), c.stat()
resp, lines, _ = c.list()
assert lines == [b"1 454", b"2 806", b"3 800", b"4 757"], lines
resp, lines, octets = c.retr(2)
assert resp == b"+OK 806 octets", resp
assert lines[3] == b"" and lines[4] == b".dot line", lines[:6]   # poplib undoes the stuffing
assert octets == 806, octets   # poplib does not count the stuffed dot
resp, lines, _ = c.top(1, 1)
assert lines[2] == b"Subject: message 1" and len(lines) == 5, lines
resp, uidl1, _ = c.uidl()
assert all(re.fullmatch(rb"\d [0-9a-f]{16}", u) for u in uidl1), uidl1
assert [u.split()[1][:8] for u in uidl1] == [b"00000001", b"00000002", b"00000003", b"00000004"], uidl1
assert c.uidl(3) == b"+OK " + uidl1[2]
try:
    c.retr(9); raise SystemExit("RETR 9 accepted")
except poplib.error_proto as e:
    assert e.args[0] == b"-ERR There's no message 9.", e
# 3. DELE + RSET: nothing deleted.
c.dele(1)
try:
    c.retr(1); raise SystemExit("deleted message readable")
except poplib.error_proto:
    pass
assert c.stat()[0] == 3
c.rset()
assert c.stat()[0] == 4
c.quit()
assert len(glob.glob(MD + "/cur/*")) == 4 and not os.listdir(MD + "/new"), "RSET lost mail or new/ not moved"
uidlist = open(MD + "/dovecot-uidlist").read().splitlines()
assert re.fullmatch(r"3 V\d+ N5", uidlist[0]), uidlist

# 4. UIDLs are stable; a delivery during a session shows up in the next one.
c = poplib.POP3("127.0.0.1", P)
c.user("openstack"); c.pass_("redhat")
with open(MD + "/tmp/1700000099.M9P9Q9.host", "w") as f:
    f.write("Subject: late\n\nhello\n")
os.rename(MD + "/tmp/1700000099.M9P9Q9.host", MD + "/new/1700000099.M9P9Q9.host")
assert c.uidl()[1] == uidl1, "UIDLs changed"
assert c.stat()[0] == 4, "the message list changed inside a session"
# 5. A second session on the same mailbox: [IN-USE].
in_use(P)
# 6. DELE + QUIT: gone, maildirsize shrinks.
c.dele(1)
assert c.quit() == b"+OK Logging out, messages deleted."
assert len(glob.glob(MD + "/cur/17000000*")) == 3, os.listdir(MD + "/cur")
assert open(MD + "/maildirsize").read().splitlines()[-1].startswith("-"), "maildirsize not updated"

# 7. AUTH PLAIN with an initial response; AUTH LOGIN; the new message is there.
c = poplib.POP3("127.0.0.1", P)
assert c._shortcmd("AUTH PLAIN " + b64("\0openstack\0redhat")) == b"+OK Logged in."
n, _ = c.stat()
assert n == 4, n
_, u2, _ = c.uidl()
assert u2[:3] == [b"1 " + uidl1[1].split()[1], b"2 " + uidl1[2].split()[1], b"3 " + uidl1[3].split()[1]], u2
assert u2[3].split()[1][:8] == b"00000005", u2
c.quit()
c = poplib.POP3("127.0.0.1", P)
assert c._shortcmd("AUTH LOGIN") == b"+ VXNlcm5hbWU6"
assert c._shortcmd(b64("openstack")) == b"+ UGFzc3dvcmQ6"
assert c._shortcmd(b64("redhat")) == b"+OK Logged in."
c.quit()

# 8. Wrong passwords and bad commands.
t = Telnet(P)
t.line()
assert t.say("USER openstack") == "+OK"
assert t.say("PASS wrong") == "-ERR [AUTH] Authentication failed."
assert t.say("AUTH PLAIN " + b64("\0nobody\0x")) == "-ERR [AUTH] Authentication failed."
assert t.say("STAT") == "-ERR Unknown command.", "STAT before login"
assert t.say("FOO") == "-ERR Unknown command: FOO"
assert t.say("X" * 9000) == "-ERR Input line too long."
assert t.say("QUIT") == "+OK Logging out."

# 9. STLS and pop3s; the virtual user's Maildir from authd's MAILDIR=.
c = poplib.POP3("127.0.0.1", P)
c.stls(ctx)
assert "STLS" not in c.capa()
c.user("hadoop@yuliang.com"); c.pass_("tswcbyy888")
assert c.stat() == (1, 300), c.stat()
c.quit()
c = poplib.POP3_SSL("127.0.0.1", PS, context=ctx)
assert c.getwelcome() == b"+OK Dovecot ready."
c.user("hadoop@yuliang.com"); c.pass_("tswcbyy888")
assert c.list()[1] == [b"1 300"]
c.quit()

# APOP: the greeting carries the challenge. authd never hands out a
# password: it checks the digest itself (its "apop" authtype) against the
# {PLAIN} password of the passwd-file.
c = poplib.POP3("127.0.0.1", PA)
assert re.fullmatch(rb"\+OK Dovecot ready\. <\d+\.\d+\.\S+@mail\.yuliang\.com>", c.getwelcome()), c.getwelcome()
try:
    c.apop("openstack", "wrong"); raise SystemExit("APOP with a wrong secret accepted")
except poplib.error_proto as e:
    assert e.args[0] == b"-ERR [AUTH] Authentication failed.", e
c.quit()
c = poplib.POP3("127.0.0.1", PA)
assert c.apop("openstack", "redhat") == b"+OK Logged in.", "APOP with the right secret"
c.stat()
c.quit()

# 10. disable_plaintext_auth: from an address other than the server's own.
# 127.0.0.2 is on lo in the test's network namespace: failing to connect
# from it is a failure, not a reason to skip the check.
t = Telnet(P, source="127.0.0.2")
t.line()
assert t.say("USER openstack") == "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
assert t.say("CAPA") == "+OK"
caps = []
while True:
    l = t.line()
    if l == ".": break
    caps.append(l)
assert "USER" not in caps and "SASL" in caps and "STLS" in caps, caps
t.say("QUIT")

# 11. The seed's mbox INBOX: deletions at QUIT keep mail delivered meanwhile
# (appended under local's locks: dotlock, then fcntl).
import fcntl, time
SP = T + "/spool/openstack"
c = poplib.POP3("127.0.0.1", PM)
c.user("openstack"); c.pass_("redhat")
assert c.stat() == (2, 201 + 202), c.stat()
_, mu, _ = c.uidl()
in_use(PM)
lock = os.open(SP + ".lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with open(SP, "a") as f:
    fcntl.lockf(f, fcntl.LOCK_EX)
    f.write("From root Thu May  5 19:50:00 2016\nSubject: during the session\n\nhello\n\n")
    f.flush()
    fcntl.lockf(f, fcntl.LOCK_UN)
os.close(lock); os.unlink(SP + ".lock")
assert c.retr(2)[1][4] == b".dot line"
c.dele(1)
assert c.quit() == b"+OK Logging out, messages deleted."
text = open(SP).read()
assert "Subject: message 21" not in text and "Subject: message 22" in text and "Subject: during the session" in text, text
assert text.startswith("From hadoop@yuliang.com Thu May  5 19:42:00 2016\n"), text[:80]
c = poplib.POP3("127.0.0.1", PM)
c.user("openstack"); c.pass_("redhat")
_, mu2, _ = c.uidl()
assert len(mu2) == 2 and mu2[0].split()[1] == mu[1].split()[1], (mu, mu2)
assert c.retr(2)[1][0] == b"Subject: during the session"
c.quit()
# The name authd returns (auth_username_format %Lu), not the one typed,
# picks the mailbox: INBOX=.../%u is the same mbox however it is spelled.
c = poplib.POP3("127.0.0.1", PM)
c.user("OpenStack"); c.pass_("redhat")
assert c.stat()[0] == 2, c.stat()
c.quit()
assert not os.path.exists(T + "/spool/OpenStack")
assert os.path.exists(T + "/home/openstack/mail/.imap/INBOX/dovecot-uidlist")

# 12. mail_max_userip_connections=1: the second session of the user+IP is
# refused (counted by anvil across pop3d processes).
c = poplib.POP3("127.0.0.1", PU)
c.user("hadoop@yuliang.com"); c.pass_("tswcbyy888")
d = poplib.POP3("127.0.0.1", PU)
d.user("hadoop@yuliang.com")
try:
    d.pass_("tswcbyy888"); raise SystemExit("a second session of the user+IP got in")
except poplib.error_proto as e:
    assert e.args[0] == b"-ERR [IN-USE] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)", e
assert c.stat()[0] == 1, c.stat()
c.quit()
print("ok")
PY

# Dovecot's log lines.
grep -q "pop3d\[[0-9]*\]: pop3-login: Login: user=<openstack>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1$" "$T/maillog" \
    || mr_fail "no Login line"
grep -q "pop3-login: Login: user=<hadoop@yuliang.com>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, TLS$" "$T/maillog" \
    || mr_fail "no TLS Login line"
grep -q "pop3(openstack): Disconnected: Logged out top=0/0, retr=0/0, del=0/4, size=2817$" "$T/maillog" \
    || mr_fail "no Logged out line for the transcript"
grep -q "pop3(openstack): Disconnected: Logged out top=0/0, retr=0/0, del=1/4, size=2817$" "$T/maillog" \
    || mr_fail "no Logged out line with a deletion"
grep -q "pop3-login: Disconnected (auth failed, 2 attempts in [0-9]* secs): user=<nobody>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1$" \
    "$T/maillog" || mr_fail "no auth failed line"
# fail2ban's dovecot filter finds the failure with the client address,
# with the jail's _daemon naming the program as it appears in the log.
fail2ban-regex "$T/maillog" 'dovecot[_daemon=mailroom/pop3d]' >"$T/f2b.out" 2>&1 || true
grep -q "^Failregex: 2 total" "$T/f2b.out" || mr_fail "fail2ban dovecot filter: $(cat "$T/f2b.out")"

# fetchmail into an mbox; the second run skips the UIDLs it has seen.
cat >"$T/fetchmailrc" <<EOF2
set no bouncemail
poll 127.0.0.1 service $P protocol pop3 uidl auth password
  user "hadoop@yuliang.com" password "tswcbyy888" keep
  mda "/bin/sh -c 'cat >>$T/fetched.mbox'"
EOF2
chmod 600 "$T/fetchmailrc"
FM="fetchmail -f $T/fetchmailrc -i $T/fetchids --pidfile $T/fetchmail.pid --sslproto auto --nosslcertck -v"
HOME=$T $FM >"$T/fetch1.out" 2>&1 || mr_fail "fetchmail: $(cat "$T/fetch1.out")"
[ "$(grep -c '^Subject: message 9' "$T/fetched.mbox")" = 1 ] || mr_fail "fetchmail did not fetch: $(cat "$T/fetch1.out")"
HOME=$T $FM >"$T/fetch2.out" 2>&1; rc=$?
[ $rc = 1 ] || mr_fail "second fetchmail run: exit $rc (1 = no new mail): $(cat "$T/fetch2.out")"
[ "$(grep -c '^Subject: message 9' "$T/fetched.mbox")" = 1 ] || mr_fail "fetchmail fetched again"
# mutt reads the virtual user's pop:// mailbox (STLS, the test certificate
# trusted) and shows its one message (through a pseudo-terminal: mutt needs
# one), then quits.
mkdir -p "$T/Mail"
cat >"$T/muttrc" <<EOF2
set folder=$T/Mail
set spoolfile=$T/Mail/inbox
set pop_pass="tswcbyy888"
set certificate_file=$T/cert.pem
set ssl_verify_host=no
set pop_delete=no
set move=no
set quit=yes
EOF2
READ_LINE="pop3(hadoop@yuliang.com): Disconnected: Logged out top=[0-9]*/[0-9]*, retr=1/[0-9]*, del=0/1, size=300$"
before=$(grep -c "$READ_LINE" "$T/maillog")
TERM=vt100 HOME=$T timeout 30 script -qec \
    "mutt -n -F $T/muttrc -f 'pop://hadoop%40yuliang.com@127.0.0.1:$P/' -e 'push <display-message><exit><quit>'" \
    /dev/null >"$T/mutt.out" 2>&1 || mr_fail "mutt: $(tail -c 2000 "$T/mutt.out")"
[ "$(grep -c "$READ_LINE" "$T/maillog")" = $((before + 1)) ] \
    || mr_fail "mutt did not read the message: $(tail -c 2000 "$T/mutt.out")"
echo "pop3d_test: ok"
