#!/bin/bash
# milter_clamav.sh - Debian's clamav-milter in smtpd_milters, in front of a
# clamd the test starts with a signature database it writes itself (an
# .ndb signature for a made-up pattern; nothing is downloaded): a message
# with the pattern is rejected at end of DATA with clamav-milter's text, a
# clean one is delivered with its X-Virus-Status header, and with clamd
# stopped clamav-milter's OnFail (Defer) reaches the client as a 4xx, also
# through a service that runs smtpd's own scan (smtpd_clamav_socket) too.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr virtual master mailroom
[ -x /usr/sbin/clamd ] && [ -x /usr/sbin/clamav-milter ] ||
    mr_fail "clamd and clamav-milter are not installed (scripts/install-deps installs them)"

P=$(mr_free_port)
P2=$(mr_free_port)   # the built-in scan and the milter together
MP=$(mr_free_port)
dl_setup "127.0.0.1:$P inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MP"
C="$T/clam"
echo "127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MP -o smtpd_clamav_socket=unix:$C/clamd.sock -o smtpd_clamav_failure_action=accept" >>"$CONF/master.cf"
printf 'scan@vdom.test vdom.test/scan/Maildir/\n' >"$T/vmailbox"
dl_vmail vdom.test

mkdir -p "$C/db" "$C/tmp"
PATTERN="MAILROOM-MILTER-TEST-PATTERN-$$-DO-NOT-DELIVER"
HEX=$(printf '%s' "$PATTERN" | od -An -tx1 | tr -d ' \n')
echo "Mailroom.Milter.Test:0:*:$HEX" >"$C/db/mailroom.ndb"
USERLINE=""
[ "$(id -u)" -eq 0 ] && USERLINE="User root"
cat >"$C/clamd.conf" <<CONF
LocalSocket $C/clamd.sock
DatabaseDirectory $C/db
TemporaryDirectory $C/tmp
Foreground yes
PidFile $C/clamd.pid
LogFile $C/clamd.log
$USERLINE
CONF
cat >"$C/milter.conf" <<CONF
MilterSocket inet:$MP@127.0.0.1
ClamdSocket unix:$C/clamd.sock
Foreground yes
PidFile $C/milter.pid
TemporaryDirectory $C/tmp
OnInfected Reject
OnFail Defer
RejectMsg Virus found: %v
AddHeader Replace
ReportHostname mx.example.test
LogFile $C/milter.log
LogInfected Basic
$USERLINE
CONF
CLAMD_PID=""
MILTER_PID=""
clam_cleanup() {
    [ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null
    [ -n "$CLAMD_PID" ] && kill "$CLAMD_PID" 2>/dev/null
    dl_cleanup
}
trap clam_cleanup EXIT
/usr/sbin/clamd -c "$C/clamd.conf" >"$C/clamd.out" 2>&1 &
CLAMD_PID=$!
mr_wait_for "clamd's socket" test -S "$C/clamd.sock"
/usr/sbin/clamav-milter -c "$C/milter.conf" >"$C/milter.out" 2>&1 &
MILTER_PID=$!
mr_wait_for "clamav-milter listens" python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$MP"
"$MR" -c "$CONF" start || mr_fail "start failed"

send() {
    python3 - "${2:-$P}" "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
s.ehlo("client.example")
s.mail("sender@example.org")
s.rcpt("scan@vdom.test")
code, text = s.data("Subject: scan me\r\n\r\nfirst line\r\n%s\r\n" % sys.argv[2])
print(code, text.decode())
s.quit()
PY
}

R=$(send "$PATTERN")
[ "$R" = "550 5.7.1 Virus found: Mailroom.Milter.Test.UNOFFICIAL" ] || mr_fail "infected: $R $(cat "$C"/*.log)"
grep -Eq "smtpd\[[0-9]+\]: [0-9A-F]+: milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 5\.7\.1 Virus found: Mailroom\.Milter\.Test\.UNOFFICIAL; from=<sender@example\.org> to=<scan@vdom\.test> proto=ESMTP helo=<client\.example>\$" \
    "$T/maillog" || mr_fail "milter-reject log line"

R=$(send "nothing to see here")
ID=$(sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' <<<"$R")
[ -n "$ID" ] || mr_fail "clean: $R"
dl_wait_log "$ID: to=<scan@vdom\.test>, relay=virtual, .*status=sent"
F=$(ls "$VBASE"/vdom.test/scan/Maildir/new/*)
grep -q "^X-Virus-Status: Clean" "$F" || mr_fail "no X-Virus-Status: $(cat "$F")"
grep -q "^X-Virus-Scanned: clamav-milter .* at mx.example.test" "$F" || mr_fail "no X-Virus-Scanned: $(cat "$F")"
[ "$(ls "$VBASE"/vdom.test/scan/Maildir/new | wc -l)" -eq 1 ] || mr_fail "the infected message was delivered"

kill "$CLAMD_PID"
wait "$CLAMD_PID" 2>/dev/null
CLAMD_PID=""
R=$(send "clamd is gone")
case "$R" in
    4[0-9][0-9]" "*) ;;
    *) mr_fail "clamd stopped: $R" ;;
esac
grep -Eq "milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 4\.[0-9.]+ " "$T/maillog" || mr_fail "tempfail log line"
# With smtpd's own scan in front (clamd down: accept), the milter's 4xx
# still reaches the client as the milter gave it.
R2=$(send "clamd is gone" "$P2")
[ "$R2" = "$R" ] || mr_fail "built-in scan and milter, clamd stopped: $R2 (milter alone: $R)"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "milter_clamav: ok"
