#!/bin/bash
# cleanup_rewrite.sh - cleanup's virtual alias expansion and header_checks
# on a running instance.
#
# sendmail -> pickup -> cleanup with a hash: virtual_alias_maps (the seed's
# tomcat -> hadoop alias) and a regexp: header_checks: the delivery line
# names the alias target and the original recipient; REJECT of a local
# submission bounces it to the sender with the 5.7.1 text; HOLD leaves the message
# in hold/, listed with "!" by postqueue -p and never delivered; DISCARD
# logs and delivers nothing.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
qs_setup "bounce    unix  -       -       n       -       0       bounce"
printf 'tomcat@mx.example.test hadoop@mx.example.test\n' >"$T/virtual"
"$MAILROOM_BIN/postmap" "hash:$T/virtual" || mr_fail "postmap virtual"
cat >"$T/header_checks" <<'RULES'
/^Subject: .*spam/ REJECT no spam here
/^Subject: .*review/ HOLD
/^Subject: .*junk/ DISCARD
RULES
{
    echo "virtual_alias_maps = hash:$T/virtual"
    echo "header_checks = regexp:$T/header_checks"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. Alias expansion: delivered to hadoop, logged with orig_to=<tomcat@...>.
printf 'Subject: alias\n\nhello\n' | qs_send -f alice tomcat@mx.example.test || mr_fail "sendmail 1 failed"
mr_wait_for "alias message delivered" grep -q 'to=<hadoop@mx.example.test>' "$T/maillog"
grep -Eq "mailroom/discard\[[0-9]+\]: [0-9A-F]+: to=<hadoop@mx\.example\.test>, orig_to=<tomcat@mx\.example\.test>, relay=none, .*status=sent \(discarded\)\$" \
    "$T/maillog" || mr_fail "alias delivery line"
grep -q ': to=<tomcat@mx.example.test>' "$T/maillog" && mr_fail "the alias itself was delivered"

# 2. REJECT: cleanup logs the reject and bounces the message to its sender.
printf 'Subject: buy spam\n\nx\n' | qs_send -f alice bob@mx.example.test || mr_fail "sendmail 2 failed"
mr_wait_for "reject bounced" grep -q 'to=<bob@mx.example.test>, relay=none, .*dsn=5.7.1, status=bounced (no spam here)' "$T/maillog"
grep -Eq "mailroom/cleanup\[[0-9]+\]: [0-9A-F]+: reject: header Subject: buy spam from local; from=<alice@mx\.example\.test> to=<bob@mx\.example\.test>: 5\.7\.1 no spam here\$" \
    "$T/maillog" || mr_fail "cleanup reject line"
mr_wait_for "maildrop empty" sh -c "[ -z \"\$(find '$Q/maildrop' -type f)\" ]"
RID=$(qs_id_of 'to=<bob@mx.example.test>, relay=none')
mr_wait_for "notice to the sender" grep -q "$RID: sender non-delivery notification" "$T/maillog"
grep -q 'to=<bob@mx.example.test>, .*status=sent' "$T/maillog" && mr_fail "rejected message delivered"

# 3. HOLD: in hold/, shown with "!", not delivered.
printf 'Subject: please review\n\nx\n' | qs_send -f alice carol@mx.example.test || mr_fail "sendmail 3 failed"
mr_wait_for "hold logged" grep -q ': hold: header Subject: please review from local' "$T/maillog"
HID=$(qs_id_of ': hold: header Subject: please review')
mr_wait_for "message in hold/" sh -c "[ -n \"\$(find '$Q/hold' -type f -name '$HID')\" ]"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p | grep -Eq "^$HID! +[0-9]+ .* alice@mx\.example\.test\$" ||
    mr_fail "held message not listed with ! by postqueue -p"

# 4. DISCARD: logged, nothing delivered.
printf 'Subject: junk mail\n\nx\n' | qs_send -f alice dave@mx.example.test || mr_fail "sendmail 4 failed"
mr_wait_for "discard logged" grep -q ': discard: header Subject: junk mail from local; from=<alice@mx.example.test> to=<dave@mx.example.test>' "$T/maillog"
mr_wait_for "queue empty after discard" mr_queue_idle
grep -q ': to=<dave@mx.example.test>' "$T/maillog" && mr_fail "discarded message delivered"
grep -q ': to=<carol@mx.example.test>' "$T/maillog" && mr_fail "held message delivered"
[ -z "$(find "$Q/incoming" "$Q/active" "$Q/deferred" -type f)" ] || mr_fail "files left in the queue"
exit 0
