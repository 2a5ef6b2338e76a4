#!/bin/bash
# cleanup_mime.sh - which content check sees which line, through smtpd.
#
# header_checks see the primary header, nested_header_checks the header of
# an attached message/rfc822, mime_header_checks the MIME headers and the
# headers of body parts, body_checks the body lines but not part headers.
# A nested Subject: that only nested_header_checks rejects passes as a
# primary header, and one that only header_checks rejects passes when
# nested. Python's smtplib sends each message and reads cleanup's answer.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd"
printf '/^Subject: .*outer-bad/ REJECT outer subject rejected\n' >"$T/header_checks"
printf '/^Subject: .*inner-bad/ REJECT nested subject rejected\n' >"$T/nested_header_checks"
printf '/^Content-Disposition: .*evil\\.exe/ REJECT attachment rejected\n' >"$T/mime_header_checks"
printf '/^X-Body-Test:/ REJECT body line rejected\n' >"$T/body_checks"
{
    echo "local_recipient_maps ="
    echo "header_checks = regexp:$T/header_checks"
    echo "nested_header_checks = regexp:$T/nested_header_checks"
    echo "mime_header_checks = regexp:$T/mime_header_checks"
    echo "body_checks = regexp:$T/body_checks"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postconf" nested_header_checks | grep -q "^nested_header_checks = regexp:" ||
    mr_fail "postconf does not know nested_header_checks"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postconf" -d nested_header_checks | grep -qx 'nested_header_checks = $header_checks' ||
    mr_fail "postconf -d nested_header_checks"

python3 - "$P" <<'PY' || mr_fail "content checks (see above)"
import smtplib, sys
port = int(sys.argv[1])

def message(primary_subject, nested_subject, part_header="", body_line="plain text"):
    return (
        "From: alice@client.test\r\n"
        "Subject: %s\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"==b1\"\r\n"
        "\r\n"
        "--==b1\r\n"
        "Content-Type: text/plain\r\n%s"
        "\r\n"
        "%s\r\n"
        "Subject: inner-bad as a body line is no header\r\n"
        "--==b1\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "From: bob@client.test\r\n"
        "Subject: %s\r\n"
        "\r\n"
        "the attached body\r\n"
        "--==b1--\r\n" % (primary_subject, part_header, body_line, nested_subject))

cases = [
    ("nested Subject rejected by nested_header_checks",
     message("hello", "inner-bad"), 550, "nested subject rejected"),
    ("the same Subject as the primary header passes",
     message("inner-bad", "fine"), 250, None),
    ("primary Subject rejected by header_checks",
     message("outer-bad", "fine"), 550, "outer subject rejected"),
    ("the same Subject nested passes (header_checks do not see it)",
     message("hello", "outer-bad"), 250, None),
    ("a part's MIME header goes to mime_header_checks",
     message("hello", "fine", "Content-Disposition: attachment; filename=evil.exe\r\n"), 550, "attachment rejected"),
    ("a part header is not a body line",
     message("hello", "fine", "X-Body-Test: in a part header\r\n"), 250, None),
    ("a body line goes to body_checks",
     message("hello", "fine", "", "X-Body-Test: in the body"), 550, "body line rejected"),
]
failed = False
for what, msg, want_code, want_text in cases:
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.test")
    s.mail("alice@client.test")
    s.rcpt("rcpt@remote.test")
    code, text = s.data(msg.encode())
    s.quit()
    text = text.decode()
    ok = code == want_code and (want_text is None or want_text in text)
    print("%s: %s: %d %s" % ("ok" if ok else "FAIL", what, code, text))
    failed |= not ok
sys.exit(1 if failed else 0)
PY
grep -Eq "cleanup\[[0-9]+\]: [0-9A-F]+: reject: header Subject: inner-bad from unknown\[127\.0\.0\.1\]; from=<alice@client\.test> to=<rcpt@remote\.test>: 5\.7\.1 nested subject rejected\$" \
    "$T/maillog" || mr_fail "cleanup's reject line for the nested header"

# mime_nesting_limit: a structure nested deeper is refused with 5.6.0.
echo "mime_nesting_limit = 3" >>"$CONF/main.cf"
# cleanup reads mime_nesting_limit: no cleanup of the old configuration may
# take the next message.
mr_reload smtpd cleanup
python3 - "$P" <<'PY' || mr_fail "nesting limit"
import smtplib, sys
m = "Subject: deep\r\nContent-Type: multipart/mixed; boundary=l0\r\n\r\n"
for i in range(1, 6):
    m += "--l%d\r\nContent-Type: multipart/mixed; boundary=l%d\r\n\r\n" % (i - 1, i)
m += "--l5\r\n\r\ndeep text\r\n"
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.test")
s.mail("alice@client.test")
s.rcpt("rcpt@remote.test")
code, text = s.data(m.encode())
s.quit()
print(code, text.decode())
assert code == 550 and b"5.6.0" in text and b"MIME nesting exceeds safety limit" in text, (code, text)
PY
mr_wait_for "accepted messages delivered" sh -c "[ \$(grep -c 'status=sent' '$T/maillog') -ge 3 ]"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "cleanup_mime: ok"
