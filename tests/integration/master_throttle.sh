#!/bin/bash
# master_throttle.sh - a service that cannot start is throttled, not fork-bombed.
#
# The service's program fails at start-up (exit status 1). While a client
# waits, master must log each failure and restart it with back-off
# (service_throttle_time = 1s, doubling): a bounded number of starts.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

P1=$(mr_free_port)
P2=$(mr_free_port)
cat >"$CONF/master.cf" <<CF
127.0.0.1:$P1 inet n - n - - mr-testd fail
127.0.0.1:$P2 inet n - n - - mr-testd echo
CF
"$MR" -c "$CONF" start || mr_fail "start failed"

# A client that waits keeps the listener readable for the whole window.
python3 -c "import socket,time; s=socket.create_connection(('127.0.0.1',$P1)); time.sleep(9)" &
client=$!
sleep 8
n=$(mr_log_count "process $MAILROOM_BIN/mr-testd pid [0-9]* exit status 1")
t=$(mr_log_count "bad command startup -- throttling")
kill "$client" 2>/dev/null
wait "$client" 2>/dev/null
[ "$n" -ge 2 ] || mr_fail "only $n failed starts logged in 8s (expected restarts)"
# 1s + 2s + 4s back-off: at most 4 starts in 8 seconds, allow slack.
[ "$n" -le 6 ] || mr_fail "$n starts in 8s: not throttled"
[ "$t" -ge 2 ] || mr_fail "throttling not logged"
grep -q "fatal: simulated start-up failure" "$T/maillog" || mr_fail "child's fatal line missing"

# Other services are not affected.
out=$(mr_client "$P2" ok QUIT) || mr_fail "healthy service does not answer"
[ "$out" = ok ] || mr_fail "healthy service answered '$out'"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"
echo "PASS"
