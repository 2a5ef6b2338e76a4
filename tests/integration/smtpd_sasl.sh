#!/bin/bash
# smtpd_sasl.sh - SMTP AUTH through the real Cyrus SASL library: the seed's
# smtpd.conf (pwcheck_method: saslauthd, mech_list: PLAIN LOGIN) against a
# real saslauthd started here (-a rimap, checking passwords against
# tests/support/fake_imap.py, so no system account is involved), and an
# auxprop/sasldb variant made with saslpasswd2. Replays the seed's AUTH
# LOGIN transcript line by line, PLAIN through smtplib and swaks --auth,
# CRAM-MD5 through sasldb, wrong passwords, aborts, malformed base64, long
# responses, relaying denied without AUTH and allowed with it,
# smtpd_tls_auth_only, smtpd_sasl_exceptions_networks, error counting, and
# the refusal of smtpd_sasl_type = dovecot.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom postconf
mr_require_commands saslauthd
SUPPORT="$(cd "$(dirname "$0")/../support" && pwd)"
P=$(mr_free_port)   # the seed's configuration
PA=$(mr_free_port)  # smtpd_tls_auth_only = yes
PX=$(mr_free_port)  # smtpd_sasl_exceptions_networks = 127.0.0.0/8
PS=$(mr_free_port)  # Cyrus auxprop with a sasldb file (smtpd_sasl_path = smtpd_sasldb)
PH=$(mr_free_port)  # smtpd_hard_error_limit = 2
PD=$(mr_free_port)  # smtpd_sasl_type = dovecot
PL=$(mr_free_port)  # reject_sender_login_mismatch
PP=$(mr_free_port)  # noplaintext, except inside TLS
PR=$(mr_free_port)  # no realm: smtpd_sasl_local_domain empty
PT=$(mr_free_port)  # one smtpd process (maxproc 1), for the stuck saslauthd case
PI=$(mr_free_port)  # the fake IMAP server saslauthd asks
qs_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$PA inet n - n - - smtpd -o smtpd_tls_auth_only=yes" \
    "127.0.0.1:$PX inet n - n - - smtpd -o smtpd_sasl_exceptions_networks=127.0.0.0/8" \
    "127.0.0.1:$PS inet n - n - - smtpd -o smtpd_sasl_path=smtpd_sasldb" \
    "127.0.0.1:$PH inet n - n - - smtpd -o smtpd_hard_error_limit=2" \
    "127.0.0.1:$PL inet n - n - - smtpd -o smtpd_sender_restrictions=reject_sender_login_mismatch" \
    "127.0.0.1:$PT inet n - n - 1 smtpd" \
    "127.0.0.1:$PP inet n - n - - smtpd -o smtpd_sasl_security_options=noanonymous,noplaintext -o smtpd_sasl_tls_security_options=noanonymous" \
    "127.0.0.1:$PR inet n - n - - smtpd -o smtpd_sasl_local_domain="
USER=hadoop
PASS='<tswcbyy888>'

# saslauthd in the foreground with its own socket directory, asking the fake IMAP server.
printf '%s %s\nslow !hang\n' "$USER" "$PASS" >"$T/imap_users"
python3 "$SUPPORT/fake_imap.py" "$PI" "$T/imap_users" "$T/imap_ready" &
IMAP_PID=$!
mkdir -m 755 "$T/mux"
# Its own session: on SIGTERM saslauthd signals its whole process group.
setsid saslauthd -a rimap -O "127.0.0.1/$PI" -d -n 1 -m "$T/mux" >"$T/saslauthd.log" 2>&1 &
SASLAUTHD_PID=$!
trap 'kill $SASLAUTHD_PID $IMAP_PID 2>/dev/null; mr_cleanup' EXIT
mr_wait_for "fake IMAP server" test -e "$T/imap_ready"
mr_wait_for "saslauthd socket" test -S "$T/mux/mux"
testsaslauthd -f "$T/mux/mux" -u "$USER" -p "$PASS" | grep -q '^0: OK' || mr_fail "saslauthd does not accept the test user"

# Cyrus configuration: the seed's smtpd.conf, and a sasldb one.
mkdir -m 755 "$T/sasl"
{
    echo "pwcheck_method: saslauthd"
    echo "saslauthd_path: $T/mux/mux"
    echo "mech_list: PLAIN LOGIN"
} >"$T/sasl/smtpd.conf"
{
    echo "pwcheck_method: auxprop"
    echo "auxprop_plugin: sasldb"
    echo "sasldb_path: $T/sasldb2"
    echo "mech_list: PLAIN LOGIN CRAM-MD5"
} >"$T/sasl/smtpd_sasldb.conf"
echo "sasldb-secret" | saslpasswd2 -p -f "$T/sasldb2" -c -u mx.example.test carol || mr_fail "saslpasswd2"
chmod 644 "$T/sasldb2" "$T/sasl/"*.conf

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || mr_fail "openssl req"
# The seed's main.cf lines (with mynetworks that do not hold the test client).
cat >>"$CONF/main.cf" <<EOF2
local_recipient_maps =
mynetworks = 192.0.2.0/24
cyrus_sasl_config_path = $T/sasl
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/cert.pem
smtpd_tls_key_file = $T/key.pem
smtpd_sasl_authenticated_header = yes
header_checks = regexp:$T/header_checks
smtpd_sender_login_maps = texthash:$T/sender_logins
############################CYRUS-SASL############################
broken_sasl_auth_clients = yes
smtpd_recipient_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_invalid_hostname,reject_non_fqdn_hostname,reject_unknown_sender_domain,reject_non_fqdn_sender,reject_non_fqdn_recipient,reject_unknown_recipient_domain,reject_unauth_pipelining,reject_unauth_destination
smtpd_sasl_auth_enable = yes
smtpd_sasl_local_domain = \$myhostname
smtpd_sasl_security_options = noanonymous
smtpd_sasl_path = smtpd
smtpd_banner = Welcome to our \$myhostname ESMTP,Warning: Version not Available!
EOF2
echo '/^Subject: hold me/ HOLD' >"$T/header_checks"
# Cyrus names the user with the realm (smtpd_sasl_local_domain = $myhostname).
echo "hadoop@yuliang.com $USER@mx.example.test" >"$T/sender_logins"

[ "$("$MAILROOM_BIN/postconf" -c "$CONF" -a | tr '\n' ' ')" = "cyrus authd " ] || mr_fail "postconf -a: $("$MAILROOM_BIN/postconf" -c "$CONF" -a)"
"$MR" -c "$CONF" start || mr_fail "start failed"

PYTHONPATH="$HERE" python3 - "$P" "$PA" "$PX" "$PS" "$PH" "$USER" "$PASS" "$PL" "$PP" "$PR" >"$T/reply" 2>&1 <<'PY' || mr_fail "dialogue: $(cat "$T/reply")"
import base64, smtplib, socket, ssl, sys
P, PA, PX, PS, PH = (int(a) for a in sys.argv[1:6])
USER, PASS = sys.argv[6], sys.argv[7]
PL, PP, PR = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
b64 = lambda s: base64.b64encode(s.encode()).decode()

from smtp_telnet import Telnet

# The seed's transcript (lines 819-846), with the test's own user and password.
t = Telnet(P)
assert t.reply() == ["220 Welcome to our mx.example.test ESMTP,Warning: Version not Available!"]
ehlo = t.say("ehlo mail.yuliang.com")
assert ehlo[:7] == ["250-mx.example.test", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY", "250-ETRN",
                    "250-STARTTLS", "250-AUTH PLAIN LOGIN"], ehlo
assert ehlo[7:10] == ["250-AUTH=PLAIN LOGIN", "250-ENHANCEDSTATUSCODES", "250-8BITMIME"], ehlo
t.expect("auth login", ["334 VXNlcm5hbWU6"])
t.expect(b64(USER), ["334 UGFzc3dvcmQ6"])
t.expect(b64(PASS), ["235 2.7.0 Authentication successful"])
t.expect("mail from:hadoop@yuliang.com", ["250 2.1.0 Ok"])
t.expect("rcpt to:1062817308@qq.com", ["250 2.1.5 Ok"])
t.expect("data", ["354 End data with <CR><LF>.<CR><LF>"])
t.sock.sendall(b"A trial  \r\nThis is a test for authentication based on cyrus of sasl.\r\n")
r = t.say(".")
assert r[0].startswith("250 2.0.0 Ok: queued as "), r
print("SEED", r[0].split()[-1])
t.expect("quit", ["221 2.0.0 Bye"])

# Without AUTH the same relay is refused.
s = smtplib.SMTP("127.0.0.1", P, timeout=15)
s.ehlo("client.example")
s.mail("hadoop@yuliang.com")
code, text = s.rcpt("1062817308@qq.com")
assert (code, text) == (454, b"4.7.1 <1062817308@qq.com>: Relay access denied"), (code, text)
s.quit()

# PLAIN through smtplib; AUTH twice; AUTH in a transaction; AUTH= of MAIL.
s = smtplib.SMTP("127.0.0.1", P, timeout=15)
s.ehlo("client.example")
code, text = s.login(USER, PASS)
assert (code, text) == (235, b"2.7.0 Authentication successful"), (code, text)
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (USER, PASS)))
assert (code, text) == (503, b"5.5.1 Error: already authenticated"), (code, text)
code, text = s.docmd("MAIL", "FROM:<hadoop@yuliang.com> AUTH=hadoop+40yuliang.com")
assert code == 250, (code, text)
code, text = s.rcpt("someone@remote.test")
assert code == 250, (code, text)
code, text = s.data("Subject: hold me\r\n\r\nauthenticated\r\n")
assert code == 250, (code, text)
print("HELD", text.decode().split()[-1])
s.quit()

s = smtplib.SMTP("127.0.0.1", P, timeout=15)
s.ehlo("client.example")
s.mail("hadoop@yuliang.com")
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (USER, PASS)))
assert (code, text) == (503, b"5.5.1 Error: MAIL transaction in progress"), (code, text)
s.rset()
# Failures: wrong password, abort, malformed base64, unknown mechanism, long response.
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0wrong" % USER))
assert (code, text) == (535, b"5.7.8 Error: authentication failed: authentication failure"), (code, text)
code, text = s.docmd("AUTH", "LOGIN")
assert (code, text) == (334, b"VXNlcm5hbWU6"), (code, text)
code, text = s.docmd("*")
assert (code, text) == (501, b"5.7.0 Authentication aborted"), (code, text)
code, text = s.docmd("AUTH", "PLAIN !!!!")
assert (code, text) == (501, b"5.5.2 Invalid base64 data in initial response"), (code, text)
code, text = s.docmd("AUTH", "LOGIN")
code, text = s.docmd("not*base64")
assert (code, text) == (501, b"5.5.2 Invalid base64 data in continued response"), (code, text)
code, text = s.docmd("AUTH", "LOGIN")
code, text = s.docmd("QUFB" * 4000)
assert (code, text) == (500, b"5.5.6 SASL response limit exceeded"), (code, text)
code, text = s.docmd("AUTH", "CRAM-MD5")
assert code == 535 and text.startswith(b"5.7.8 Error: authentication failed: "), (code, text)
code, text = s.docmd("NOOP")
assert code == 250, (code, text)
# Still not authenticated: relaying is refused.
s.mail("hadoop@yuliang.com")
code, text = s.rcpt("1062817308@qq.com")
assert code == 454, (code, text)
s.quit()

# PLAIN without an initial response: an empty challenge, then the response.
s = smtplib.SMTP("127.0.0.1", P, timeout=15)
s.ehlo("client.example")
code, text = s.docmd("AUTH", "PLAIN")
assert (code, text) == (334, b""), (code, text)
code, text = s.docmd(b64("\0%s\0%s" % (USER, PASS)))
assert (code, text) == (235, b"2.7.0 Authentication successful"), (code, text)
s.quit()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
# smtpd_tls_auth_only: no AUTH before STARTTLS, AUTH after.
s = smtplib.SMTP("127.0.0.1", PA, timeout=15)
code, text = s.ehlo("client.example")
assert b"AUTH" not in text, text
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (USER, PASS)))
assert (code, text) == (504, b"5.5.4 Encryption required for requested authentication mechanism"), (code, text)
s.starttls(context=ctx)
code, text = s.ehlo("client.example")
assert b"AUTH PLAIN LOGIN" in text, text
code, text = s.login(USER, PASS)
assert code == 235, (code, text)
s.mail("hadoop@yuliang.com")
code, text = s.rcpt("1062817308@qq.com")
assert code == 250, (code, text)
code, text = s.data("Subject: hold me\r\n\r\nover tls\r\n")
assert code == 250, (code, text)
print("TLSHELD", text.decode().split()[-1])
s.quit()

# smtpd_sasl_exceptions_networks: AUTH not offered, still accepted.
s = smtplib.SMTP("127.0.0.1", PX, timeout=15)
code, text = s.ehlo("client.example")
assert b"AUTH" not in text, text
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (USER, PASS)))
assert code == 235, (code, text)
s.quit()

# sasldb through Cyrus auxprop: CRAM-MD5 (smtplib's first choice), a
# multi-step exchange, and a wrong password.
s = smtplib.SMTP("127.0.0.1", PS, timeout=15)
code, text = s.ehlo("client.example")
assert b"CRAM-MD5" in text, text
try:
    s.login("carol", "wrong")
    raise AssertionError("wrong sasldb password accepted")
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535, e
code, text = s.login("carol", "sasldb-secret")
assert code == 235, (code, text)
s.quit()

# smtpd_sender_login_maps with reject_sender_login_mismatch.
s = smtplib.SMTP("127.0.0.1", PL, timeout=15)
s.ehlo("client.example")
s.mail("hadoop@yuliang.com")
code, text = s.rcpt("someone@remote.test")
assert (code, text) == (553, b"5.7.1 <hadoop@yuliang.com>: Sender address rejected: not logged in"), (code, text)
s.rset()
s.login(USER, PASS)
s.mail("hadoop@yuliang.com")
code, text = s.rcpt("someone@remote.test")
assert code == 250, (code, text)
s.rset()
s.mail("tomcat@yuliang.com")
code, text = s.rcpt("someone@remote.test")
assert (code, text) == (553, ("5.7.1 <tomcat@yuliang.com>: Sender address rejected: not owned by user %s@mx.example.test" % USER).encode()), (code, text)
s.quit()

# noplaintext hides PLAIN and LOGIN until TLS (smtpd_sasl_tls_security_options).
s = smtplib.SMTP("127.0.0.1", PP, timeout=15)
code, text = s.ehlo("client.example")
assert b"AUTH" not in text, text
code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (USER, PASS)))
assert code == 535, (code, text)
s.starttls(context=ctx)
code, text = s.ehlo("client.example")
assert b"AUTH PLAIN LOGIN" in text, text
code, text = s.login(USER, PASS)
assert code == 235, (code, text)
s.quit()

# Without a realm Cyrus names the user as typed.
s = smtplib.SMTP("127.0.0.1", PR, timeout=15)
s.ehlo("client.example")
s.esmtp_features["auth"] = "LOGIN"
code, text = s.login(USER, PASS)
assert code == 235, (code, text)
s.mail("hadoop@yuliang.com")
s.rcpt("1062817308@qq.com")
code, text = s.data("Subject: no realm\r\n\r\nhello\r\n")
assert code == 250, (code, text)
print("NOREALM", text.decode().split()[-1])
s.quit()

# A failed AUTH counts as an error: two reach smtpd_hard_error_limit = 2.
t = Telnet(PH)
t.reply()
t.say("EHLO client.example")
t.expect("AUTH PLAIN " + b64("\0%s\0bad1" % USER), ["535 5.7.8 Error: authentication failed: authentication failure"])
r = t.say("AUTH PLAIN " + b64("\0%s\0bad2" % USER))
assert r[0] == "535 5.7.8 Error: authentication failed: authentication failure", r
assert r == [r[0]] or True
r = t.reply() if len(r) == 1 else r
assert r == ["421 4.7.0 mx.example.test Error: too many errors"], r
PY
SEED=$(sed -n 's/^SEED \([0-9A-F]*\)$/\1/p' "$T/reply")
HELD=$(sed -n 's/^HELD \([0-9A-F]*\)$/\1/p' "$T/reply")
TLSHELD=$(sed -n 's/^TLSHELD \([0-9A-F]*\)$/\1/p' "$T/reply")
NOREALM=$(sed -n 's/^NOREALM \([0-9A-F]*\)$/\1/p' "$T/reply")
grep -Eq "smtpd\[[0-9]+\]: $NOREALM: client=unknown\[127\.0\.0\.1\], sasl_method=LOGIN, sasl_username=$USER\$" "$T/maillog" ||
    mr_fail "client= line without a realm"
[ -n "$SEED" ] && [ -n "$HELD" ] && [ -n "$TLSHELD" ] || mr_fail "no queue IDs: $(cat "$T/reply")"
grep -Eq "smtpd\[[0-9]+\]: $SEED: client=unknown\[127\.0\.0\.1\], sasl_method=LOGIN, sasl_username=$USER@mx\.example\.test\$" "$T/maillog" ||
    mr_fail "client= line of the seed message"
mr_wait_for "seed message delivered" grep -Eq "discard\[[0-9]+\]: $SEED: to=<1062817308@qq\.com>, .*status=sent" "$T/maillog"
grep -Eq "smtpd\[[0-9]+\]: $HELD: client=unknown\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=$USER@mx\.example\.test, sasl_sender=hadoop@yuliang\.com\$" \
    "$T/maillog" || mr_fail "client= line with sasl_sender"
grep -Eq "warning: unknown\[127\.0\.0\.1\]: SASL PLAIN authentication failed: authentication failure\$" "$T/maillog" ||
    mr_fail "failed authentication warning"
mr_wait_for "disconnect line of the seed session" \
    grep -Eq "disconnect from unknown\[127\.0\.0\.1\] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6\$" "$T/maillog"

# Received: ESMTPA / ESMTPSA and the authenticated sender.
"$MAILROOM_BIN/postcat" -c "$CONF" -q "$HELD" >"$T/held" 2>&1 || mr_fail "postcat: $(cat "$T/held")"
grep -q "^	(Authenticated sender: $USER@mx.example.test)\$" "$T/held" || mr_fail "Authenticated sender: $(cat "$T/held")"
grep -q "^	by mx.example.test (mailroom) with ESMTPA id $HELD\$" "$T/held" || mr_fail "with ESMTPA: $(cat "$T/held")"
"$MAILROOM_BIN/postcat" -c "$CONF" -q "$TLSHELD" >"$T/tlsheld" 2>&1 || mr_fail "postcat: $(cat "$T/tlsheld")"
grep -q "^	by mx.example.test (mailroom) with ESMTPSA id $TLSHELD\$" "$T/tlsheld" || mr_fail "with ESMTPSA: $(cat "$T/tlsheld")"

# swaks --auth PLAIN and LOGIN relay through the seed's configuration.
for mech in PLAIN LOGIN; do
    swaks --server 127.0.0.1 --port "$P" --helo swaks.example --from hadoop@yuliang.com --to "swaks-$mech@qq.com" \
        --auth "$mech" --auth-user "$USER" --auth-password "$PASS" >"$T/swaks" 2>&1 || mr_fail "swaks --auth $mech: $(cat "$T/swaks")"
    grep -Eq "<[-~] +235 2\.7\.0 Authentication successful" "$T/swaks" || mr_fail "swaks $mech auth: $(cat "$T/swaks")"
    grep -Eq "<[-~] +250 2\.0\.0 Ok: queued as " "$T/swaks" || mr_fail "swaks $mech: $(cat "$T/swaks")"
done
swaks --server 127.0.0.1 --port "$P" --from hadoop@yuliang.com --to x@qq.com --auth PLAIN --auth-user "$USER" \
    --auth-password wrong >"$T/swaks" 2>&1 && mr_fail "swaks with a wrong password succeeded"
grep -q "535 5.7.8 Error: authentication failed: authentication failure" "$T/swaks" || mr_fail "swaks wrong password: $(cat "$T/swaks")"

# smtpd_sasl_type = dovecot is refused before any smtpd runs with it:
# reload names the master.cf line and leaves the running system alone.
cp "$CONF/master.cf" "$T/master.cf.saved"
echo "127.0.0.1:$PD inet n - n - - smtpd -o smtpd_sasl_type=dovecot" >>"$CONF/master.cf"
if out=$("$MR" -c "$CONF" reload 2>&1); then mr_fail "reload accepted smtpd_sasl_type = dovecot"; fi
echo "$out" | grep -qF "master.cf, line $(wc -l <"$CONF/master.cf"): service 127.0.0.1:$PD: invalid smtpd_sasl_type value: \"dovecot\"" ||
    mr_fail "dovecot not refused: $out"
cp "$T/master.cf.saved" "$CONF/master.cf"

# A password check that never returns (saslauthd waits for its IMAP server
# forever) holds up neither the other sessions of the process nor, beyond
# its bound, the client: 454 and the session goes on.
python3 - "$PT" >"$T/reply" 2>&1 <<'PY' || mr_fail "stuck saslauthd: $(cat "$T/reply")"
import base64, smtplib, socket, sys
PT = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", PT), timeout=90)
fa = a.makefile("rb")
def reply(f):
    out = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        out.append(line)
        if line[3:4] != "-":
            return out
reply(fa)
a.sendall(b"EHLO client.example\r\n")
reply(fa)
a.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0slow\0whatever") + b"\r\n")
# Meanwhile a whole transaction in another session of the same process.
s = smtplib.SMTP("127.0.0.1", PT, timeout=20)
s.ehlo("other.example")
s.mail("alice@mx.example.test")
code, text = s.rcpt("bob@mx.example.test")
assert code == 250, (code, text)
code, text = s.data("Subject: while AUTH waits\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()
r = reply(fa)
assert r == ["454 4.7.0 Temporary authentication failure: authentication server did not answer"], r
a.sendall(b"NOOP\r\n")
assert reply(fa) == ["250 2.0.0 Ok"]
a.close()
PY
grep -Eq "smtpd\[[0-9]+\]: warning: unknown\[127\.0\.0\.1\]: SASL PLAIN authentication timed out\$" "$T/maillog" ||
    mr_fail "timeout warning"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_sasl: ok"
