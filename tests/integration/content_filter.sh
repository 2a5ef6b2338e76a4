#!/bin/bash
# content_filter.sh - the after-queue content filter of Postfix's
# FILTER_README: content_filter = smtp:[127.0.0.1]:PORT sends each message
# received by smtpd through the smtp agent to a Python SMTP filter
# (smtp_filter.py), which adds a header and re-injects it into a second
# smtpd with -o content_filter= (and the FILTER_README overrides); that
# pass goes to the real destination (an aiosmtpd sink, smtp_peer.py). The
# delivered message carries the header once, the log shows both passes,
# and nothing loops. A service with -o content_filter= delivers directly;
# an access-table FILTER action sends a message to the filter from there.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd smtp cleanup qmgr master mailroom
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
    mr_fail "python3-aiosmtpd is not installed (scripts/install-deps installs it)"

P_IN=$(mr_free_port)
P_DIRECT=$(mr_free_port)
P_ACCESS=$(mr_free_port)
P_REINJECT=$(mr_free_port)
P_FILTER=$(mr_free_port)
P_FINAL=$(mr_free_port)
qs_setup "smtp unix - - n - - smtp" \
    "127.0.0.1:$P_IN inet n - n - - smtpd" \
    "127.0.0.1:$P_DIRECT inet n - n - - smtpd -o content_filter=" \
    "127.0.0.1:$P_REINJECT inet n - n - - smtpd -o content_filter= -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters -o smtpd_helo_restrictions= -o smtpd_client_restrictions= -o smtpd_sender_restrictions= -o smtpd_recipient_restrictions=permit_mynetworks,reject -o mynetworks=127.0.0.0/8"
echo "127.0.0.1:$P_ACCESS inet n - n - - smtpd -o content_filter= -o smtpd_client_restrictions=check_client_access,texthash:$T/access" \
    >>"$CONF/master.cf"
{
    echo "local_recipient_maps ="
    echo "default_transport = smtp"
    echo "relayhost = [127.0.0.1]:$P_FINAL"
    echo "content_filter = smtp:[127.0.0.1]:$P_FILTER"
    echo "mynetworks = 127.0.0.0/8"
} >>"$CONF/main.cf"
printf '127.0.0.1 FILTER smtp:[127.0.0.1]:%s\n' "$P_FILTER" >"$T/access"

PIDS=""
filter_cleanup() {
    local p
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    mr_cleanup
}
trap filter_cleanup EXIT
mkdir -p "$T/final"
/usr/bin/python3 "$HERE/smtp_peer.py" --spool "$T/final" --ready "$T/final.ready" --port "$P_FINAL" \
    >"$T/final.log" 2>&1 &
PIDS="$PIDS $!"
/usr/bin/python3 "$HERE/smtp_filter.py" --port "$P_FILTER" --ready "$T/filter.ready" --next "$P_REINJECT" \
    --header "X-Content-Filter: passed by smtp_filter.py" --log "$T/filter.passes" >"$T/filter.log" 2>&1 &
PIDS="$PIDS $!"
mr_wait_for "final sink" test -f "$T/final.ready"
mr_wait_for "filter" test -f "$T/filter.ready"
"$MR" -c "$CONF" start || mr_fail "start failed"

# send PORT SUBJECT: prints the queue ID from the 250 reply.
send() {
    local r
    r=$(python3 "$HERE/smtp_send.py" "$1" --subject "$2") || return 1
    sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' <<<"$r" | grep . || { echo "$r"; return 1; }
}
# final_with SUBJECT: the file in the final sink holding that message.
final_with() { grep -l "^Subject: $1[[:space:]]*\$" "$T"/final/msg.* 2>/dev/null; }

# 1. content_filter from main.cf: two passes.
ID1=$(send "$P_IN" first-pass) || mr_fail "send via $P_IN"
mr_wait_for "filtered message delivered" final_with first-pass
F=$(final_with first-pass)
[ "$(grep -c '^X-Content-Filter: passed by smtp_filter.py' "$F")" = 1 ] || mr_fail "the header is not there once: $(cat "$F")"
grep -Eq "mailroom/smtp\[[0-9]+\]: $ID1: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_FILTER, .*status=sent" \
    "$T/maillog" || mr_fail "first pass: delivery to the filter"
ID2=$(sed -n 's/^pass 250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/filter.passes" | head -n 1)
[ -n "$ID2" ] && [ "$ID2" != "$ID1" ] || mr_fail "the filter's re-injection: $(cat "$T/filter.passes")"
mr_wait_for "second pass delivered" grep -Eq \
    "mailroom/smtp\[[0-9]+\]: $ID2: to=<bob@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_FINAL, .*status=sent" "$T/maillog"
grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID2: client=localhost\[127\.0\.0\.1\]|mailroom/smtpd\[[0-9]+\]: $ID2: client=unknown\[127\.0\.0\.1\]" \
    "$T/maillog" || mr_fail "second pass: smtpd client= line"

# 2. -o content_filter= : no filter.
send "$P_DIRECT" direct >/dev/null || mr_fail "send via $P_DIRECT"
mr_wait_for "direct message delivered" final_with direct
grep -q '^X-Content-Filter:' "$(final_with direct)" && mr_fail "an unfiltered service's message went through the filter"

# 3. An access-table FILTER action.
send "$P_ACCESS" access-filter >/dev/null || mr_fail "send via $P_ACCESS"
mr_wait_for "access FILTER message delivered" final_with access-filter
grep -q '^X-Content-Filter: passed' "$(final_with access-filter)" || mr_fail "access FILTER did not filter"

# No loop: once the queue is idle, three messages in the sink, two filter passes.
mr_wait_for "queue idle" mr_queue_idle
[ "$(ls "$T"/final/msg.* | wc -l)" = 3 ] || mr_fail "messages in the sink: $(ls "$T/final")"
[ "$(grep -c '^pass ' "$T/filter.passes")" = 2 ] || mr_fail "filter passes: $(cat "$T/filter.passes")"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "content_filter: ok"
