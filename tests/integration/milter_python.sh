#!/bin/bash
# milter_python.sh - smtpd_milters with a real libmilter milter (Debian's
# python3-milter, milter_python.py): every modification action lands in the
# delivered Maildir message and the envelope; reject, tempfail, discard and
# quarantine at MAIL, RCPT and end of message reach the client with the
# milter's text, are logged as Postfix logs them, and leave nothing (or a
# held file) behind; a milter that is down gives milter_default_action.
# Mail from sendmail goes through the same milter as non_smtpd_milters
# (cleanup runs it for pickup).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr virtual master mailroom postcat
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import Milter' 2>/dev/null ||
    mr_fail "python3-milter is not installed (scripts/install-deps installs it)"

P=$(mr_free_port)      # smtpd with the milter
PD=$(mr_free_port)     # smtpd with a milter that is down (default tempfail)
PA=$(mr_free_port)     # the same with default_action=accept
MP=$(mr_free_port)     # the milter
DEAD=$(mr_free_port)   # nobody listens here
PS=$(mr_free_port)     # the milter, with AUTH on (MAIL FROM takes AUTH=)
PT=$(mr_free_port)     # the milter by host name, TLS asking for a client certificate
dl_setup "127.0.0.1:$P inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MP" \
    "127.0.0.1:$PS inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MP -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=authd" \
    "127.0.0.1:$PD inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$DEAD" \
    "127.0.0.1:$PA inet n - n - - smtpd -o smtpd_milters={inet:127.0.0.1:$DEAD,default_action=accept}"
# The TLS service: its certificate, and a client certificate from a test CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || mr_fail "openssl req (server)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Mailroom Test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1 || mr_fail "openssl req (CA)"
openssl req -newkey rsa:2048 -nodes -subj /CN=client.example -keyout "$T/client.key" -out "$T/client.csr" \
    >/dev/null 2>&1 || mr_fail "openssl req (client)"
openssl x509 -req -in "$T/client.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -out "$T/client.pem" >/dev/null 2>&1 || mr_fail "openssl x509 (client)"
chmod 600 "$T/key.pem"
echo "127.0.0.1:$PT inet n - n - - smtpd -o smtpd_milters=inet:localhost:$MP -o smtpd_tls_security_level=may" \
    "-o smtpd_tls_cert_file=$T/cert.pem -o smtpd_tls_key_file=$T/key.pem -o smtpd_tls_CAfile=$T/ca.pem" \
    "-o smtpd_tls_ask_ccert=yes -o smtpd_tls_loglevel=1" >>"$CONF/master.cf"
for u in to added addedpar deleted plain rcpt-reject rcpt-tempfail; do echo "$u@vdom.test vdom.test/$u/Maildir/"; done >"$T/vmailbox"
dl_vmail vdom.test
echo "non_smtpd_milters = inet:127.0.0.1:$MP" >>"$CONF/main.cf"
# milter_header_checks on the header the milter adds to every message.
echo "milter_header_checks = regexp:$T/milter_header_checks" >>"$CONF/main.cf"
printf '%s\n' '/^X-Test-Milter-Seen: .* body=header-check-reject$/ REJECT refused by milter_header_checks' \
    '/^X-Test-Milter-Seen: .* body=header-check-ignore$/ IGNORE' >"$T/milter_header_checks"
# A sender domain with its own route, for {mail_mailer} and {mail_host}.
echo "transport_maps = inline:{ routed.test=smtp:[192.0.2.9] }" >>"$CONF/main.cf"

MILTER_PID=""
milter_cleanup() {
    [ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null
    dl_cleanup
}
trap milter_cleanup EXIT
/usr/bin/python3 "$HERE/milter_python.py" "$MP" >"$T/milter.out" 2>&1 &
MILTER_PID=$!
mr_wait_for "the milter listens" python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$MP"
"$MR" -c "$CONF" start || mr_fail "start failed"

# One SMTP session per case; prints "CODE TEXT" of the step that matters.
smtp() {
    python3 - "$@" <<'PY'
import smtplib, sys
port, sender, rcpts, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(","), sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
code, text = s.ehlo("client.example")
if code != 250:
    print(code, text.decode()); s.quit(); sys.exit(0)
code, text = s.mail(sender)
if code != 250:
    print(code, text.decode()); s.quit(); sys.exit(0)
ok = 0
for r in rcpts:
    code, text = s.rcpt(r)
    if code != 250:
        print(code, text.decode())
    else:
        ok += 1
if ok:
    msg = "Subject: %s\r\nX-Remove-Me: please\r\nFrom: <%s>\r\n\r\noriginal first line\r\noriginal body\r\n" % (subject, sender)
    code, text = s.data(msg)
    print(code, text.decode())
s.quit()
PY
}
id_of() { sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' <<<"$1"; }

# 1. Every modification action.
R=$(smtp "$P" sender@vdom.test to@vdom.test,deleted@vdom.test edit)
ID=$(id_of "$R")
[ -n "$ID" ] || mr_fail "edit: $R"
dl_wait_log "$ID: to=<added@vdom\.test>, relay=virtual, .*status=sent"
dl_wait_log "$ID: to=<addedpar@vdom\.test>, relay=virtual, .*status=sent"
dl_wait_log "$ID: to=<to@vdom\.test>, relay=virtual, .*status=sent"
dl_wait_log "$ID: removed"
grep -q "$ID: to=<deleted@vdom.test>" "$T/maillog" && mr_fail "the deleted recipient got the message"
grep -Eq "qmgr\[[0-9]+\]: $ID: from=<changed@vdom\.test>, size=[0-9]+, nrcpt=3 " "$T/maillog" || mr_fail "changed sender / nrcpt"
grep -Eq "smtpd\[[0-9]+\]: milter inet:127\.0\.0\.1:$MP: change sender <<changed@vdom\.test>>" "$T/maillog" ||
    mr_fail "change sender log"
F=$(ls "$VBASE"/vdom.test/to/Maildir/new/*)
[ -f "$F" ] || mr_fail "no message in to/Maildir"
python3 - "$F" "$ID" <<'PY' || mr_fail "edited message: $(cat "$F")"
import sys
text = open(sys.argv[1]).read()
head, _, body = text.partition("\n\n")
lines = head.split("\n")
names = [l.split(":", 1)[0] for l in lines if l and not l[0].isspace()]
assert "Return-Path: <changed@vdom.test>" in lines, lines
assert names.index("X-Milter-First") < names.index("Received"), names
assert "X-Milter-First: inserted at the top" in lines
assert "Subject: edited by milter" in lines, lines
assert "X-Remove-Me" not in names, names
assert "X-Milter-Added: added at the end" in lines
assert "X-Test-Milter-Seen: id=%s from=<sender@vdom.test> body=original first line" % sys.argv[2] in lines, lines
assert body == "body replaced by the milter\nsecond line\n", repr(body)
PY
ls "$VBASE"/vdom.test/added/Maildir/new/* >/dev/null || mr_fail "added recipient has no message"

# 2. Rejects before DATA, with the milter's text.
R=$(smtp "$P" mail-reject@vdom.test to@vdom.test plain)
[ "$R" = "550 5.7.1 sender refused by test milter" ] || mr_fail "MAIL reject: $R"
grep -Eq "smtpd\[[0-9]+\]: NOQUEUE: milter-reject: MAIL from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 sender refused by test milter; from=<mail-reject@vdom\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "MAIL reject log"
R=$(smtp "$P" sender@vdom.test rcpt-reject@vdom.test,rcpt-tempfail@vdom.test,plain@vdom.test plain)
grep -qx "550 5.1.1 recipient refused by test milter" <<<"$R" || mr_fail "RCPT reject: $R"
grep -qx "451 4.7.1 Service unavailable - try again later" <<<"$R" || mr_fail "RCPT tempfail: $R"
PID=$(id_of "$(tail -n 1 <<<"$R")")
[ -n "$PID" ] || mr_fail "the accepted recipient: $R"
grep -Eq "NOQUEUE: milter-reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 recipient refused by test milter; from=<sender@vdom\.test> to=<rcpt-reject@vdom\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "RCPT reject log"
dl_wait_log "$PID: to=<plain@vdom\.test>, relay=virtual, .*status=sent"

# 3. End of message: reject, tempfail, discard, quarantine.
R=$(smtp "$P" sender@vdom.test plain@vdom.test reject)
[ "$R" = "554 5.7.1 content refused by test milter" ] || mr_fail "EOM reject: $R"
RID=$(sed -n 's/.*smtpd\[[0-9]*\]: \([0-9A-F]*\): milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 5\.7\.1 content refused by test milter; from=<sender@vdom\.test> to=<plain@vdom\.test> proto=ESMTP helo=<client\.example>$/\1/p' "$T/maillog")
[ -n "$RID" ] || mr_fail "EOM reject log"
R=$(smtp "$P" sender@vdom.test plain@vdom.test tempfail)
[ "$R" = "451 4.7.0 try later, says the test milter" ] || mr_fail "EOM tempfail: $R"
R=$(smtp "$P" sender@vdom.test plain@vdom.test discard)
DID=$(id_of "$R")
[ -n "$DID" ] || mr_fail "discard: $R"
grep -Eq "smtpd\[[0-9]+\]: $DID: milter-discard: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: milter triggers DISCARD action; from=<sender@vdom\.test> to=<plain@vdom\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "discard log"
R=$(smtp "$P" sender@vdom.test plain@vdom.test quarantine)
HID=$(id_of "$R")
[ -n "$HID" ] || mr_fail "quarantine: $R"
grep -Eq "smtpd\[[0-9]+\]: $HID: milter-hold: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: held by test milter; from=<sender@vdom\.test>" \
    "$T/maillog" || mr_fail "hold log"
mr_wait_for "the held file" test -f "$Q/hold/$HID"
mr_wait_for "an idle queue" mr_queue_idle
for id in $RID $DID $HID; do
    grep -q "$id: to=" "$T/maillog" && mr_fail "$id was delivered"
done
[ "$(ls "$Q/hold")" = "$HID" ] || mr_fail "hold/ holds: $(ls "$Q/hold")"

# BDAT: the milters see DATA at the first chunk and the message after LAST.
python3 - "$P" >"$T/bdat" <<'PY' || mr_fail "BDAT: $(cat "$T/bdat")"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 30)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline().decode().rstrip("\r\n")
        lines.append(l)
        if l[3:4] != "-":
            return lines
reply()
for subject in ("plain", "reject"):
    s.sendall(b"EHLO client.example\r\n")
    assert any(l[4:] == "CHUNKING" for l in reply())
    s.sendall(b"MAIL FROM:<bdat@vdom.test>\r\n"); reply()
    s.sendall(b"RCPT TO:<plain@vdom.test>\r\n"); reply()
    msg = ("Subject: %s\r\n\r\nsent with bdat\r\n" % subject).encode()
    s.sendall(b"BDAT 10\r\n" + msg[:10]); print(reply()[-1])
    s.sendall(b"BDAT %d LAST\r\n" % (len(msg) - 10) + msg[10:]); print(reply()[-1])
s.sendall(b"QUIT\r\n"); reply()
PY
[ "$(sed -n 1p "$T/bdat")" = "250 2.0.0 Ok: 10 bytes" ] || mr_fail "BDAT chunk: $(cat "$T/bdat")"
BDID=$(id_of "$(sed -n 2p "$T/bdat")")
[ -n "$BDID" ] || mr_fail "BDAT plain: $(cat "$T/bdat")"
[ "$(sed -n 4p "$T/bdat")" = "554 5.7.1 content refused by test milter" ] || mr_fail "BDAT reject: $(cat "$T/bdat")"
dl_wait_log "$BDID: to=<plain@vdom\.test>, relay=virtual, .*status=sent"

# 4. A milter that is down: tempfail by default, accept when configured.
R=$(smtp "$PD" sender@vdom.test plain@vdom.test plain)
[ "$R" = "451 4.7.1 Service unavailable - try again later" ] || mr_fail "milter down, tempfail: $R"
grep -Eq "smtpd\[[0-9]+\]: warning: milter inet:127\.0\.0\.1:$DEAD: connect to inet:127\.0\.0\.1:$DEAD: connect: Connection refused\$" \
    "$T/maillog" || mr_fail "milter down warning"
grep -Eq "NOQUEUE: milter-reject: CONNECT from unknown\[127\.0\.0\.1\]: 451 4\.7\.1 Service unavailable - try again later; from=<> proto=SMTP\$" \
    "$T/maillog" || mr_fail "CONNECT tempfail log"
R=$(smtp "$PA" sender@vdom.test plain@vdom.test plain)
AID=$(id_of "$R")
[ -n "$AID" ] || mr_fail "milter down, accept: $R"
dl_wait_log "$AID: to=<plain@vdom\.test>, relay=virtual, .*status=sent"

# 5. A large message (4 MB, a 10000-byte line) goes through the milter
# in chunks and arrives unchanged.
python3 - "$P" <<'PY' || mr_fail "large message"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
body = "first large line\r\n" + "".join("line %06d %s\r\n" % (i, "x" * 60) for i in range(60000)) + "y" * 10000 + "\r\n"
s.sendmail("big@vdom.test", ["plain@vdom.test"], "Subject: big\r\n\r\n" + body)
s.quit()
PY
dl_wait_log "from=<big@vdom\.test>, size=[0-9]{7},"
BID=$(sed -n 's/.*qmgr\[[0-9]*\]: \([0-9A-F]*\): from=<big@vdom\.test>.*/\1/p' "$T/maillog")
dl_wait_log "$BID: to=<plain@vdom\.test>, relay=virtual, .*status=sent"
B=$(grep -l "^X-Test-Milter-Seen: id=$BID from=<big@vdom.test> body=first large line" "$VBASE"/vdom.test/plain/Maildir/new/*)
[ -n "$B" ] || mr_fail "large message not seen by the milter"
python3 - "$B" <<'PY' || mr_fail "large message content"
import sys
body = open(sys.argv[1]).read().partition("\n\n")[2]
lines = body.split("\n")
assert lines[0] == "first large line", lines[0]
assert lines[60000] == "line 059999 " + "x" * 60, lines[60000]
assert lines[61] == "line 000060 " + "x" * 60
assert lines[60001] == "y" * 10000, len(lines[60001])
PY

# 6. non_smtpd_milters: sendmail -> pickup -> cleanup -> the milter.
printf 'Subject: edit\nX-Remove-Me: yes\n\nlocal first line\n' | dl_send -f local@vdom.test to@vdom.test deleted@vdom.test ||
    mr_fail "sendmail edit"
dl_wait_log "cleanup\[[0-9]+\]: milter inet:127\.0\.0\.1:$MP: change sender <<changed@vdom\.test>>"
LID=$(sed -n 's/.*cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=.*/\1/p' "$T/maillog" | tail -n 1)
dl_wait_log "$LID: to=<addedpar@vdom\.test>, relay=virtual, .*status=sent"
dl_wait_log "$LID: to=<to@vdom\.test>, relay=virtual, .*status=sent"
dl_wait_log "$LID: removed"
grep -q "$LID: to=<deleted@vdom.test>" "$T/maillog" && mr_fail "local mail: the deleted recipient got it"
F=$(grep -l "^X-Test-Milter-Seen: id=$LID from=<local@vdom.test> body=local first line" "$VBASE"/vdom.test/to/Maildir/new/*)
[ -n "$F" ] || mr_fail "local mail: no message seen by the milter in to/"
grep -q "^Subject: edited by milter" "$F" && grep -q "^Return-Path: <changed@vdom.test>" "$F" &&
    grep -q "^body replaced by the milter" "$F" && ! grep -q "^X-Remove-Me" "$F" || mr_fail "local mail edits: $(cat "$F")"
printf 'Subject: discard\n\nbye\n' | dl_send -f local@vdom.test plain@vdom.test || mr_fail "sendmail discard"
dl_wait_log "cleanup\[[0-9]+\]: [0-9A-F]+: milter-discard: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: milter triggers DISCARD action; from=<local@vdom\.test> to=<plain@vdom\.test>\$"

# 7. The MAIL and RCPT macros as Postfix fills them: {auth_author} from
# AUTH=, the sender's and the recipient's transport and nexthop (the
# address class's transport, or transport_maps), empty for the null sender;
# {cert_subject} and {cert_issuer} from the client's certificate (through
# the milter named inet:localhost:PORT).
python3 - "$PS" "$PT" "$T" >"$T/macros" <<'PY' || mr_fail "macros: $(cat "$T/macros")"
import smtplib, ssl, sys
port, tls_port, t = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for p, sender, opts in ((port, "someone@routed.test", ["AUTH=author@vdom.test"]), (port, "", []),
                        (tls_port, "tls@vdom.test", [])):
    s = smtplib.SMTP("127.0.0.1", p, timeout=30)
    s.ehlo("client.example")
    if p == tls_port:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(t + "/client.pem", t + "/client.key")
        code, text = s.starttls(context=ctx)
        assert code == 220, (code, text)
        s.ehlo("client.example")
    code, text = s.mail(sender, opts)
    assert code == 250, (code, text)
    code, text = s.rcpt("plain@vdom.test")
    assert code == 250, (code, text)
    code, text = s.data("Subject: macros\r\nFrom: <%s>\r\n\r\nmacros\r\n" % sender)
    print(code, text.decode())
    s.quit()
PY
for id in $(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/macros"); do
    dl_wait_log "$id: to=<plain@vdom\.test>, relay=virtual, .*status=sent"
done
grep -Eq "smtpd\[[0-9]+\]: Trusted TLS connection established from [^ ]+\[127\.0\.0\.1\]: TLS" "$T/maillog" ||
    mr_fail "no Trusted TLS connection log line"
grep -qx "X-Test-Milter-Macros: auth_author=author@vdom.test mail_mailer=smtp mail_host=\[192.0.2.9\] cert_subject=None cert_issuer=None rcpt=<plain@vdom.test>:virtual/vdom.test" \
    "$VBASE"/vdom.test/plain/Maildir/new/* || mr_fail "macros: $(grep -h X-Test-Milter-Macros "$VBASE"/vdom.test/plain/Maildir/new/*)"
grep -qx "X-Test-Milter-Macros: auth_author=None mail_mailer= mail_host= cert_subject=None cert_issuer=None rcpt=<plain@vdom.test>:virtual/vdom.test" \
    "$VBASE"/vdom.test/plain/Maildir/new/* || mr_fail "null sender macros: $(grep -h X-Test-Milter-Macros "$VBASE"/vdom.test/plain/Maildir/new/*)"
grep -qx "X-Test-Milter-Macros: auth_author=None mail_mailer=virtual mail_host=vdom.test cert_subject=client.example cert_issuer=Mailroom Test CA rcpt=<plain@vdom.test>:virtual/vdom.test" \
    "$VBASE"/vdom.test/plain/Maildir/new/* || mr_fail "TLS macros: $(grep -h X-Test-Milter-Macros "$VBASE"/vdom.test/plain/Maildir/new/*)"

# 8. CHGFROM's ESMTP arguments change the envelope; ADDRCPT_PAR keeps
# NOTIFY and ORCPT; unknown arguments are ignored with a warning.
R=$(smtp "$P" sender@vdom.test plain@vdom.test esmtp)
EID=$(id_of "$R")
[ -n "$EID" ] || mr_fail "esmtp: $R"
mr_wait_for "the held file" test -f "$Q/hold/$EID"
"$MAILROOM_BIN/postcat" -c "$CONF" -e -q "$EID" >"$T/esmtp" || mr_fail "postcat: $(cat "$T/esmtp")"
for want in "sender: esmtp@vdom.test" "named_attribute: encoding=8bit" "dsn_ret_flags: HDRS" \
    "dsn_envelope_id: env+id" "dsn_orig_rcpt: rfc822;orig@vdom.test" "notify_flags: SUCCESS,DELAY"; do
    grep -qxF "$want" "$T/esmtp" || mr_fail "esmtp envelope lacks '$want': $(cat "$T/esmtp")"
done
grep -Eq "smtpd\[[0-9]+\]: warning: milter inet:127\.0\.0\.1:$MP: ignoring ESMTP argument from MILTER: \"XFOO=1\"\$" "$T/maillog" ||
    mr_fail "no warning for XFOO"
grep -Eq "smtpd\[[0-9]+\]: warning: milter inet:127\.0\.0\.1:$MP: ignoring ESMTP argument from MILTER: \"BOGUS=1\"\$" "$T/maillog" ||
    mr_fail "no warning for BOGUS"

# 9. milter_header_checks: the header the milter adds is looked up; REJECT
# refuses the message at the final dot, IGNORE drops the header; the same
# for mail from sendmail (cleanup's non_smtpd_milters).
python3 - "$P" >"$T/hchecks" <<'PY' || mr_fail "milter_header_checks: $(cat "$T/hchecks")"
import smtplib, sys
for line in ("header-check-reject", "header-check-ignore"):
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
    s.ehlo("client.example")
    s.mail("checks@vdom.test")
    s.rcpt("plain@vdom.test")
    try:
        code, text = s.data("Subject: checks\r\n\r\n%s\r\n" % line)
    except smtplib.SMTPDataError as e:
        code, text = e.smtp_code, e.smtp_error
    print(code, text.decode())
    s.quit()
PY
[ "$(sed -n 1p "$T/hchecks")" = "550 5.7.1 refused by milter_header_checks" ] || mr_fail "header check REJECT: $(cat "$T/hchecks")"
grep -Eq "smtpd\[[0-9]+\]: milter inet:127\.0\.0\.1:$MP: reject: milter-header X-Test-Milter-Seen: id=[0-9A-F]+ from=<checks@vdom\.test> body=header-check-reject: 5\.7\.1 refused by milter_header_checks\$" \
    "$T/maillog" || mr_fail "header check reject log"
IID=$(id_of "$(sed -n 2p "$T/hchecks")")
[ -n "$IID" ] || mr_fail "header check IGNORE: $(cat "$T/hchecks")"
dl_wait_log "$IID: to=<plain@vdom\.test>, relay=virtual, .*status=sent"
F=$(grep -l "^header-check-ignore" "$VBASE"/vdom.test/plain/Maildir/new/*)
[ -n "$F" ] || mr_fail "the IGNORE message is not in plain/"
grep -q "^X-Test-Milter-Seen" "$F" && mr_fail "IGNORE kept the milter's header: $(cat "$F")"
printf 'Subject: checks\n\nheader-check-reject\n' | dl_send -f local@vdom.test plain@vdom.test || mr_fail "sendmail checks"
dl_wait_log "cleanup\[[0-9]+\]: milter inet:127\.0\.0\.1:$MP: reject: milter-header X-Test-Milter-Seen: id=[0-9A-F]+ from=<local@vdom\.test> body=header-check-reject: 5\.7\.1 refused by milter_header_checks\$"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "milter_python: ok"
