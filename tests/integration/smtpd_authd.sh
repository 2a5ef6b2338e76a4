#!/bin/bash
# smtpd_authd.sh - SMTP AUTH with smtpd_sasl_type = authd: smtpd checks
# PLAIN, LOGIN and CRAM-MD5 through the courier authdaemond protocol on a
# UNIX socket. The server is mailroom's authd (master.cf service, socket
# $queue_directory/private/authd, a passwd-file user whose hash `mailroom
# pw` made); the outages authd cannot be made to have here (a backend that
# never answers, or answers nothing) come from tests/support/fake_authd.py
# on another socket. Checks the seed's AUTH LOGIN transcript, PLAIN with an
# initial response and after an empty challenge, relaying after AUTH, wrong
# passwords and unknown users (535 after authd's auth_failure_delay, and
# smtpd_sasl_failure_delay for a server that does not delay), authd
# missing, silent (authd_client_timeout) or closing without a reply (454,
# fast, with the cause logged), the request the server receives, the
# per-connection cap (smtpd_hard_error_limit), CRAM-MD5 where
# auth_mechanisms offers it, and that Debian's fail2ban postfix filter
# (mode=aggressive) finds the failures with the client address.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom postconf authd
mr_require_commands fail2ban-regex
SUPPORT="$(cd "$(dirname "$0")/../support" && pwd)"
P=$(mr_free_port)   # authd's default socket (smtpd_sasl_path left at its default)
PF=$(mr_free_port)  # the test server on private/fake-authd, smtpd_sasl_failure_delay = 1
PD=$(mr_free_port)  # smtpd_sasl_path names a socket nobody serves
PH=$(mr_free_port)  # smtpd_hard_error_limit = 2
PS=$(mr_free_port)  # syslog_name = postfix/submission, as the seed's submission service
PC=$(mr_free_port)  # auth_mechanisms = plain, login, cram-md5
PY=$(mr_free_port)  # Cyrus SASL, pwcheck_method: authdaemond on the test server's socket
PZ=$(mr_free_port)  # Cyrus SASL, pwcheck_method: authdaemond on a socket nobody serves
qs_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$PF inet n - n - - smtpd -o smtpd_sasl_path=private/fake-authd -o smtpd_sasl_failure_delay=1" \
    "127.0.0.1:$PD inet n - n - - smtpd -o smtpd_sasl_path=/nonexistent/authd" \
    "127.0.0.1:$PH inet n - n - - smtpd -o smtpd_hard_error_limit=2" \
    "127.0.0.1:$PS inet n - n - - smtpd -o syslog_name=postfix/submission" \
    "127.0.0.1:$PC inet n - n - - smtpd -o auth_mechanisms=plain,login,cram-md5" \
    "authd     unix  -       -       n       -       -       authd"
PASS='<tswcbyy888>'
HASH=$("$MR" pw -s SHA512-CRYPT -p "$PASS") || mr_fail "mailroom pw"
{
    echo "hadoop@yuliang.com:$HASH:2000:2000::$T/home::"
    echo "cram@yuliang.com:{PLAIN}cram-secret:2000:2000::$T/home::"
} >"$T/passwd"
chmod 644 "$T/passwd"
cat >>"$CONF/main.cf" <<EOF2
local_recipient_maps =
mynetworks = 192.0.2.0/24
authd_modules = passwd-file:$T/passwd
auth_failure_delay = 1s
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = authd
authd_client_timeout = 6s
broken_sasl_auth_clients = yes
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
EOF2
# The seed's Cyrus file (pwcheck_method: authdaemond), once on the test
# server's socket and once on a socket nobody serves.
{
    echo "127.0.0.1:$PY inet n - n - - smtpd -o smtpd_sasl_type=cyrus -o cyrus_sasl_config_path=$T/sasl-fake"
    echo "127.0.0.1:$PZ inet n - n - - smtpd -o smtpd_sasl_type=cyrus -o cyrus_sasl_config_path=$T/sasl-none"
} >>"$CONF/master.cf"
for d in fake none; do
    mkdir -m 755 "$T/sasl-$d"
    {
        echo "pwcheck_method: authdaemond"
        echo "mech_list: PLAIN LOGIN"
        if [ $d = fake ]; then echo "authdaemond_path: $Q/private/fake-authd"; else echo "authdaemond_path: $T/no-such-socket"; fi
    } >"$T/sasl-$d/smtpd.conf"
    chmod 644 "$T/sasl-$d/smtpd.conf"
done
printf '%s\n' "hadoop@yuliang.com $PASS" 'slow@yuliang.com !hang' 'down@yuliang.com !tempfail' >"$T/fake_users"

[ "$("$MAILROOM_BIN/postconf" -c "$CONF" -h smtpd_sasl_type)" = authd ] || mr_fail "postconf: smtpd_sasl_type"
"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd's socket" test -S "$Q/private/authd"
python3 "$SUPPORT/fake_authd.py" "$Q/private/fake-authd" "$T/fake_users" "$T/requests" 2>"$T/fake_authd.err" &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; mr_cleanup' EXIT
mr_wait_for "the test server's socket" test -S "$Q/private/fake-authd"

PYTHONPATH="$HERE" python3 - "$P" "$PF" "$PD" "$PH" "$PS" "$PC" "$PY" "$PZ" >"$T/reply" 2>&1 <<'PY' || mr_fail "dialogue: $(cat "$T/reply")"
import base64, hashlib, hmac, sys
P, PF, PD, PH, PS, PC, PY, PZ = (int(a) for a in sys.argv[1:9])
b64 = lambda s: base64.b64encode(s.encode()).decode()

from smtp_telnet import Telnet

def Client(port):
    t = Telnet(port)
    assert t.reply()[0].startswith("220 "), "no greeting"
    return t

# EHLO offers PLAIN and LOGIN, and AUTH= for broken clients.
c = Client(P)
ehlo = c.say("EHLO client.example")
assert "250-AUTH PLAIN LOGIN" in ehlo and "250-AUTH=PLAIN LOGIN" in ehlo, ehlo
# Relaying is refused before AUTH.
assert c.say("MAIL FROM:<hadoop@yuliang.com>")[0].startswith("250")
r = c.say("RCPT TO:<1062817308@qq.com>")
assert r[0].endswith(" <1062817308@qq.com>: Relay access denied"), r
assert c.say("RSET")[0].startswith("250")
# The seed's AUTH LOGIN transcript.
assert c.say("AUTH LOGIN") == ["334 VXNlcm5hbWU6"]
assert c.say(b64("hadoop@yuliang.com")) == ["334 UGFzc3dvcmQ6"]
assert c.say(b64("<tswcbyy888>")) == ["235 2.7.0 Authentication successful"]
assert c.say("MAIL FROM:<hadoop@yuliang.com>")[0].startswith("250")
assert c.say("RCPT TO:<1062817308@qq.com>")[0].startswith("250")
c.say("QUIT")

# PLAIN with an initial response, and after the empty challenge.
c = Client(P)
c.say("EHLO client.example")
r = c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0<tswcbyy888>"))
assert r == ["235 2.7.0 Authentication successful"], r
c.say("QUIT")
c = Client(P)
c.say("EHLO client.example")
assert c.say("AUTH PLAIN") == ["334 "]
assert c.say(b64("hadoop@yuliang.com\0hadoop@yuliang.com\0<tswcbyy888>")) == ["235 2.7.0 Authentication successful"]
c.say("QUIT")

# A wrong password and an unknown user: 535 after authd's auth_failure_delay.
c = Client(P)
c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0wrong"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert took >= 0.8, took
assert c.say("AUTH LOGIN " + b64("nobody@yuliang.com")) == ["334 UGFzc3dvcmQ6"]
r = c.say(b64("whatever"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
# A NUL in the password or the LOGIN user name is a wrong password, not a
# temporary failure.
r = c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0<tswc\0byy888>"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert c.say("AUTH LOGIN " + b64("hadoop@yuliang.com\0x")) == ["334 UGFzc3dvcmQ6"]
r = c.say(b64("<tswcbyy888>"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert c.say("AUTH LOGIN " + b64("hadoop@yuliang.com")) == ["334 UGFzc3dvcmQ6"]
r = c.say(b64("<tswc\0byy888>"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
# A malformed PLAIN response, and an unoffered mechanism.
r = c.say("AUTH PLAIN " + b64("no-nul-here"))
assert r == ["535 5.7.8 Error: authentication failed: bad protocol / cancel"], r
r = c.say("AUTH CRAM-MD5")
assert r == ["535 5.7.8 Error: authentication failed: no mechanism available"], r
c.say("QUIT")

# The test server: its backend down (closes without a reply), stuck
# (silent past authd_client_timeout), and no server at all: 454, within
# seconds (below authd_client_timeout, which is long enough that a loaded
# machine still tells a fast failure from a timeout). A FAIL from a server
# that does not delay waits smtpd_sasl_failure_delay.
c = Client(PF)
c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0down@yuliang.com\0x"))
assert r == ["454 4.7.0 Temporary authentication failure: Connection lost to authentication server"], r
assert took < 5.0, took
r, took = c.timed("AUTH PLAIN " + b64("\0slow@yuliang.com\0x"))
assert r == ["454 4.7.0 Temporary authentication failure: Connection lost to authentication server"], r
assert 5.5 <= took < 30.0, took
r, took = c.timed("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0wrong"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert took >= 0.8, took
# The session goes on: a good AUTH after them.
assert c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0<tswcbyy888>")) == ["235 2.7.0 Authentication successful"]
c.say("QUIT")
c = Client(PD)
c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0<tswcbyy888>"))
assert r == ["454 4.7.0 Temporary authentication failure: Connection lost to authentication server"], r
assert took < 5.0, took
c.say("QUIT")

# The same outages on the seed's Cyrus path (pwcheck_method: authdaemond):
# Cyrus's SASL_FAIL is a temporary failure, and a silent server is given
# authd_client_timeout, not libsasl2's own 30 seconds.
c = Client(PZ)
c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0<tswcbyy888>"))
assert r == ["454 4.7.0 Temporary authentication failure: generic failure"], r
assert took < 5.0, took
c.say("QUIT")
c = Client(PY)
assert "250-AUTH PLAIN LOGIN" in c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0down@yuliang.com\0x"))
assert r == ["454 4.7.0 Temporary authentication failure: generic failure"], r
assert took < 5.0, took
r = c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0wrong"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert c.say("AUTH LOGIN") == ["334 VXNlcm5hbWU6"]
assert c.say(b64("hadoop@yuliang.com")) == ["334 UGFzc3dvcmQ6"]
assert c.say(b64("<tswcbyy888>")) == ["235 2.7.0 Authentication successful"]
c.say("QUIT")
c = Client(PY)
c.say("EHLO client.example")
r, took = c.timed("AUTH PLAIN " + b64("\0slow@yuliang.com\0x"))
assert r == ["454 4.7.0 Temporary authentication failure: authentication server did not answer"], r
assert 5.5 <= took < 30.0, took
c.say("QUIT")

# The cap on failures per connection: smtpd_hard_error_limit.
c = Client(PH)
c.say("EHLO client.example")
r = c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0wrong1"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
r = c.say("AUTH PLAIN " + b64("\0hadoop@yuliang.com\0wrong2"))
assert r[0] == "535 5.7.8 Error: authentication failed: authentication failure", r
assert r[-1] == "<closed>" or c.reply()[-1].startswith("421 4.7.0"), r

# The submission-style service name, for the stock fail2ban filter.
c = Client(PS)
c.say("EHLO client.example")
assert c.say("AUTH LOGIN") == ["334 VXNlcm5hbWU6"]
assert c.say(b64("hadoop@yuliang.com")) == ["334 UGFzc3dvcmQ6"]
r = c.say(b64("wrong"))
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
c.say("QUIT")
# CRAM-MD5 (RFC 2195) where auth_mechanisms offers it: authd gets the
# challenge and the response, and checks them against the clear password.
c = Client(PC)
assert "250-AUTH PLAIN LOGIN CRAM-MD5" in c.say("EHLO client.example")
def cram(c, user, secret):
    r = c.say("AUTH CRAM-MD5")
    assert r[0].startswith("334 "), r
    challenge = base64.b64decode(r[0][4:])
    assert challenge.startswith(b"<") and challenge.endswith(b"@mx.example.test>"), challenge
    digest = hmac.new(secret.encode(), challenge, hashlib.md5).hexdigest()
    return c.say(b64(user + " " + digest))
r = cram(c, "cram@yuliang.com", "wrong")
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
# A hashed password cannot answer a challenge.
r = cram(c, "hadoop@yuliang.com", "<tswcbyy888>")
assert r == ["535 5.7.8 Error: authentication failed: authentication failure"], r
assert cram(c, "cram@yuliang.com", "cram-secret") == ["235 2.7.0 Authentication successful"]
c.say("QUIT")
c = Client(PC)
c.say("EHLO client.example")
assert c.say("AUTH CRAM-MD5 " + b64("x")) == ["535 5.7.8 Error: authentication failed: bad protocol / cancel"]
assert c.say("AUTH CRAM-MD5")[0].startswith("334 ")
assert c.say(b64("no digest")) == ["535 5.7.8 Error: authentication failed: bad protocol / cancel"]
c.say("QUIT")
print("ok")
PY

# What the server was asked: courier's AUTH login request, with the client's address.
grep -qF "b'TCPREMOTEIP=127.0.0.1\\nAUTH 43\\nsmtp\\nlogin\\nhadoop@yuliang.com\\n<tswcbyy888>\\n'" "$T/requests" ||
    mr_fail "authd request: $(cat "$T/requests")"

# authd did the checking: its own line for the wrong password, with the
# client address smtpd sent as TCPREMOTEIP.
mr_wait_for "authd's line for the wrong password" grep -Eq "authd\[[0-9]+\]: authentication failed: user=<hadoop@yuliang\.com>, service=smtp, rip=127\.0\.0\.1, reason=passwd-file:$T/passwd: password mismatch" \
    "$T/maillog"

# The log lines: Postfix's wording, and the cause of each temporary failure.
mr_wait_for "the submission failure in the log" grep -q "postfix/submission/smtpd\[[0-9]*\]: warning: unknown\[127.0.0.1\]: SASL LOGIN authentication failed: authentication failure" "$T/maillog"
for line in \
    "warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: authentication failure" \
    "warning: unknown[127.0.0.1]: SASL LOGIN authentication failed: authentication failure" \
    "warning: unknown[127.0.0.1]: SASL CRAM-MD5 authentication failed: authentication failure" \
    "warning: SASL authentication problem: problem talking to server private/fake-authd: connection closed without a reply" \
    "warning: SASL authentication problem: problem talking to server private/fake-authd: timeout" \
    "warning: SASL authentication problem: connect to /nonexistent/authd: No such file or directory" \
    "warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: Connection lost to authentication server"; do
    mr_wait_for "log line: $line" grep -qF "$line" "$T/maillog"
done

# fail2ban: the stock postfix filter (mode=aggressive) matches the
# submission service's lines as they are, with the client's address; the
# default syslog_name (mailroom/smtpd) needs the filter's _daemon option.
# Temporary failures ("Connection lost to authentication server") are left
# alone by the filter: an authd outage bans nobody.
f2b() {
    fail2ban-regex "$@" >"$T/f2b" 2>&1 || mr_fail "fail2ban-regex $*: $(cat "$T/f2b")"
}
STOCK="/etc/fail2ban/filter.d/postfix.conf[mode=aggressive]"
MAILROOM="/etc/fail2ban/filter.d/postfix.conf[mode=aggressive, _daemon=\"(?:postfix|mailroom)(-\w+)?/\w+(?:/smtp[ds])?\"]"
submission=$(grep -c "postfix/submission/smtpd.*SASL LOGIN authentication failed" "$T/maillog")
failures=$(grep "SASL [A-Z0-9-]* authentication failed: " "$T/maillog" | grep -vc "Connection lost to authentication server")
[ "$submission" -ge 1 ] && [ "$failures" -gt "$submission" ] || mr_fail "log counts: $submission $failures"
f2b "$T/maillog" "$STOCK"
# (The first rule is the SASL one; disconnect lines with auth=0/N match another.)
grep -q "^|   1) \[$submission\] .*SASL" "$T/f2b" || mr_fail "stock filter: not $submission SASL matches: $(cat "$T/f2b")"
f2b -o ip "$T/maillog" "$STOCK"
[ "$(sort -u "$T/f2b")" = "127.0.0.1" ] || mr_fail "stock filter: addresses: $(cat "$T/f2b")"
f2b "$T/maillog" "$MAILROOM"
grep -q "^|   1) \[$failures\] .*SASL" "$T/f2b" || mr_fail "filter with _daemon: not $failures SASL matches: $(cat "$T/f2b")"
echo "ok"
