#!/bin/bash
# queue_flush.sh - postqueue -s and SMTP ETRN deliver the deferred mail of
# one site now (fast_flush_domains); postqueue -p and -j show why each
# recipient was deferred (the defer logfile of the bounce service).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "bounce    unix  -       -       n       -       0       bounce" \
    "defer     unix  -       -       n       -       0       bounce"
printf '%s\n' "one.test error:4.4.1 one is down" "two.test error:4.4.1 two is down" >"$T/transport"
{
    # No retry happens by itself during the test.
    echo "minimal_backoff_time = 3600s"
    echo "maximal_backoff_time = 7200s"
    echo "queue_run_delay = 3600s"
    echo "transport_maps = texthash:$T/transport"
    echo "fast_flush_domains = one.test, two.test"
    echo "local_recipient_maps ="
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
pq() { MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" "$@"; }
deferrals() { grep -c "to=<$1>, relay=none, .*status=deferred" "$T/maillog"; }
deferrals_are() { [ "$(deferrals "$1")" -eq "$2" ]; }

printf 'Subject: one\n\nx\n' | qs_send -f s@example.org a@one.test || mr_fail "sendmail one"
printf 'Subject: two\n\nx\n' | qs_send -f s@example.org b@two.test || mr_fail "sendmail two"
mr_wait_for "one deferred" deferrals_are a@one.test 1
mr_wait_for "two deferred" deferrals_are b@two.test 1
ID1=$(qs_id_of "to=<a@one.test>")
ID2=$(qs_id_of "to=<b@two.test>")
mr_wait_for "both in deferred/" test -f "$Q/deferred/$ID1" -a -f "$Q/deferred/$ID2"

# postqueue -p: the reason, right-aligned in parentheses, above its recipient.
pq -p >"$T/mailq" || mr_fail "postqueue -p"
grep -A2 "^$ID1 " "$T/mailq" | tr '\n' '|' |
    grep -Eq "^$ID1 +[0-9]+ .* s@example\.org\| {65}\(one is down\)\| {41}a@one\.test\|\$" ||
    mr_fail "mailq reason: $(cat "$T/mailq")"
pq -j >"$T/json" || mr_fail "postqueue -j"
python3 - "$T/json" "$ID1" <<'PY' || mr_fail "postqueue -j: $(cat "$T/json")"
import json, sys
msgs = {m["queue_id"]: m for m in map(json.loads, open(sys.argv[1]))}
m = msgs[sys.argv[2]]
assert m["queue_name"] == "deferred", m
assert m["recipients"] == [{"address": "a@one.test", "delay_reason": "one is down"}], m
PY

# Sites that are not eligible, or not sites at all.
pq -s three.test 2>"$T/err" && mr_fail "postqueue -s three.test succeeded"
grep -q 'postqueue: fatal: Flush service is not configured for destination "three.test"' "$T/err" ||
    mr_fail "not eligible: $(cat "$T/err")"
pq -s 'bad site' 2>"$T/err" && mr_fail "postqueue -s 'bad site' succeeded"
grep -q 'postqueue: fatal: Cannot flush mail queue - invalid destination: "bad site"' "$T/err" ||
    mr_fail "invalid site: $(cat "$T/err")"

# postqueue -s one.test: only the message for one.test is tried again.
pq -s one.test || mr_fail "postqueue -s one.test"
mr_wait_for "one tried again" deferrals_are a@one.test 2
mr_wait_for "$ID1 back in deferred/" test -f "$Q/deferred/$ID1"
[ "$(deferrals b@two.test)" -eq 1 ] || mr_fail "postqueue -s one.test flushed two.test too"

# ETRN uses the same path.
python3 - "$P" <<'PY' || mr_fail "ETRN"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example")
assert s.docmd("ETRN", "three.test") == (459, b"<three.test>: service unavailable")
assert s.docmd("ETRN", "two.test") == (250, b"Queuing started")
s.quit()
PY
grep -q "warning: reject: ETRN three.test... from unknown\[127\.0\.0\.1\]" "$T/maillog" || mr_fail "ETRN reject warning"
mr_wait_for "two tried again" deferrals_are b@two.test 2
[ "$(deferrals a@one.test)" -eq 2 ] || mr_fail "ETRN two.test flushed one.test too"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "queue_flush: ok"
