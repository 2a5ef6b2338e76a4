#!/bin/bash
# submit_bounce.sh - what a local sender is told.
#
# sendmail -R hdrs / -R full (DSN RET) with -V (ENVID) and -N (NOTIFY):
# a message that bounces comes back with only its header, or whole, and
# the notice carries the envelope ID. Then pickup's permanently rejected
# messages: header_checks REJECT and message_size_limit do not make the
# message vanish; the sender gets a non-delivery notice with the reject
# text (5.7.1 / 5.3.4), read back with Python's email package from the
# sender's Maildir, and the queue drains.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
dl_setup "bounce    unix  -       -       n       -       0       bounce" \
         "defer     unix  -       -       n       -       0       bounce" \
         "trace     unix  -       -       n       -       0       bounce"
printf 'alice@sender.test sender.test/alice/\n' >"$T/vmailbox"
dl_vmail sender.test
printf 'gone.test error:5.1.1 mailbox unavailable\nsender.test virtual:\n' >"$T/transport"
printf '/^Subject: .*forbidden/ REJECT no forbidden mail here\n' >"$T/header_checks"
{
    echo "transport_maps = texthash:$T/transport"
    echo "header_checks = regexp:$T/header_checks"
    echo "message_size_limit = 60000"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

notice_of() {
    sed -n "s/.*\]: $1: sender non-delivery notification: \([0-9A-F]*\)\$/\1/p" "$T/maillog" | head -n 1
}
maildir_file() {
    local f
    for f in "$VBASE"/sender.test/alice/new/*; do
        [ -f "$f" ] && grep -q "$1@mx.example.test" "$f" && { echo "$f"; return 0; }
    done
    return 1
}
# The notice about the message whose delivery line matches $1, once delivered.
notice_file() {
    dl_wait_log "$1"
    local id nid
    id=$(grep -E "$1" "$T/maillog" | head -n 1 | sed -n 's/.*\]: \([0-9A-F]*\): to=.*/\1/p')
    [ -n "$id" ] || mr_fail "no queue ID for $1"
    dl_wait_log "$id: sender non-delivery notification: [0-9A-F]+\$"
    nid=$(notice_of "$id")
    dl_wait_log "virtual\[[0-9]+\]: $nid: to=<alice@sender\.test>, .*status=sent"
    maildir_file "$nid" || mr_fail "notice $nid not in alice's Maildir"
}

# Checks one notice: python3 check_notice FILE STATUS REASON RETURNED [ENVID]
# RETURNED: headers (text/rfc822-headers, no body) or full (message/rfc822).
cat >"$T/check_notice.py" <<'PY'
import email, sys
from email import policy
path, status, reason, returned = sys.argv[1:5]
envid = sys.argv[5] if len(sys.argv) > 5 else None
msg = email.message_from_binary_file(open(path, "rb"), policy=policy.compat32)
def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        print(open(path, errors="replace").read()[:4000], file=sys.stderr)
        sys.exit(1)
check(msg["Subject"] == "Undelivered Mail Returned to Sender", "Subject")
check(msg["To"] == "alice@sender.test", "To %r" % msg["To"])
check(msg.get_content_type() == "multipart/report", "type")
parts = msg.get_payload()
check(len(parts) == 3, "three parts")
check(reason in parts[0].get_payload(), "reason %r in the text" % reason)
groups = parts[1].get_payload()
check(groups[1]["Action"] == "failed", "Action")
check(groups[1]["Status"] == status, "Status %r" % groups[1]["Status"])
if envid:
    check(groups[0]["Original-Envelope-Id"] == envid, "Original-Envelope-Id %r" % groups[0]["Original-Envelope-Id"])
if returned == "headers":
    check(parts[2].get_content_type() == "text/rfc822-headers", "part 3 %s" % parts[2].get_content_type())
    check("the original body" not in parts[2].get_payload(), "body returned with -R hdrs")
    check("Subject: " in parts[2].get_payload(), "header returned")
else:
    check(parts[2].get_content_type() == "message/rfc822", "part 3 %s" % parts[2].get_content_type())
    orig = parts[2].get_payload()[0]
    check("the original body" in orig.get_payload(), "original body")
PY

# 1. -R hdrs with -V: the notice returns only the header and names the ENVID.
printf 'Subject: ret hdrs\n\nthe original body\n' |
    dl_send -f alice@sender.test -R hdrs -V ENV-R-1 bob@gone.test || mr_fail "sendmail -R hdrs"
F=$(notice_file "to=<bob@gone\.test>, .*status=bounced") || exit 1
python3 "$T/check_notice.py" "$F" 5.1.1 "mailbox unavailable" headers ENV-R-1 || mr_fail "-R hdrs notice"

# 2. -R full with -N failure: the whole message comes back.
printf 'Subject: ret full\n\nthe original body\n' |
    dl_send -f alice@sender.test -R full -N failure carol@gone.test || mr_fail "sendmail -R full"
F=$(notice_file "to=<carol@gone\.test>, .*status=bounced") || exit 1
python3 "$T/check_notice.py" "$F" 5.1.1 "mailbox unavailable" full || mr_fail "-R full notice"

# 3. header_checks REJECT of a local submission: bounced with the rule's text.
printf 'Subject: forbidden fruit\n\nthe original body\n' |
    dl_send -f alice@sender.test dave@remote.test || mr_fail "sendmail rejected message"
dl_wait_log "cleanup\[[0-9]+\]: [0-9A-F]+: reject: header Subject: forbidden fruit from local; .*: 5\.7\.1 no forbidden mail here\$"
F=$(notice_file "cleanup\[[0-9]+\]: [0-9A-F]+: to=<dave@remote\.test>, relay=none, .*dsn=5\.7\.1, status=bounced \(no forbidden mail here\)") ||
    exit 1
python3 "$T/check_notice.py" "$F" 5.7.1 "no forbidden mail here" full || mr_fail "REJECT notice"
grep -q "to=<dave@remote.test>, .*status=sent" "$T/maillog" && mr_fail "rejected message delivered"

# 4. message_size_limit: bounced 5.3.4. The copy kept is cut at the limit,
#    which is over bounce_size_limit (50000): the notice returns the header.
python3 -c "
import sys
sys.stdout.write('Subject: too big\n\nthe original body\n' + ('x' * 70 + '\n') * 1500)" |
    dl_send -f alice@sender.test erin@remote.test || mr_fail "sendmail big message"
F=$(notice_file "to=<erin@remote\.test>, relay=none, .*dsn=5\.3\.4, status=bounced \(message file too big\)") || exit 1
python3 "$T/check_notice.py" "$F" 5.3.4 "message file too big" headers || mr_fail "size notice"
[ "$(stat -c %s "$F")" -lt 20000 ] || mr_fail "the oversized message came back"

mr_wait_for "queue empty" sh -c "[ -z \"\$(find '$Q/maildrop' '$Q/incoming' '$Q/active' '$Q/deferred' '$Q/bounce' -type f)\" ]"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "submit_bounce: ok"
