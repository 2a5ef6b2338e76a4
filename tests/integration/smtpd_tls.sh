#!/bin/bash
# smtpd_tls.sh - STARTTLS and SMTPS against a real instance with a
# self-signed certificate made by `openssl req`: EHLO offers STARTTLS only
# before TLS, mail sent over TLS (smtplib, swaks --tls, openssl s_client
# -starttls smtp) is queued with "with ESMTPS" and the "(using ...)" clause
# and delivered; encrypt answers 530 before STARTTLS; wrapper mode; a bad
# certificate disables TLS with a warning naming the file; and the STARTTLS
# injection attack (CVE-2011-0411): commands pipelined behind STARTTLS are
# refused (smtpd_forbid_unauth_pipelining = yes) or thrown away, never
# executed inside TLS.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom postcat
P=$(mr_free_port)   # may
PE=$(mr_free_port)  # encrypt
PW=$(mr_free_port)  # wrapper mode
PN=$(mr_free_port)  # smtpd_forbid_unauth_pipelining = no
PB=$(mr_free_port)  # a certificate file that does not exist
PD=$(mr_free_port)  # smtpd_discard_ehlo_keywords = starttls
PR=$(mr_free_port)  # reject_plaintext_session
qs_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$PE inet n - n - - smtpd -o smtpd_tls_security_level=encrypt" \
    "127.0.0.1:$PW inet n - n - - smtpd -o smtpd_tls_wrappermode=yes" \
    "127.0.0.1:$PN inet n - n - - smtpd -o smtpd_forbid_unauth_pipelining=no" \
    "127.0.0.1:$PB inet n - n - - smtpd -o smtpd_tls_cert_file=/nonexistent/missing-cert.pem" \
    "127.0.0.1:$PD inet n - n - - smtpd -o smtpd_discard_ehlo_keywords=starttls" \
    "127.0.0.1:$PR inet n - n - - smtpd -o smtpd_relay_restrictions=reject_plaintext_session,permit_mynetworks,reject_unauth_destination"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.test \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1 || mr_fail "openssl req"
chmod 600 "$T/key.pem"
echo '/^Subject: hold me/ HOLD' >"$T/header_checks"
{
    echo "local_recipient_maps ="
    echo "smtpd_tls_security_level = may"
    echo "smtpd_tls_cert_file = $T/cert.pem"
    echo "smtpd_tls_key_file = $T/key.pem"
    echo "smtpd_tls_loglevel = 1"
    echo "smtpd_tls_received_header = yes"
    echo "header_checks = regexp:$T/header_checks"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" "$PE" "$PW" "$PN" "$PB" "$PD" "$PR" >"$T/reply" 2>&1 <<'PY' || mr_fail "smtplib: $(cat "$T/reply")"
import smtplib, socket, ssl, sys
P, PE, PW, PN, PB, PD, PR = (int(a) for a in sys.argv[1:])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def lines(text):
    return text.decode().split("\n")

# may: STARTTLS offered before TLS only; mail over TLS is queued.
s = smtplib.SMTP("127.0.0.1", P, timeout=10)
code, text = s.ehlo("client.example")
assert code == 250 and "STARTTLS" in lines(text), text
code, text = s.starttls(context=ctx)
assert (code, text) == (220, b"2.0.0 Ready to start TLS"), (code, text)
code, text = s.ehlo("client.example")
assert code == 250 and "STARTTLS" not in lines(text), text
code, text = s.docmd("STARTTLS")
assert (code, text) == (554, b"5.5.1 Error: TLS already active"), (code, text)
s.mail("alice@example.org")
s.rcpt("bob@remote.test")
code, text = s.data("Subject: hold me\r\n\r\nsecret\r\n")
assert code == 250, (code, text)
print("HELD", text.decode().split()[-1])
s.mail("alice@example.org")
s.rcpt("carol@remote.test")
code, text = s.data("Subject: over tls\r\n\r\nhello\r\n")
assert code == 250, (code, text)
print("SENT", text.decode().split()[-1])
s.quit()

# A new EHLO is needed after STARTTLS (RFC 3207: the HELO name is forgotten).
s = smtplib.SMTP("127.0.0.1", P, timeout=10)
s.ehlo("client.example")
s.starttls(context=ctx)
code, text = s.docmd("MAIL", "FROM:<alice@example.org>")
assert code == 250, (code, text)  # smtpd_helo_required = no, as in Postfix
s.quit()

# encrypt: 530 before STARTTLS, except for EHLO HELO NOOP RSET QUIT.
s = smtplib.SMTP("127.0.0.1", PE, timeout=10)
code, text = s.ehlo("client.example")
assert "STARTTLS" in lines(text), text
for cmd, arg in (("MAIL", "FROM:<alice@example.org>"), ("RCPT", "TO:<bob@remote.test>"), ("VRFY", "bob"),
                 ("DATA", ""), ("AUTH", "PLAIN")):
    code, text = s.docmd(cmd, arg)
    assert (code, text) == (530, b"5.7.0 Must issue a STARTTLS command first"), (cmd, code, text)
for cmd in ("NOOP", "RSET"):
    code, text = s.docmd(cmd)
    assert code == 250, (cmd, code, text)
s.starttls(context=ctx)
s.ehlo("client.example")
code, text = s.docmd("MAIL", "FROM:<alice@example.org>")
assert code == 250, (code, text)
s.quit()

# Wrapper mode: TLS from the first byte, the greeting inside it, no STARTTLS.
s = smtplib.SMTP_SSL("127.0.0.1", PW, timeout=10, context=ctx)
code, text = s.ehlo("client.example")
assert code == 250 and "STARTTLS" not in lines(text), text
code, text = s.docmd("STARTTLS")
assert (code, text) == (554, b"5.5.1 Error: TLS already active"), (code, text)
s.mail("alice@example.org")
s.rcpt("dave@remote.test")
code, text = s.data("Subject: smtps\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()

# A certificate that cannot be loaded: no STARTTLS, and 454 when asked.
s = smtplib.SMTP("127.0.0.1", PB, timeout=10)
code, text = s.ehlo("client.example")
assert "STARTTLS" not in lines(text), text
code, text = s.docmd("STARTTLS")
assert (code, text) == (454, b"4.7.0 TLS not available due to local problem"), (code, text)
s.quit()

# smtpd_discard_ehlo_keywords hides STARTTLS.
s = smtplib.SMTP("127.0.0.1", PD, timeout=10)
code, text = s.ehlo("client.example")
assert code == 250 and "STARTTLS" not in lines(text), text
s.quit()

# reject_plaintext_session sees the TLS state.
s = smtplib.SMTP("127.0.0.1", PR, timeout=10)
s.ehlo("client.example")
s.mail("alice@example.org")
code, text = s.rcpt("bob@remote.test")
assert (code, text) == (450, b"4.7.1 Session encryption is required"), (code, text)
s.rset()
s.starttls(context=ctx)
s.ehlo("client.example")
s.mail("alice@example.org")
code, text = s.rcpt("bob@remote.test")
assert code == 250, (code, text)
s.quit()

def read_reply(f):
    out = []
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed")
        out.append(line.decode().rstrip("\r\n"))
        if line[3:4] != b"-":
            return out

# STARTTLS injection, default smtpd_forbid_unauth_pipelining = yes: refused.
raw = socket.create_connection(("127.0.0.1", P), timeout=10)
f = raw.makefile("rb")
read_reply(f)
raw.sendall(b"EHLO client.example\r\n")
read_reply(f)
raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected-refused@evil.test>\r\n")
r = read_reply(f)
assert r == ["554 5.5.0 Error: SMTP protocol synchronization"], r
assert f.readline() == b"", "connection stays open"
raw.close()

# STARTTLS injection with pipelining allowed: the plaintext behind STARTTLS
# is thrown away; the first reply inside TLS answers our own next command.
raw = socket.create_connection(("127.0.0.1", PN), timeout=10)
f = raw.makefile("rb", buffering=0)
read_reply(f)
raw.sendall(b"EHLO client.example\r\n")
read_reply(f)
raw.sendall(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRCPT TO:<victim@remote.test>\r\n")
r = read_reply(f)
assert r == ["220 2.0.0 Ready to start TLS"], r
tls = ctx.wrap_socket(raw, server_hostname="mx.example.test")
tf = tls.makefile("rb")
tls.sendall(b"EHLO client.example\r\n")
r = read_reply(tf)
assert r[0] == "250-mx.example.test", r
tls.sendall(b"MAIL FROM:<real@example.org>\r\n")
r = read_reply(tf)
assert r == ["250 2.1.0 Ok"], r   # a nested MAIL would be 503
tls.sendall(b"RCPT TO:<bob@remote.test>\r\n")
assert read_reply(tf) == ["250 2.1.5 Ok"]
tls.sendall(b"QUIT\r\n")
assert read_reply(tf) == ["221 2.0.0 Bye"]
tls.close()

# Plaintext where the handshake should be: the handshake fails.
raw = socket.create_connection(("127.0.0.1", P), timeout=10)
f = raw.makefile("rb", buffering=0)
read_reply(f)
raw.sendall(b"EHLO client.example\r\n")
read_reply(f)
raw.sendall(b"STARTTLS\r\n")
assert read_reply(f) == ["220 2.0.0 Ready to start TLS"]
raw.sendall(b"MAIL FROM:<plain-after-starttls@evil.test>\r\n")
try:
    raw.recv(100)  # an alert or the close
except OSError:
    pass
raw.close()
PY
HELD=$(sed -n 's/^HELD \([0-9A-F]*\)$/\1/p' "$T/reply")
SENT=$(sed -n 's/^SENT \([0-9A-F]*\)$/\1/p' "$T/reply")
[ -n "$HELD" ] && [ -n "$SENT" ] || mr_fail "no queue IDs in: $(cat "$T/reply")"

# The log: Postfix's summary line at smtpd_tls_loglevel = 1.
grep -Eq "mailroom/smtpd\[[0-9]+\]: Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.[0-9] with cipher [A-Z0-9_-]+ \([0-9]+/[0-9]+ bits\)\$" \
    "$T/maillog" || mr_fail "TLS established log line"
grep -q "warning: cannot load certificate file /nonexistent/missing-cert.pem: .*: disabling TLS support" "$T/maillog" ||
    mr_fail "bad certificate warning"
mr_wait_for "handshake failure logged" grep -Eq "SSL_accept error from unknown\[127\.0\.0\.1\]: " "$T/maillog"
mr_wait_for "lost connection after STARTTLS" grep -q "lost connection after STARTTLS from unknown\[127\.0\.0\.1\]" "$T/maillog"
grep -q "improper command pipelining after STARTTLS from unknown\[127\.0\.0\.1\]: MAIL FROM:<injected-refused@evil.test>" \
    "$T/maillog" || mr_fail "refused injection not logged"
# The injected commands were never executed: no line but the pipelining
# note mentions them, and that session counted one MAIL and one RCPT.
if grep -E "injected@evil|victim@remote|plain-after-starttls" "$T/maillog" | grep -v "improper command pipelining after STARTTLS"; then
    mr_fail "an injected command left a trace"
fi
mr_wait_for "injection session counters" \
    grep -Eq "disconnect from unknown\[127\.0\.0\.1\] ehlo=2 starttls=1 mail=1 rcpt=1 quit=1 commands=6\$" "$T/maillog"

# The message sent over TLS: Received says ESMTPS with the TLS clause.
"$MAILROOM_BIN/postcat" -c "$CONF" -q "$HELD" >"$T/held" 2>&1 || mr_fail "postcat: $(cat "$T/held")"
grep -Eq "^	\(using TLSv1\.[0-9] with cipher [A-Z0-9_-]+ \([0-9]+/[0-9]+ bits\)\)\$" "$T/held" ||
    mr_fail "Received TLS clause: $(cat "$T/held")"
grep -q "^	(No client certificate requested)\$" "$T/held" || mr_fail "client certificate clause"
grep -q "^	by mx.example.test (mailroom) with ESMTPS id $HELD\$" "$T/held" || mr_fail "with ESMTPS: $(cat "$T/held")"
mr_wait_for "delivery over TLS" grep -Eq "discard\[[0-9]+\]: $SENT: to=<carol@remote\.test>, .*status=sent" "$T/maillog"

# openssl s_client -starttls smtp: a whole transaction (s_client writes all
# of it at once, so on the port that allows pipelining).
printf 'EHLO sclient.example\nMAIL FROM:<s_client@example.org>\nRCPT TO:<erin@remote.test>\nDATA\nSubject: s_client\n\nhello\n.\nQUIT\n' |
    timeout 20 openssl s_client -starttls smtp -connect "127.0.0.1:$PN" -crlf -quiet -ign_eof >"$T/sclient" 2>&1
grep -q "^250 2.0.0 Ok: queued as " "$T/sclient" || mr_fail "s_client: $(cat "$T/sclient")"
grep -q "^221 2.0.0 Bye" "$T/sclient" || mr_fail "s_client QUIT: $(cat "$T/sclient")"

# swaks --tls.
swaks --tls --server 127.0.0.1 --port "$P" --helo swaks.example --from alice@example.org --to frank@remote.test \
    --header "Subject: swaks over tls" >"$T/swaks" 2>&1 || mr_fail "swaks --tls: $(cat "$T/swaks")"
grep -Eq "<~ +250 2\.0\.0 Ok: queued as " "$T/swaks" || mr_fail "swaks: $(cat "$T/swaks")"
grep -q "=== TLS started with cipher" "$T/swaks" || mr_fail "swaks TLS: $(cat "$T/swaks")"
mr_wait_for "swaks delivery" grep -Eq "discard\[[0-9]+\]: [0-9A-F]+: to=<frank@remote\.test>, .*status=sent" "$T/maillog"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_tls: ok"
