#!/bin/bash
# delivery_smtpd.sh - the seed's SMTP dialogues end to end into local
# mailboxes: a message for a local user over SMTP lands in the spool mbox
# with Return-Path, X-Original-To and Delivered-To, and the seed's
# "tomcat: hadoop" alias redirects tomcat's mail to hadoop's mailbox.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd
P=$(mr_free_port)
dl_setup "127.0.0.1:$P inet n - n - - smtpd"
if dl_root; then
    U=mrs$$
    dl_user "$U"
else
    U=$(id -un)
fi
printf 'tomcat: %s\n' "$U" >"$T/aliases"
"$MAILROOM_BIN/postalias" "hash:$T/aliases" || mr_fail "postalias"
{
    echo "alias_maps = hash:$T/aliases"
    echo "local_recipient_maps ="
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P" "$U" >"$T/reply" <<'PY' || mr_fail "SMTP dialogue: $(cat "$T/reply")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.helo("localhost")
s.mail("hadoop@mx.example.test")
s.rcpt(sys.argv[2] + "@mx.example.test")
code, text = s.data("Subject: seed\r\n\r\nhow are you?\r\nyou know what!\r\n")
assert code == 250, (code, text)
s.mail("root@example.test")
s.rcpt("tomcat@example.test")
code, text = s.data("Subject: check it\r\n\r\ncheck it\r\n")
assert code == 250, (code, text)
s.quit()
PY
dl_wait_log "local\[[0-9]+\]: [0-9A-F]+: to=<$U@mx\.example\.test>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)"
dl_wait_log "local\[[0-9]+\]: [0-9A-F]+: to=<$U@mx\.example\.test>, orig_to=<tomcat@example\.test>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)"
MBOX="$T/spool/$U"
grep -A3 '^From hadoop@mx.example.test ' "$MBOX" | tr '\n' '|' |
    grep -q "Return-Path: <hadoop@mx.example.test>|X-Original-To: $U@mx.example.test|Delivered-To: $U@mx.example.test|" ||
    mr_fail "seed message headers: $(head -n 6 "$MBOX")"
grep -q '^how are you?$' "$MBOX" || mr_fail "seed message body"
grep -q '^X-Original-To: tomcat@example.test$' "$MBOX" || mr_fail "alias copy"
grep -q '^check it$' "$MBOX" || mr_fail "alias copy body"
dl_root && { [ "$(stat -c %U "$MBOX")" = "$U" ] || mr_fail "mbox owner"; }
echo "delivery_smtpd: ok"
