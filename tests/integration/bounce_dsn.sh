#!/bin/bash
# bounce_dsn.sh - delivery status notifications end to end.
#
# Mail to an error: transport bounces; the bounce service sends the sender
# a non-delivery notification (RFC 3464) from <>, which the virtual agent
# delivers to the sender's Maildir; Python's email package reads it back.
# NOTIFY=NEVER suppresses the notice; a message past maximal_queue_lifetime
# bounces as expired (4.4.7). A notice that itself bounces goes to the
# postmaster once, and mail from the double-bounce sender that bounces is
# discarded: nothing loops, and the queue drains. Through smtpd, RET=HDRS,
# ENVID, NOTIFY and ORCPT reach the notice.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
P=$(mr_free_port)
dl_setup "127.0.0.1:$P inet n - n - - smtpd" \
         "bounce    unix  -       -       n       -       0       bounce" \
         "defer     unix  -       -       n       -       0       bounce" \
         "trace     unix  -       -       n       -       0       bounce"

if dl_root; then
    VUID=$(id -u nobody)
    VGID=$(id -g nobody)
else
    VUID=$(id -u)
    VGID=$(id -g)
fi
VBASE="$T/vmail"
mkdir -p "$VBASE"
chown "$VUID:$VGID" "$VBASE"
printf 'alice@sender.test sender.test/alice/\npostmaster@sender.test sender.test/postmaster/\n' >"$T/vmailbox"
printf 'gone.test error:5.1.1 mailbox unavailable\nlater.test error:4.3.2 try again later\nsender.test virtual:\n' \
    >"$T/transport"
{
    echo "transport_maps = texthash:$T/transport"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = texthash:$T/vmailbox"
    echo "virtual_mailbox_domains = sender.test"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    echo "2bounce_notice_recipient = postmaster@sender.test"
    echo "maximal_queue_lifetime = 0"
    echo "local_recipient_maps ="
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# The queue ID of the notice sent about message $1 ("... notification: ID").
notice_of() {
    sed -n "s/.*\]: $1: $2 notification: \([0-9A-F]*\)\$/\1/p" "$T/maillog" | head -n 1
}
# The Maildir file holding the message whose queue ID is $2, in Maildir $1.
maildir_file() {
    local f
    for f in "$1"/new/*; do
        [ -f "$f" ] && grep -q "$2@mx.example.test" "$f" && { echo "$f"; return 0; }
    done
    return 1
}

# 1. Two recipients bounce; one notice lists both, with ENVID.
printf 'Subject: bounce me\nFrom: Alice <alice@sender.test>\n\nthe original body\n' |
    dl_send -f alice@sender.test -V ENV-IT-1 bob@gone.test carol@gone.test || mr_fail "sendmail 1"
dl_wait_log "to=<carol@gone\.test>, relay=none, .*dsn=5\.1\.1, status=bounced \(mailbox unavailable\)"
ID=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<bob@gone\.test>, .*status=bounced.*/\1/p' "$T/maillog" | head -n 1)
[ -n "$ID" ] || mr_fail "no bounce line"
dl_wait_log "bounce\[[0-9]+\]: $ID: sender non-delivery notification: [0-9A-F]+\$"
NID=$(notice_of "$ID" "sender non-delivery")
dl_wait_log "qmgr\[[0-9]+\]: $NID: from=<>, size=[0-9]+, nrcpt=1 \(queue active\)"
dl_wait_log "virtual\[[0-9]+\]: $NID: to=<alice@sender\.test>, relay=virtual, .*status=sent"
dl_wait_log "qmgr\[[0-9]+\]: $ID: removed\$"
[ -z "$(find "$Q/bounce" -type f)" ] || mr_fail "bounce logfile left behind"
F=$(maildir_file "$VBASE/sender.test/alice" "$NID") || mr_fail "notice not in alice's Maildir"
python3 - "$F" "$ID" <<'PY' || mr_fail "notice content (see above)"
import email, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
qid = sys.argv[2]
def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        print(open(sys.argv[1]).read(), file=sys.stderr)
        sys.exit(1)
check(msg["Return-Path"] == "<>", "Return-Path <>: %r" % msg["Return-Path"])
check(msg["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.test>", "From: %r" % msg["From"])
check(msg["Subject"] == "Undelivered Mail Returned to Sender", "Subject")
check(msg["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
check(msg["To"] == "alice@sender.test", "To")
check(msg["Message-ID"] and msg["Message-ID"].endswith("@mx.example.test>"), "Message-ID")
check(msg.get_content_type() == "multipart/report", "type %s" % msg.get_content_type())
check(msg.get_param("report-type") == "delivery-status", "report-type")
parts = msg.get_payload()
check(len(parts) == 3, "three parts, got %d" % len(parts))
check(parts[0].get_content_type() == "text/plain", "part 1 text/plain")
text = parts[0].get_payload()
check(text.startswith("This is the mail system at host mx.example.test."), "text opening")
check("<bob@gone.test>: mailbox unavailable" in text, "bob in the text")
check(parts[1].get_content_type() == "message/delivery-status", "part 2 type")
groups = parts[1].get_payload()  # compat32: a list of header blocks
check(len(groups) == 3, "per-message + 2 recipients, got %d" % len(groups))
m = groups[0]
check(m["Original-Envelope-Id"] == "ENV-IT-1", "Original-Envelope-Id")
check(m["Reporting-MTA"] == "dns; mx.example.test", "Reporting-MTA")
check(m["X-Mailroom-Queue-ID"] == qid, "X-Mailroom-Queue-ID %r" % m["X-Mailroom-Queue-ID"])
check(m["X-Mailroom-Sender"] == "rfc822; alice@sender.test", "X-Mailroom-Sender")
check(m["Arrival-Date"], "Arrival-Date")
rcpts = sorted(g["Final-Recipient"] for g in groups[1:])
check(rcpts == ["rfc822; bob@gone.test", "rfc822; carol@gone.test"], "Final-Recipient %r" % rcpts)
for g in groups[1:]:
    check(g["Action"] == "failed", "Action")
    check(g["Status"] == "5.1.1", "Status %r" % g["Status"])
check(parts[2].get_content_type() == "message/rfc822", "part 3 type")
orig = parts[2].get_payload()[0]
check(orig["Subject"] == "bounce me", "original Subject")
check("the original body" in orig.get_payload(), "original body")
PY

# 2. NOTIFY=NEVER: the recipient bounces, nobody is told.
printf 'Subject: quiet\n\nx\n' | dl_send -f alice@sender.test -N never dave@gone.test || mr_fail "sendmail 2"
dl_wait_log "to=<dave@gone\.test>, .*status=bounced"
ID2=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<dave@gone\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "qmgr\[[0-9]+\]: $ID2: removed\$"
grep -q "$ID2: sender non-delivery notification" "$T/maillog" && mr_fail "NOTIFY=NEVER got a notice"

# 3. Past maximal_queue_lifetime (0 here) a deferred recipient expires.
printf 'Subject: slow\n\nx\n' | dl_send -f alice@sender.test erin@later.test || mr_fail "sendmail 3"
dl_wait_log "to=<erin@later\.test>, .*status=deferred \(try again later\)"
ID3=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<erin@later\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "qmgr\[[0-9]+\]: $ID3: from=<alice@sender\.test>, status=expired, returned to sender\$"
dl_wait_log "$ID3: sender non-delivery notification: [0-9A-F]+\$"
NID3=$(notice_of "$ID3" "sender non-delivery")
dl_wait_log "virtual\[[0-9]+\]: $NID3: to=<alice@sender\.test>, .*status=sent"
F3=$(maildir_file "$VBASE/sender.test/alice" "$NID3") || mr_fail "expiry notice not delivered"
grep -q '^Status: 4\.4\.7$' "$F3" || mr_fail "expiry notice without Status: 4.4.7"
grep -q 'message expired: try again later' "$F3" || mr_fail "expiry notice without its reason"
[ -z "$(find "$Q/defer" -type f)" ] || mr_fail "defer logfile left behind"

# 4. The sender's own domain bounces: the notice (from <>) bounces too and
#    goes to the postmaster, from the double-bounce sender, exactly once.
printf 'Subject: to nowhere\n\nx\n' | dl_send -f ghost@gone.test frank@gone.test || mr_fail "sendmail 4"
dl_wait_log "to=<frank@gone\.test>, .*status=bounced"
ID4=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<frank@gone\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "$ID4: sender non-delivery notification: [0-9A-F]+\$"
NID4=$(notice_of "$ID4" "sender non-delivery")
dl_wait_log "$NID4: to=<ghost@gone\.test>, .*status=bounced"
dl_wait_log "$NID4: postmaster non-delivery notification: [0-9A-F]+\$"
PID4=$(notice_of "$NID4" "postmaster non-delivery")
dl_wait_log "qmgr\[[0-9]+\]: $PID4: from=<double-bounce@mx\.example\.test>, "
dl_wait_log "virtual\[[0-9]+\]: $PID4: to=<postmaster@sender\.test>, .*status=sent"
F4=$(maildir_file "$VBASE/sender.test/postmaster" "$PID4") || mr_fail "postmaster copy not delivered"
grep -q '^Subject: Postmaster Copy: Undelivered Mail$' "$F4" || mr_fail "postmaster copy subject"

# 5. Mail from the double-bounce sender that bounces is discarded.
printf 'Subject: last\n\nx\n' | dl_send -f double-bounce gina@gone.test || mr_fail "sendmail 5"
dl_wait_log "to=<gina@gone\.test>, .*status=bounced"
ID5=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<gina@gone\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "bounce\[[0-9]+\]: $ID5: undeliverable postmaster notification discarded\$"
dl_wait_log "qmgr\[[0-9]+\]: $ID5: removed\$"

# 6. Through SMTP with the DSN extension: RET=HDRS returns the header only,
#    ORCPT becomes Original-Recipient, ENVID Original-Envelope-Id.
python3 - "$P" >"$T/reply" <<'PY' || mr_fail "smtplib: $(cat "$T/reply")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
assert s.has_extn("dsn"), "no DSN in EHLO"
s.mail("alice@sender.test", ["RET=HDRS", "ENVID=SMTP-ENV-6"])
s.rcpt("hank@gone.test", ["NOTIFY=FAILURE", "ORCPT=rfc822;Hank@Gone.Test"])
code, text = s.data("Subject: via smtp\r\n\r\nsecret body\r\n")
print(code, text.decode())
assert code == 250
s.quit()
PY
ID6=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/reply")
[ -n "$ID6" ] || mr_fail "no queue ID in: $(cat "$T/reply")"
dl_wait_log "$ID6: sender non-delivery notification: [0-9A-F]+\$"
NID6=$(notice_of "$ID6" "sender non-delivery")
dl_wait_log "virtual\[[0-9]+\]: $NID6: to=<alice@sender\.test>, .*status=sent"
F6=$(maildir_file "$VBASE/sender.test/alice" "$NID6") || mr_fail "SMTP notice not delivered"
python3 - "$F6" <<'PY' || mr_fail "SMTP notice content"
import email, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.compat32)
parts = msg.get_payload()
assert msg.get_content_type() == "multipart/report" and len(parts) == 3, msg.get_content_type()
groups = parts[1].get_payload()
assert groups[0]["Original-Envelope-Id"] == "SMTP-ENV-6", groups[0]["Original-Envelope-Id"]
assert groups[1]["Final-Recipient"] == "rfc822; hank@gone.test", groups[1]["Final-Recipient"]
assert groups[1]["Original-Recipient"] == "rfc822; Hank@Gone.Test", groups[1]["Original-Recipient"]
assert parts[2].get_content_type() == "text/rfc822-headers", parts[2].get_content_type()
assert "Subject: via smtp" in parts[2].get_payload()
assert "secret body" not in parts[2].get_payload()
PY

# Nothing loops: once the queue is empty (every notice delivered, no
# logfile left) nothing more can happen, and there were exactly 5 notices.
mr_wait_for "queue empty" mr_queue_idle
[ "$(grep -c 'notification: [0-9A-F]*$' "$T/maillog")" -eq 5 ] ||
    mr_fail "expected exactly 5 notices: $(grep 'notification: ' "$T/maillog")"
OUT=$(MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p)
[ "$OUT" = "Mail queue is empty" ] || mr_fail "queue not empty: $OUT"
[ -z "$(find "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/bounce" "$Q/defer" "$Q/trace" -type f)" ] ||
    mr_fail "files left in the queue: $(find "$Q" -type f)"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS"
