#!/bin/bash
# queue_purge.sh - temporary queue files of a killed writer are removed by
# postsuper -p and by mailroom start, as Postfix's postsuper -p purges old
# temporary files; committed queue files and a live writer's file stay.
#
# A cleanup is killed with SIGKILL while an SMTP client is in the middle of
# DATA (its half-written tmp.PID.N stays in incoming/), and a stale
# maildrop/tmp.PID.N of a process that has exited is planted. After
# "mailroom stop" and "mailroom start" both are gone and the message
# committed before is still in incoming/. Then, while the system runs,
# postsuper -p removes another dead writer's file and keeps the file named
# after a live process.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
for prog in smtpd cleanup master mailroom postsuper; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
P=$(mr_free_port)
QS_NO_QMGR=1 qs_setup "127.0.0.1:$P inet n - n - - smtpd"
"$MR" -c "$CONF" start || mr_fail "start failed"

# One committed message stays in incoming/ (no qmgr).
printf 'Subject: keep\n\nkeep me\n' | qs_send -f a@example.test keep@example.test || mr_fail "sendmail"
mr_wait_for "committed message" sh -c "ls '$Q/incoming' | grep -q '^[0-9A-F]'"
KEEP=$(ls "$Q/incoming" | grep '^[0-9A-F]')

# An SMTP client stops in the middle of DATA; its cleanup is killed.
python3 - "$P" "$T/client.ready" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if not line or line[3:4] != b"-":
            return line
reply()
for cmd in (b"EHLO c.example", b"MAIL FROM:<a@example.test>", b"RCPT TO:<b@example.test>", b"DATA"):
    s.sendall(cmd + b"\r\n")
    reply()
s.sendall(b"Subject: half\r\n\r\n" + b"line of the body\r\n" * 5000)
open(sys.argv[2], "w").close()
time.sleep(600)  # killed once the test is done with it
PY
CLIENT=$!
mr_wait_for "client in DATA" test -e "$T/client.ready"
mr_wait_for "temporary file in incoming/" sh -c "ls '$Q/incoming' | grep -q '^tmp\.'"
TMP1=$(ls "$Q/incoming" | grep '^tmp\.' | head -n 1)
CPID=$(echo "$TMP1" | cut -d. -f2)
[ "$(cat "/proc/$CPID/comm" 2>/dev/null)" = cleanup ] || mr_fail "$TMP1 is not a cleanup's file"
kill -9 "$CPID"
mr_wait_for "cleanup $CPID gone" sh -c "! kill -0 $CPID 2>/dev/null"
kill "$CLIENT" 2>/dev/null
wait "$CLIENT" 2>/dev/null
[ -e "$Q/incoming/$TMP1" ] || mr_fail "the killed cleanup's file vanished by itself"

# A maildrop temporary file of a postdrop that has exited.
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD"
kill -0 "$DEAD" 2>/dev/null && mr_fail "pid $DEAD still runs"
echo partial >"$Q/maildrop/tmp.$DEAD.3"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
"$MR" -c "$CONF" start || mr_fail "second start failed"
[ -e "$Q/incoming/$TMP1" ] && mr_fail "start left $TMP1 in incoming/"
[ -e "$Q/maildrop/tmp.$DEAD.3" ] && mr_fail "start left tmp.$DEAD.3 in maildrop/"
[ -e "$Q/incoming/$KEEP" ] || mr_fail "start removed the committed queue file $KEEP"
grep -q "postsuper\[[0-9]*\]: removed 1 stale temporary file from incoming" "$T/maillog" || mr_fail "no log line for incoming/"
grep -q "postsuper\[[0-9]*\]: removed 1 stale temporary file from maildrop" "$T/maillog" || mr_fail "no log line for maildrop/"

# postsuper -p while the system runs: the dead writer's file goes, the live one's stays.
echo partial >"$Q/incoming/tmp.$DEAD.4"
echo partial >"$Q/incoming/tmp.$$.5"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postsuper" -p || mr_fail "postsuper -p failed"
[ -e "$Q/incoming/tmp.$DEAD.4" ] && mr_fail "postsuper -p left tmp.$DEAD.4"
[ -e "$Q/incoming/tmp.$$.5" ] || mr_fail "postsuper -p removed the file of a live process"
[ -e "$Q/incoming/$KEEP" ] || mr_fail "postsuper -p removed the committed queue file $KEEP"
rm -f "$Q/incoming/tmp.$$.5"
echo "ok: stale temporary files purged"
