#!/bin/bash
# queue_delivery.sh - local submission to delivery by the discard and error
# transports, with Postfix's exact log lines.
#
# sendmail (with recipients on the command line, and with -t) -> postdrop ->
# maildrop/ -> pickup -> cleanup -> incoming/ -> qmgr -> discard; an error:
# transport from transport_maps bounces, an error:4.x.x one defers and the
# message is retried from deferred/. The queue is empty afterwards.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
qs_setup
printf 'gone.test error:this domain is gone\nlater.test error:4.3.2 try again later\n' >"$T/transport"
echo "transport_maps = texthash:$T/transport" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. Recipients on the command line; the sender and the recipient are
#    unqualified, so cleanup appends $myorigin (= $myhostname).
printf 'Subject: first\n\nhello\n' | qs_send -f alice bob || mr_fail "sendmail failed"
mr_wait_for "first message removed" grep -q ': removed' "$T/maillog"
ID=$(qs_id_of 'from=<alice@mx.example.test>')
[ -n "$ID" ] || mr_fail "no qmgr line for the first message"
grep -Eq "mailroom/pickup\[[0-9]+\]: $ID: uid=[0-9]+ from=<alice>\$" "$T/maillog" || mr_fail "pickup line"
grep -Eq "mailroom/cleanup\[[0-9]+\]: $ID: message-id=<[0-9]{14}\.$ID@mx\.example\.test>\$" "$T/maillog" ||
    mr_fail "cleanup message-id line"
grep -Eq "mailroom/qmgr\[[0-9]+\]: $ID: from=<alice@mx\.example\.test>, size=[0-9]+, nrcpt=1 \(queue active\)\$" \
    "$T/maillog" || mr_fail "qmgr queue active line"
grep -Eq "mailroom/discard\[[0-9]+\]: $ID: to=<bob@mx\.example\.test>, orig_to=<bob>, relay=none, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(discarded\)\$" \
    "$T/maillog" || mr_fail "discard delivery line"
grep -Eq "mailroom/qmgr\[[0-9]+\]: $ID: removed\$" "$T/maillog" || mr_fail "removed line"

# 2. -t: recipients from To/Cc/Bcc, plus one on the command line; -F sets
#    the From: display name. Bcc never reaches the queue file.
cat >"$T/msg2" <<'MSG'
To: Carol <carol@remote.test>, dave@remote.test
Cc: erin@remote.test
Bcc: frank@remote.test
Subject: second

second body
MSG
qs_send -t -i -f sender@example.test -F 'Sam Sender' gina@remote.test <"$T/msg2" || mr_fail "sendmail -t failed"
mr_wait_for "second message removed" sh -c "[ \$(grep -c ': removed' '$T/maillog') -ge 2 ]"
ID2=$(qs_id_of 'from=<sender@example.test>')
grep -Eq "$ID2: from=<sender@example\.test>, size=[0-9]+, nrcpt=5 \(queue active\)" "$T/maillog" ||
    mr_fail "-t message should have 5 recipients"
for r in carol dave erin frank gina; do
    grep -Eq "$ID2: to=<$r@remote\.test>, relay=none, .*status=sent \(discarded\)" "$T/maillog" ||
        mr_fail "-t recipient $r not delivered"
done

# 3. error: transport from transport_maps bounces with the nexthop text.
printf 'Subject: third\n\nx\n' | qs_send -f alice user@gone.test || mr_fail "sendmail 3 failed"
mr_wait_for "bounce logged" grep -q 'status=bounced' "$T/maillog"
grep -Eq "mailroom/error\[[0-9]+\]: [0-9A-F]+: to=<user@gone\.test>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=5\.0\.0, status=bounced \(this domain is gone\)\$" \
    "$T/maillog" || mr_fail "error delivery line"
mr_wait_for "third message removed" sh -c "[ \$(grep -c ': removed' '$T/maillog') -ge 3 ]"

# 4. A deferred message waits in deferred/ and is retried after its
#    back-off (minimal_backoff_time 1s, queue_run_delay 1s here).
printf 'Subject: fourth\n\nx\n' | qs_send -f alice user@later.test || mr_fail "sendmail 4 failed"
mr_wait_for "two delivery attempts" sh -c "[ \$(grep -c 'to=<user@later.test>, .*status=deferred (try again later)' '$T/maillog') -ge 2 ]"
grep -Eq "mailroom/error\[[0-9]+\]: [0-9A-F]+: to=<user@later\.test>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.3\.2, status=deferred \(try again later\)\$" \
    "$T/maillog" || mr_fail "deferred delivery line"
ID4=$(qs_id_of 'to=<user@later.test>')
mr_wait_for "message in deferred/" test -f "$Q/deferred/$ID4"
# (It may be in active/ for a moment, being retried: "*" instead of " ".)
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p | grep -Eq "^$ID4[* ] +[0-9]+ .* alice@mx\.example\.test\$" ||
    mr_fail "deferred message not listed by postqueue -p"
# postsuper skips the file while qmgr holds it for a retry: repeat.
mr_wait_for "deferred message deleted" sh -c "'$MAILROOM_BIN/postsuper' -c '$CONF' -d $ID4 2>/dev/null; grep -q '$ID4: removed' '$T/maillog'"

# 5. Nothing is left in the queue.
OUT=$(MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p)
[ "$OUT" = "Mail queue is empty" ] || mr_fail "queue not empty: $OUT"
[ -z "$(find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" -type f)" ] || mr_fail "files left in the queue"

# 6. Usage errors are reported, not queued.
qs_send -bd </dev/null 2>"$T/err" && mr_fail "-bd should be rejected"
grep -q 'unsupported option: -bd' "$T/err" || mr_fail "no clear -bd error"
echo x | qs_send -f alice 2>"$T/err" && mr_fail "no recipients should fail"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS"
