#!/bin/bash
# master_trigger.sh - wakeup timers for trigger services.
#
# A fifo, a UNIX socket and a datagram service with "wakeup 1" are woken every
# second (the trigger daemon logs each wakeup); a "1?" service that was
# never used is not woken.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

cat >"$CONF/master.cf" <<CF
tfifo  fifo n - n 1  1 mr-testd trigger
tunix  unix n - n 1  1 mr-testd trigger
tcond  unix n - n 1? 1 mr-testd trigger
tdgram unix-dgram n - n 1 1 mr-testd trigger
CF
"$MR" -c "$CONF" start || mr_fail "start failed"
[ -p "$Q/public/tfifo" ] || mr_fail "fifo not created in public/"
[ -S "$Q/public/tunix" ] || mr_fail "socket not created in public/"
mr_wait_for "fifo wakeups" sh -c "[ \$(grep -c 'trigger: 1 bytes from service tfifo' '$T/maillog') -ge 2 ]"
mr_wait_for "unix wakeups" sh -c "[ \$(grep -c 'trigger: 1 bytes from service tunix' '$T/maillog') -ge 2 ]"
mr_wait_for "datagram wakeups" sh -c "[ \$(grep -c 'trigger: 1 bytes from service tdgram' '$T/maillog') -ge 2 ]"
grep -q "from service tcond" "$T/maillog" && mr_fail "conditional wakeup woke an unused service"

# A client trigger through the socket is served too.
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$Q/public/tcond'); s.sendall(b'ABC'); s.close()"
mr_wait_for "client trigger" grep -q "trigger: 3 bytes from service tcond" "$T/maillog"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"

# master killed with SIGKILL: its children follow, and the instance starts
# again over the stale pid file, sockets and fifo.
"$MR" -c "$CONF" start || mr_fail "restart failed"
mr_wait_for "children running" sh -c "[ \$(grep -c 'started for service tfifo' '$T/maillog') -ge 2 ]"
kill -9 "$(tr -d ' ' <"$Q/pid/master.pid")"
mr_wait_for "children exit with master" mr_no_instance_pids
"$MR" -c "$CONF" status && mr_fail "status says running after master was killed"
"$MR" -c "$CONF" start || mr_fail "start after a killed master failed"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS"
