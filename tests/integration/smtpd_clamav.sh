#!/bin/bash
# smtpd_clamav.sh - smtpd's built-in virus scan against Debian's clamd,
# started here in a temp dir with a signature database written here (one
# made-up .ndb pattern; nothing downloaded): an infected message gets
# "554 5.7.1 Virus found: NAME", a clean one (also one of several INSTREAM
# chunks) is delivered, smtpd_clamav_action = hold puts it in the hold
# queue, discard keeps nothing; with clamd stopped the default failure
# action answers 451 4.3.0 and "accept" queues the message unscanned. Each
# scan logs one line.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)
[ -x "$CLAMD" ] || mr_fail "clamd is not installed (scripts/install-deps installs clamav-daemon)"

P_REJECT=$(mr_free_port)
P_HOLD=$(mr_free_port)
P_DISCARD=$(mr_free_port)
P_ACCEPT=$(mr_free_port)
P_SHORT=$(mr_free_port)
qs_setup "127.0.0.1:$P_REJECT inet n - n - - smtpd" \
    "127.0.0.1:$P_HOLD inet n - n - - smtpd -o smtpd_clamav_action=hold" \
    "127.0.0.1:$P_DISCARD inet n - n - - smtpd -o smtpd_clamav_action=discard" \
    "127.0.0.1:$P_ACCEPT inet n - n - - smtpd -o smtpd_clamav_failure_action=accept" \
    "127.0.0.1:$P_SHORT inet n - n - - smtpd -o smtpd_clamav_max_length=100000"

# clamd: its own configuration, socket and database under $T.
C="$T/clamd"
mkdir -p "$C/db"
chmod 755 "$C"
printf 'Mailroom.Test.Pattern:0:*:%s\n' "$(printf 'MAILROOM-TEST-VIRUS-PATTERN' | od -An -tx1 | tr -d ' \n')" \
    >"$C/db/mailroom.ndb"
cat >"$C/clamd.conf" <<EOF
LocalSocket $C/clamd.ctl
LocalSocketMode 666
DatabaseDirectory $C/db
TemporaryDirectory $C
LogFile $C/clamd.log
Foreground yes
StreamMaxLength 4M
EOF
CLAMD_PID=""
clamav_cleanup() {
    [ -z "$CLAMD_PID" ] || kill "$CLAMD_PID" 2>/dev/null || true
    mr_cleanup
}
trap clamav_cleanup EXIT
"$CLAMD" -c "$C/clamd.conf" >"$C/stdout" 2>&1 &
CLAMD_PID=$!
mr_wait_for "clamd socket" test -S "$C/clamd.ctl"

{
    echo "local_recipient_maps ="
    echo "smtpd_clamav_socket = unix:$C/clamd.ctl"
    echo "smtpd_clamav_timeout = 10s"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

# send PORT KIND: one message (clean, infected, large); prints "CODE TEXT" of the final reply.
send() {
    case $2 in
    infected) python3 "$HERE/smtp_send.py" "$1" --subject "$2" --line "attachment: MAILROOM-TEST-VIRUS-PATTERN" ;;
    infected-bdat) python3 "$HERE/smtp_send.py" "$1" --subject "$2" --line "attachment: MAILROOM-TEST-VIRUS-PATTERN" --bdat ;;
    large) python3 "$HERE/smtp_send.py" "$1" --subject "$2" --lines 20000 ;;
    infected-late) python3 "$HERE/smtp_send.py" "$1" --subject "$2" --lines 20000 --tail "MAILROOM-TEST-VIRUS-PATTERN" ;;
    huge) python3 "$HERE/smtp_send.py" "$1" --subject "$2" --lines 90000 ;;
    *) python3 "$HERE/smtp_send.py" "$1" --subject "$2" ;;
    esac
}
queue_id() { sed -n 's/^250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' <<<"$1"; }
VIRUS="Mailroom\.Test\.Pattern\.UNOFFICIAL"

# Infected, action reject.
R=$(send "$P_REJECT" infected) || mr_fail "send infected: $R"
[ "$R" = "554 5.7.1 Virus found: Mailroom.Test.Pattern.UNOFFICIAL" ] || mr_fail "infected got: $R"
grep -Eq "mailroom/smtpd\[[0-9]+\]: [0-9A-F]+: clamav-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 554 5\.7\.1 Virus found: $VIRUS; from=<alice@example\.org> to=<bob@remote\.test> proto=ESMTP helo=<client\.example>, scanned=[0-9]+\$" \
    "$T/maillog" || mr_fail "clamav-reject log line"

# The same through BDAT.
R=$(send "$P_REJECT" infected-bdat) || mr_fail "send infected-bdat: $R"
[ "$R" = "554 5.7.1 Virus found: Mailroom.Test.Pattern.UNOFFICIAL" ] || mr_fail "infected through BDAT got: $R"

# Clean, small and large (several chunks): delivered.
for kind in clean large; do
    R=$(send "$P_REJECT" "$kind") || mr_fail "send $kind: $R"
    ID=$(queue_id "$R")
    [ -n "$ID" ] || mr_fail "$kind got: $R"
    mr_wait_for "$kind delivered" grep -q "$ID: to=<bob@remote.test>, .*status=sent" "$T/maillog"
    grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID: clamav: clean, scanned=[0-9]+\$" "$T/maillog" ||
        mr_fail "clamav clean line for $kind"
done
N=$(sed -n "s/.*$ID: clamav: clean, scanned=\([0-9]*\)\$/\1/p" "$T/maillog")
[ "$N" -gt 1000000 ] || mr_fail "the large message was scanned over $N bytes only"

# smtpd_clamav_max_length: only the first 100000 bytes are scanned, so a
# virus past them goes unseen (docs/content-filter.md); the log says so.
R=$(send "$P_SHORT" infected-late) || mr_fail "send infected-late: $R"
ID=$(queue_id "$R")
[ -n "$ID" ] || mr_fail "infected past max_length got: $R"
grep -Eq "mailroom/smtpd\[[0-9]+\]: $ID: clamav: clean, scanned=100000 of [0-9]{7}\$" "$T/maillog" ||
    mr_fail "clamav line of a message scanned in part"

# A message above clamd's StreamMaxLength (4M here): clamd answers ERROR,
# the failure action (tempfail) applies.
R=$(send "$P_REJECT" huge) || mr_fail "send huge: $R"
[ "$R" = "451 4.3.0 Error: virus scanner unavailable" ] || mr_fail "huge got: $R"
grep -Eq "warning: [0-9A-F]+: clamav unix:$C/clamd\.ctl: INSTREAM size limit exceeded\. ERROR; action=tempfail, scanned=[0-9]+\$" \
    "$T/maillog" || mr_fail "clamav size-limit warning"

# Infected, action hold: queued in hold/, never delivered.
R=$(send "$P_HOLD" infected) || mr_fail "send hold: $R"
ID=$(queue_id "$R")
[ -n "$ID" ] || mr_fail "hold got: $R"
grep -Eq "$ID: clamav-hold: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: Virus found: $VIRUS;" "$T/maillog" ||
    mr_fail "clamav-hold log line"
mr_wait_for "held message in hold/" test -f "$Q/hold/$ID"

# Infected, action discard: 250, and no queue file.
R=$(send "$P_DISCARD" infected) || mr_fail "send discard: $R"
ID=$(queue_id "$R")
[ -n "$ID" ] || mr_fail "discard got: $R"
grep -Eq "$ID: clamav-discard: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: Virus found: $VIRUS;" "$T/maillog" ||
    mr_fail "clamav-discard log line"
mr_wait_for "queue idle" mr_queue_idle
[ -z "$(find "$Q" -name "$ID" -type f)" ] || mr_fail "a discarded message left a queue file"
grep -q "$ID: to=" "$T/maillog" && mr_fail "a discarded message was delivered"

# clamd stopped: 451 4.3.0 by default, queued unscanned with accept.
kill "$CLAMD_PID"
wait "$CLAMD_PID" 2>/dev/null
CLAMD_PID=""
rm -f "$C/clamd.ctl"
R=$(send "$P_REJECT" clean) || mr_fail "send with clamd down: $R"
[ "$R" = "451 4.3.0 Error: virus scanner unavailable" ] || mr_fail "clamd down got: $R"
grep -Eq "warning: [0-9A-F]+: clamav unix:$C/clamd\.ctl: .*No such file or directory; action=tempfail" "$T/maillog" ||
    mr_fail "clamav tempfail warning"
R=$(send "$P_ACCEPT" clean) || mr_fail "send accept: $R"
ID=$(queue_id "$R")
[ -n "$ID" ] || mr_fail "failure_action=accept got: $R"
grep -Eq "warning: $ID: clamav unix:$C/clamd\.ctl: .*; action=accept" "$T/maillog" || mr_fail "clamav accept warning"
mr_wait_for "accepted unscanned delivered" grep -q "$ID: to=<bob@remote.test>, .*status=sent" "$T/maillog"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_clamav: ok"
