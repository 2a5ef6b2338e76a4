#!/bin/bash
# bounce_notices.sh - delay warnings and success notices end to end.
#
# With delay_warning_time set, a message still deferred that long after
# its arrival gets exactly one delay warning ("Delayed Mail (still being
# retried)", Action: delayed) however often it is retried; a recipient
# with NOTIFY=SUCCESS gets a delivery status notice (Action: delivered).
# Both land in the sender's Maildir (virtual) and are read back with
# Python's email package.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
dl_setup "bounce    unix  -       -       n       -       0       bounce" \
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
printf 'alice@sender.test sender.test/alice/\nbob@sender.test sender.test/bob/\n' >"$T/vmailbox"
printf 'later.test error:4.3.2 try again later\nsender.test virtual:\n' >"$T/transport"
{
    echo "transport_maps = texthash:$T/transport"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = texthash:$T/vmailbox"
    echo "virtual_mailbox_domains = sender.test"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    echo "delay_warning_time = 2s"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

notice_of() {
    sed -n "s/.*\]: $1: $2 notification: \([0-9A-F]*\)\$/\1/p" "$T/maillog" | head -n 1
}
maildir_file() {
    local f
    for f in "$1"/new/*; do
        [ -f "$f" ] && grep -q "$2@mx.example.test" "$f" && { echo "$f"; return 0; }
    done
    return 1
}
# parse FILE SUBJECT ACTION STATUS RECIPIENT: the notice as Python reads it.
parse_notice() {
    python3 - "$@" <<'PY'
import email, sys
from email import policy
path, subject, action, status, rcpt = sys.argv[1:6]
msg = email.message_from_binary_file(open(path, "rb"), policy=policy.compat32)
def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        print(open(path).read(), file=sys.stderr)
        sys.exit(1)
check(msg["Return-Path"] == "<>", "Return-Path")
check(msg["Subject"] == subject, "Subject %r" % msg["Subject"])
check(msg.get_content_type() == "multipart/report", "multipart/report")
check(msg.get_param("report-type") == "delivery-status", "report-type")
parts = msg.get_payload()
check(len(parts) == 3, "three parts")
groups = parts[1].get_payload()
check(len(groups) == 2, "one recipient group, got %d" % (len(groups) - 1))
check(groups[1]["Final-Recipient"] == "rfc822; " + rcpt, "Final-Recipient %r" % groups[1]["Final-Recipient"])
check(groups[1]["Action"] == action, "Action %r" % groups[1]["Action"])
check(groups[1]["Status"] == status, "Status %r" % groups[1]["Status"])
check(parts[2].get_content_type() == "text/rfc822-headers", "headers only: %s" % parts[2].get_content_type())
check("Subject:" in parts[2].get_payload() and "body text" not in parts[2].get_payload(), "returned header")
PY
}

# 1. A deferred message warns its sender once, after delay_warning_time.
printf 'Subject: slow one\n\nbody text\n' | dl_send -f alice@sender.test erin@later.test || mr_fail "sendmail 1"
dl_wait_log "to=<erin@later\.test>, .*status=deferred \(try again later\)"
ID=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<erin@later\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "bounce\[[0-9]+\]: $ID: sender delay notification: [0-9A-F]+\$"
NID=$(notice_of "$ID" "sender delay")
dl_wait_log "virtual\[[0-9]+\]: $NID: to=<alice@sender\.test>, .*status=sent"
F=$(maildir_file "$VBASE/sender.test/alice" "$NID") || mr_fail "delay notice not delivered"
parse_notice "$F" "Delayed Mail (still being retried)" delayed 4.3.2 erin@later.test || mr_fail "delay notice content"
# More retries, no second warning.
N=$(grep -c "to=<erin@later\.test>, .*status=deferred" "$T/maillog")
mr_wait_for "two more attempts" sh -c "[ \$(grep -c 'to=<erin@later\.test>, .*status=deferred' '$T/maillog') -ge $((N + 2)) ]"
[ "$(grep -c "$ID: sender delay notification" "$T/maillog")" -eq 1 ] || mr_fail "more than one delay warning"
mr_wait_for "deferred message deleted" sh -c "'$MAILROOM_BIN/postsuper' -c '$CONF' -d $ID 2>/dev/null; grep -q '$ID: removed' '$T/maillog'"

# 2. NOTIFY=SUCCESS: a delivery status notice for a delivered recipient.
printf 'Subject: tell me\n\nbody text\n' | dl_send -f alice@sender.test -N success bob@sender.test || mr_fail "sendmail 2"
dl_wait_log "virtual\[[0-9]+\]: [0-9A-F]+: to=<bob@sender\.test>, .*status=sent"
ID2=$(sed -n 's/.*\]: \([0-9A-F]*\): to=<bob@sender\.test>, .*/\1/p' "$T/maillog" | head -n 1)
dl_wait_log "bounce\[[0-9]+\]: $ID2: sender delivery status notification: [0-9A-F]+\$"
NID2=$(notice_of "$ID2" "sender delivery status")
dl_wait_log "virtual\[[0-9]+\]: $NID2: to=<alice@sender\.test>, .*status=sent"
dl_wait_log "qmgr\[[0-9]+\]: $ID2: removed\$"
F2=$(maildir_file "$VBASE/sender.test/alice" "$NID2") || mr_fail "success notice not delivered"
parse_notice "$F2" "Successful Mail Delivery Report" delivered 2.0.0 bob@sender.test || mr_fail "success notice content"
[ -z "$(find "$Q/trace" -type f)" ] || mr_fail "trace logfile left behind"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS"
