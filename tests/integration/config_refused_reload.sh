#!/bin/bash
# config_refused_reload.sh - a bad value never takes the service down.
#
# An instance (smtpd -> cleanup -> qmgr -> discard) runs with
# message_size_limit = 20000. For each broken main.cf of the examples (a
# bad number, a time with an unknown unit, a bad boolean, a missing hash:
# file, an unknown table type, a line without '=') and a bad master.cf -o
# override: `postconf` warns, `mailroom check` and `mailroom reload` refuse
# with the file and line, and master itself refuses a direct SIGHUP. Then
# the idle smtpd and cleanup are ended, so that the next SMTP session needs
# fresh processes: they start with the configuration master accepted (EHLO
# still announces SIZE 20000), the mail is delivered, and no daemon logs a
# fatal error. Finally `mailroom start` refuses a broken main.cf.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
for prog in smtpd cleanup qmgr discard master mailroom postconf; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
P=$(mr_free_port)
SMTPD_LINE="127.0.0.1:$P inet n - n - - smtpd"
qs_setup "$SMTPD_LINE"
printf "local_recipient_maps =\nmessage_size_limit = 20000\n" >>"$CONF/main.cf"
cp "$CONF/main.cf" "$T/main.cf.good"
cp "$CONF/master.cf" "$T/master.cf.good"
"$MR" -c "$CONF" start || mr_fail "start failed"

# One SMTP transaction; prints the EHLO SIZE value and the queue ID.
send_one() {
    python3 - "$P" "$1" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.example")
print("size", s.esmtp_features.get("size", "none"))
s.mail("alice@example.org")
s.rcpt("bob@remote.test")
code, text = s.data("Subject: %s\r\n\r\nhello\r\n" % sys.argv[2])
assert code == 250, (code, text)
print("queued", text.decode().rsplit(" ", 1)[-1])
s.quit()
PY
}

# Delivers one message and checks that it went all the way.
deliver_one() {
    local tag=$1 out id
    out=$(send_one "$tag") || mr_fail "$tag: SMTP transaction failed: $out"
    echo "$out" | grep -qx "size 20000" || mr_fail "$tag: EHLO does not announce the accepted SIZE: $out"
    id=$(echo "$out" | sed -n 's/^queued \([0-9A-F]*\)$/\1/p')
    [ -n "$id" ] || mr_fail "$tag: no queue ID in: $out"
    mr_wait_for "$tag: $id removed" grep -q "$id: removed" "$T/maillog"
    grep -Eq "mailroom/discard\[[0-9]+\]: $id: to=<bob@remote\.test>, .*status=sent" "$T/maillog" ||
        mr_fail "$tag: $id was not delivered"
}

# Ends the idle smtpd and cleanup processes (by pid) and waits until they are gone.
end_idle_daemons() {
    local pid pids=""
    for pid in $(mr_instance_pids); do
        case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
            smtpd | cleanup) pids="$pids $pid" ;;
        esac
    done
    [ -n "$pids" ] || mr_fail "no smtpd or cleanup process to end"
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $pids; do
        mr_wait_for "pid $pid exits" sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
    done
}

# Fatal errors of daemons (the mailroom command's own refusals are fatal too).
daemon_fatals() { grep "fatal:" "$T/maillog" | grep -vc "mailroom/mailroom\[" || true; }

deliver_one "before"
fatal_before=$(daemon_fatals)

# expect_refused FILE LINE MESSAGE: postconf warns, check and reload refuse,
# master keeps its configuration on a direct SIGHUP, new daemons serve.
expect_refused() {
    local file=$1 line=$2 msg=$3 want out refused
    want="$file, line $line: $msg"
    out=$(MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postconf" -n 2>&1 >/dev/null) || mr_fail "postconf failed: $out"
    echo "$out" | grep -qxF "postconf: warning: $want" || mr_fail "postconf does not warn '$want': $out"
    if out=$("$MR" -c "$CONF" check 2>&1); then mr_fail "check accepted: $want"; fi
    echo "$out" | grep -qF "$want" || mr_fail "check does not say '$want': $out"
    if out=$("$MR" -c "$CONF" reload 2>&1); then mr_fail "reload accepted: $want"; fi
    echo "$out" | grep -qxF "mailroom: error: $want" || mr_fail "reload does not say '$want': $out"
    refused=$(mr_log_count "configuration not changed")
    kill -HUP "$(cat "$Q/pid/master.pid")"
    mr_wait_for "master refuses: $want" sh -c \
        "[ \$(grep -c 'configuration not changed' '$T/maillog') -gt $refused ]"
    grep -qF "mailroom/master[$(cat "$Q/pid/master.pid" | tr -d ' ')]: error: $want" "$T/maillog" ||
        mr_fail "master does not log '$want'"
    end_idle_daemons
    deliver_one "after: $msg"
    cp "$T/main.cf.good" "$CONF/main.cf"
    cp "$T/master.cf.good" "$CONF/master.cf"
}

n=$(($(wc -l <"$T/main.cf.good") + 1))
break_main() { cp "$T/main.cf.good" "$CONF/main.cf"; echo "$1" >>"$CONF/main.cf"; }

break_main "message_size_limit = abc"
expect_refused "$CONF/main.cf" $n "bad numerical configuration: message_size_limit = abc"
break_main "smtpd_timeout = 5fortnights"
expect_refused "$CONF/main.cf" $n "parameter smtpd_timeout: bad time value or unit: 5fortnights"
break_main "smtpd_peername_lookup = perhaps"
expect_refused "$CONF/main.cf" $n "bad boolean configuration: smtpd_peername_lookup = perhaps"
break_main "alias_maps = hash:$T/missing/aliases"
expect_refused "$CONF/main.cf" $n "alias_maps: open database $T/missing/aliases.db: No such file or directory"
break_main "transport_maps = nosuch:$T/transport"
expect_refused "$CONF/main.cf" $n "transport_maps: unsupported dictionary type: nosuch"
break_main "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destinaton"
expect_refused "$CONF/main.cf" $n \
    "smtpd_recipient_restrictions: unknown smtpd restriction: \"reject_unauth_destinaton\""

# A master.cf -o override is judged on its service's line.
smtpd_line=$(grep -n "smtpd$" "$T/master.cf.good" | cut -d: -f1)
sed "s|^$SMTPD_LINE\$|$SMTPD_LINE -o smtpd_timeout=5fortnights|" "$T/master.cf.good" >"$CONF/master.cf"
expect_refused "$CONF/master.cf" "$smtpd_line" \
    "service 127.0.0.1:$P: parameter smtpd_timeout: bad time value or unit: 5fortnights"

# A line without '=' (a parse error, not a value) is refused the same way,
# except that postconf cannot read the file at all.
break_main "this line has no equals"
if out=$("$MR" -c "$CONF" reload 2>&1); then mr_fail "reload accepted a line without '='"; fi
echo "$out" | grep -qF "$CONF/main.cf, line $n: missing '=' after attribute name: \"this line has no equals\"" ||
    mr_fail "reload: $out"
refused=$(mr_log_count "configuration not changed")
kill -HUP "$(cat "$Q/pid/master.pid")"
mr_wait_for "master refuses the line without '='" sh -c \
    "[ \$(grep -c 'configuration not changed' '$T/maillog') -gt $refused ]"
end_idle_daemons
deliver_one "after: no '='"

[ "$(daemon_fatals)" = "$fatal_before" ] || mr_fail "a daemon died of the broken configuration"
cp "$T/main.cf.good" "$CONF/main.cf"
"$MR" -c "$CONF" status >/dev/null || mr_fail "master did not survive the refused reloads"
grep -q "throttling" "$T/maillog" && mr_fail "master throttled a service"

# start refuses a broken main.cf with the file and line.
"$MR" -c "$CONF" stop || mr_fail "stop failed"
break_main "message_size_limit = abc"
if out=$("$MR" -c "$CONF" start 2>&1); then mr_fail "start accepted a bad value"; fi
echo "$out" | grep -qxF "mailroom: error: $CONF/main.cf, line $n: bad numerical configuration: message_size_limit = abc" ||
    mr_fail "start: $out"
echo "$out" | grep -qF "mail system startup failed" || mr_fail "start: $out"
"$MR" -c "$CONF" status >/dev/null 2>&1 && mr_fail "an instance runs after a refused start"
echo "config_refused_reload: ok"
