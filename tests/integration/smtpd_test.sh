#!/bin/bash
# smtpd_test.sh - the SMTP server end to end: master + smtpd + cleanup, with
# the seed document's telnet dialogues replayed line by line against the
# seed's main.cf settings, restrictions from the seed (relay control,
# check_client/sender/recipient_access), size and recipient limits, an SMTP
# smuggling attempt, and real clients (Python smtplib, swaks with and
# without pipelining). qmgr is left out so that every accepted message
# stays in incoming/ and can be counted and read with postcat.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup master mailroom postcat
mr_require_commands swaks
D="python3 $HERE/smtpd_dialogue.py"
P1=$(mr_free_port)  # the seed's settings
P2=$(mr_free_port)  # mynetworks without 127.0.0.1
P3=$(mr_free_port)  # check_client_access
P4=$(mr_free_port)  # check_sender_access + check_recipient_access
P5=$(mr_free_port)  # limits, bare LF rejected
QS_NO_QMGR=1 qs_setup \
    "127.0.0.1:$P1 inet n - n - - smtpd" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o mynetworks=192.168.3.0/25" \
    "127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_client_restrictions=check_client_access,texthash:__T__/access" \
    "127.0.0.1:$P4 inet n - n - - smtpd -o smtpd_sender_restrictions=check_sender_access,texthash:__T__/access -o smtpd_recipient_restrictions=check_recipient_access,texthash:__T__/recipient,permit_mynetworks,reject_unauth_destination" \
    "127.0.0.1:$P5 inet n - n - - smtpd -o message_size_limit=3000 -o smtpd_recipient_limit=2 -o smtpd_forbid_bare_newline=yes -o smtpd_forbid_bare_newline_exclusions=192.168.3.0/25"
sed -i "s|__T__|$T|g" "$CONF/master.cf"
# The seed's 02-yuliang.cf, and its banner.
cat >>"$CONF/main.cf" <<'CF'
mynetworks = 192.168.3.0/25, 127.0.0.0/8
myhostname = mail.yuliang.com
myorigin = $myhostname
mydomain = yuliang.com
mydestination=$myhostname, $mydomain, localhost, ns.$mydomain
smtpd_banner = $myhostname ESMTP Postfix
CF
printf '127.0.0.1 REJECT\nwhitehouse.com REJECT\n' >"$T/access"
printf 'openstack@ REJECT\n' >"$T/recipient"
# The seed's hosts had these users; here they are alias keys, which
# local_recipient_maps (proxy:unix:passwd.byname $alias_maps) consults.
for u in hadoop openstack b c d e f g r1 r2 r3; do echo "$u root"; done >"$T/aliases"
echo "alias_maps = texthash:$T/aliases" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

queued() { find "$Q/incoming" -type f | wc -l; }
ID_RE='[0-9A-F]+'

# 1. The seed's first telnet dialogue (helo without a name, bare addresses).
$D "$P1" <<EOF2 || mr_fail "seed dialogue 1"
< 220 mail.yuliang.com ESMTP Postfix
> helo
< 501 Syntax: HELO hostname
> mail from:hadoop
< 250 2.1.0 Ok
> rcpt to:openstack
< 250 2.1.5 Ok
> data
< 354 End data with <CR><LF>.<CR><LF>
> how are you?  
> you know what!
> i have done yet     
> .
< 250 2.0.0 Ok: queued as $ID_RE
> quit
< 221 2.0.0 Bye
closed
EOF2
[ "$(queued)" -eq 1 ] || mr_fail "expected 1 queued message, have $(queued)"
grep -Eq "mailroom/smtpd\[[0-9]+\]: connect from unknown\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "connect line"
grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID_RE: client=unknown\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "client= line"
grep -Eq "mailroom/smtpd\[[0-9]+\]: disconnect from unknown\[127\.0\.0\.1\] helo=0/1 mail=1 rcpt=1 data=1 quit=1 commands=4/5\$" \
    "$T/maillog" || mr_fail "disconnect line"

# The queue file: envelope, client attributes and Postfix's Received: header.
ID=$(sed -n 's/.*smtpd\[[0-9]*\]: \([0-9A-F]*\): client=.*/\1/p' "$T/maillog" | head -n 1)
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postcat" -c "$CONF" -q "$ID" >"$T/cat1" || mr_fail "postcat $ID"
grep -q '^Received: from unknown (unknown \[127\.0\.0\.1\])$' "$T/cat1" || mr_fail "Received line 1: $(cat "$T/cat1")"
grep -Eq "^[[:space:]]+by mail\.yuliang\.com \(mailroom\) with SMTP id $ID\$" "$T/cat1" || mr_fail "Received line 2: $(cat "$T/cat1")"
grep -Eq "^[[:space:]]+for <openstack>; [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4} \(.*\)\$" \
    "$T/cat1" || mr_fail "Received line 3"
grep -q '^how are you?  $' "$T/cat1" || mr_fail "body line kept with its blanks"
grep -q 'client_address.*127.0.0.1' "$T/cat1" || mr_fail "client_address attribute"

# 2. Relay for mynetworks (seed: mail from:abc@abc.com, rcpt to:obama@whitehouse.com).
$D "$P1" <<'EOF2' || mr_fail "relay from mynetworks"
< 220 .*
> helo mail.yuliang.com
< 250 mail.yuliang.com
> mail from:abc@abc.com
< 250 2.1.0 Ok
> rcpt to:obama@whitehouse.com
< 250 2.1.5 Ok
> quit
< 221 2.0.0 Bye
EOF2

# Unknown local users are refused (local_recipient_maps).
$D "$P1" <<'EOF2' || mr_fail "unknown local recipient"
< 220 .*
> helo mail.yuliang.com
< 250 mail.yuliang.com
> mail from:abc@abc.com
< 250 2.1.0 Ok
> rcpt to:nosuchuser@yuliang.com
< 550 5.1.1 <nosuchuser@yuliang.com>: Recipient address rejected: User unknown in local recipient table
> quit
< 221 2.0.0 Bye
EOF2

# 3. ... and not for a client outside mynetworks (seed transcript, 454).
$D "$P2" <<'EOF2' || mr_fail "relay denied outside mynetworks"
< 220 mail.yuliang.com ESMTP Postfix
> helo   
< 501 Syntax: HELO hostname
> mail from:abc@qq.com
< 250 2.1.0 Ok
> rcpt to:obama@whitehouse.com
< 454 4.7.1 <obama@whitehouse.com>: Relay access denied
> quit
< 221 2.0.0 Bye
EOF2
grep -Fq "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 454 4.7.1 <obama@whitehouse.com>: Relay access denied; from=<abc@qq.com> to=<obama@whitehouse.com> proto=SMTP" \
    "$T/maillog" || mr_fail "relay reject log line"

# 4. check_client_access hash-style table (seed: REJECT gives the client text).
$D "$P3" <<'EOF2' || mr_fail "check_client_access"
< 220 .*
> helo c.example
< 250 mail.yuliang.com
> mail from:a@example.org
< 250 2.1.0 Ok
> rcpt to:openstack@yuliang.com
< 554 5.7.1 <unknown\[127\.0\.0\.1\]>: Client host rejected: Access denied
> quit
< 221 2.0.0 Bye
EOF2

# 5. check_sender_access and check_recipient_access (seed transcripts).
$D "$P4" <<'EOF2' || mr_fail "check_sender_access"
< 220 mail.yuliang.com ESMTP Postfix
> helo
< 501 Syntax: HELO hostname
> mail from:obama@whitehouse.com
< 250 2.1.0 Ok
> rcpt to:openstack@yuliang.com
< 554 5.7.1 <obama@whitehouse.com>: Sender address rejected: Access denied
> quit
< 221 2.0.0 Bye
EOF2
$D "$P4" <<'EOF2' || mr_fail "check_recipient_access"
< 220 mail.yuliang.com ESMTP Postfix
> helo
< 501 Syntax: HELO hostname
> mail from:1062817308@qq.com
< 250 2.1.0 Ok
> rcpt to:openstack@yuliang.com 
< 554 5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied
> quit 
< 221 2.0.0 Bye
EOF2
[ "$(queued)" -eq 1 ] || mr_fail "rejected dialogues must not queue mail"

# 6. SMTP smuggling: "\n.\n" inside DATA does not end the message; the
#    smuggled MAIL/RCPT/DATA stay content and one message is queued.
$D "$P1" <<'EOF2' || mr_fail "smuggling dialogue"
< 220 .*
> EHLO client.example
<< 250-PIPELINING
> MAIL FROM:<a@example.org>
< 250 2.1.0 Ok
> RCPT TO:<b@yuliang.com>
< 250 2.1.5 Ok
> DATA
< 354 End data with <CR><LF>.<CR><LF>
>> b"Subject: smuggle\r\n\r\nhello\n.\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@yuliang.com>\r\nDATA\r\nsmuggled\r\n.\r\n"
< 250 2.0.0 Ok: queued as [0-9A-F]+
> QUIT
< 221 2.0.0 Bye
closed
EOF2
[ "$(queued)" -eq 2 ] || mr_fail "smuggling: expected 2 queued messages in all, have $(queued)"
ID=$(sed -n 's/.*smtpd\[[0-9]*\]: \([0-9A-F]*\): client=.*/\1/p' "$T/maillog" | tail -n 1)
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postcat" -c "$CONF" -q "$ID" >"$T/cat2" || mr_fail "postcat $ID"
grep -q '^MAIL FROM:<evil@example.net>$' "$T/cat2" || mr_fail "smuggled command must stay content"
grep -q 'victim@yuliang.com' "$T/cat2" && ! grep -q 'RCPT TO:<victim@yuliang.com>' "$T/cat2" &&
    mr_fail "smuggled recipient reached the envelope"

# 7. smtpd_forbid_bare_newline = yes: a bare LF ends the session with 521.
$D "$P5" <<'EOF2' || mr_fail "bare LF reject"
< 220 .*
> EHLO client.example
<< 250-SIZE 3000
> MAIL FROM:<a@example.org>
< 250 2.1.0 Ok
> RCPT TO:<b@yuliang.com>
< 250 2.1.5 Ok
> DATA
< 354 End data with <CR><LF>.<CR><LF>
>> b"Subject: x\r\n\r\nhello\n.\r\n"
< 521 5.5.2 mail.yuliang.com Error: bare <LF> received
closed
EOF2

# 8. Limits: SIZE=, the message itself, and smtpd_recipient_limit.
$D "$P5" <<'EOF2' || mr_fail "limits"
< 220 .*
> EHLO client.example
<< 250-SIZE 3000
> MAIL FROM:<a@example.org> SIZE=4000
< 552 5.3.4 Message size exceeds fixed limit
> MAIL FROM:<a@example.org>
< 250 2.1.0 Ok
> RCPT TO:<r1@yuliang.com>
< 250 2.1.5 Ok
> RCPT TO:<r2@yuliang.com>
< 250 2.1.5 Ok
> RCPT TO:<r3@yuliang.com>
< 452 4.5.3 Error: too many recipients
> QUIT
< 221 2.0.0 Bye
EOF2
python3 - "$P5" <<'PY' || mr_fail "smtplib size limit"
import smtplib, sys
big = "Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 100
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
# With SIZE= the limit applies at MAIL FROM ...
try:
    s.sendmail("a@example.org", ["b@yuliang.com"], big)
except smtplib.SMTPSenderRefused as e:
    assert e.smtp_code == 552 and e.smtp_error == b"5.3.4 Message size exceeds fixed limit", e
else:
    raise SystemExit("SIZE= over message_size_limit was accepted")
# ... and without it, at the end of DATA.
assert s.mail("a@example.org")[0] == 250
assert s.rcpt("b@yuliang.com")[0] == 250
assert s.data(big) == (552, b"5.3.4 Message size exceeds fixed limit"), "DATA over the limit"
s.quit()
PY
[ "$(queued)" -eq 2 ] || mr_fail "limits: nothing new may be queued, have $(queued)"

# 9. Real clients: Python smtplib (EHLO, DSN parameters, dot-stuffing) ...
python3 - "$P1" <<'PY' || mr_fail "smtplib"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
assert s.has_extn("pipelining") and s.has_extn("chunking") and s.has_extn("dsn")
assert not s.has_extn("starttls") and not s.has_extn("auth")
msg = "Subject: smtplib\r\n\r\n.leading dot\r\nlast\r\n"
refused = s.sendmail("a@example.org", ["c@yuliang.com", "d@yuliang.com"], msg,
                     mail_options=["RET=HDRS"], rcpt_options=["NOTIFY=FAILURE"])
assert refused == {}, refused
code, text = s.docmd("STARTTLS")
assert (code, text) == (502, b"5.5.1 Error: command not implemented"), (code, text)
s.quit()
PY
[ "$(queued)" -eq 3 ] || mr_fail "smtplib message not queued"
ID=$(sed -n 's/.*smtpd\[[0-9]*\]: \([0-9A-F]*\): client=.*/\1/p' "$T/maillog" | tail -n 1)
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postcat" -c "$CONF" -q "$ID" >"$T/cat3" || mr_fail "postcat $ID"
grep -Eq "^[[:space:]]+by mail\.yuliang\.com \(mailroom\) with ESMTP id $ID;\$" "$T/cat3" ||
    mr_fail "Received for two recipients: $(cat "$T/cat3")"
grep -q '^\.leading dot$' "$T/cat3" || mr_fail "dot-unstuffing"

# ... and swaks, without and with pipelining.
swaks --server 127.0.0.1 --port "$P1" --helo client.example --from a@example.org --to e@yuliang.com \
    --no-tls --timeout 10 >"$T/swaks1" 2>&1 || mr_fail "swaks: $(cat "$T/swaks1")"
grep -Eq '250 2\.0\.0 Ok: queued as [0-9A-F]+' "$T/swaks1" || mr_fail "swaks reply: $(cat "$T/swaks1")"
swaks --server 127.0.0.1 --port "$P1" --helo client.example --from a@example.org --to f@yuliang.com,g@yuliang.com \
    --pipeline --no-tls --timeout 10 >"$T/swaks2" 2>&1 ||
    mr_fail "swaks --pipeline: $(cat "$T/swaks2")"
grep -Eq '250 2\.0\.0 Ok: queued as [0-9A-F]+' "$T/swaks2" || mr_fail "swaks pipeline reply: $(cat "$T/swaks2")"
grep -q ' ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6$' "$T/maillog" || mr_fail "swaks pipelined session log"
[ "$(queued)" -eq 5 ] || mr_fail "swaks messages not queued, have $(queued)"

# 10. Many sessions at once (one smtpd process serves several on its loop).
python3 - "$P1" <<'PY' || mr_fail "concurrent sessions"
import smtplib, sys, threading
port = int(sys.argv[1])
errors = []
def one(i):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=20)
        s.ehlo("client%d.example" % i)
        s.mail("a@example.org")
        s.rcpt("b@yuliang.com")
        code, _ = s.data("Subject: parallel %d\r\n\r\n" % i + "line\r\n" * 500)
        if code != 250:
            errors.append(code)
        s.quit()
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
PY
[ "$(queued)" -eq 15 ] || mr_fail "concurrent sessions: expected 15 queued, have $(queued)"

# 11. smtpd_timeout and smtpd_hard_error_limit.
P6=$(mr_free_port)
echo "127.0.0.1:$P6 inet n - n - - smtpd -o smtpd_timeout=1 -o smtpd_hard_error_limit=2" >>"$CONF/master.cf"
"$MR" -c "$CONF" reload || mr_fail "reload failed"
mr_wait_for "reloaded listener" python3 -c "import socket; socket.create_connection(('127.0.0.1', $P6), timeout=1)"
$D "$P6" <<'EOF2' || mr_fail "timeout"
< 220 .*
< 421 4.4.2 mail.yuliang.com Error: timeout exceeded
closed
EOF2
grep -q "timeout after CONNECT from unknown\[127.0.0.1\]" "$T/maillog" || mr_fail "timeout log line"
$D "$P6" <<'EOF2' || mr_fail "hard error limit"
< 220 .*
> bogus
< 502 5.5.2 Error: command not recognized
> bogus
< 502 5.5.2 Error: command not recognized
< 421 4.7.0 mail.yuliang.com Error: too many errors
closed
EOF2

# 12. Improper pipelining after HELO (no PIPELINING offered) is refused.
$D "$P1" <<'EOF2' || mr_fail "unauthorised pipelining"
< 220 .*
>> b"HELO c.example\r\nMAIL FROM:<a@example.org>\r\n"
< 554 5.5.0 Error: SMTP protocol synchronization
closed
EOF2
grep -q "improper command pipelining after HELO from unknown\[127.0.0.1\]: MAIL FROM:<a@example.org>$" "$T/maillog" ||
    mr_fail "improper pipelining log line"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -n "${SMTPD_TEST_SHOW_LOG:-}" ] && cat "$T/maillog"
echo "smtpd_test: ok"
