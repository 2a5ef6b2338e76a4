#!/bin/bash
# smtpd_delivery.sh - mail received by smtpd goes all the way: smtpd ->
# cleanup -> incoming/ -> qmgr -> discard, logged under the queue ID smtpd
# announced in "250 2.0.0 Ok: queued as ID"; ETRN wakes qmgr.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd"
printf "local_recipient_maps =\nfast_flush_domains = remote.test\n" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" >"$T/reply" <<'PY' || mr_fail "smtplib: $(cat "$T/reply")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example")
s.mail("alice@example.org")
s.rcpt("bob@remote.test")
s.rcpt("carol@mx.example.test")
code, text = s.data("Subject: via smtpd\r\n\r\nhello\r\n")
print(code, text.decode())
assert code == 250
code, text = s.docmd("ETRN", "remote.test")
print(code, text.decode())
assert (code, text) == (250, b"Queuing started"), (code, text)
s.quit()
PY
ID=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$T/reply")
[ -n "$ID" ] || mr_fail "no queue ID in: $(cat "$T/reply")"
grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID: client=unknown\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "client= line"
mr_wait_for "message removed" grep -q "$ID: removed" "$T/maillog"
grep -Eq "mailroom/qmgr\[[0-9]+\]: $ID: from=<alice@example\.org>, size=[0-9]+, nrcpt=2 \(queue active\)\$" \
    "$T/maillog" || mr_fail "qmgr line"
for r in bob@remote.test carol@mx.example.test; do
    grep -Eq "mailroom/discard\[[0-9]+\]: $ID: to=<$r>, relay=none, .*status=sent \(discarded\)\$" "$T/maillog" ||
        mr_fail "delivery to $r"
done
# Logged after the 221 has gone out.
mr_wait_for "disconnect line" grep -Eq "mailroom/smtpd\[[0-9]+\]: disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=2 data=1 etrn=1 quit=1 commands=7\$" \
    "$T/maillog"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_delivery: ok"
