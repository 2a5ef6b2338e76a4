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
t0=$(date +%s%N)
"$MR" -c "$CONF" start || mr_fail "start failed"

# A client that waits keeps the listener readable until it is killed.
python3 -c "import socket,time; s=socket.create_connection(('127.0.0.1',$P1)); time.sleep(300)" &
client=$!
FAILED="process $MAILROOM_BIN/mr-testd pid [0-9]* exit status 1"
mr_wait_for "three failed starts" sh -c "[ \$(grep -c '$FAILED' '$T/maillog') -ge 3 ]"
t1=$(date +%s%N)
kill "$client" 2>/dev/null
wait "$client" 2>/dev/null
cp "$T/maillog" "$T/maillog.snap"
n=$(grep -c "$FAILED" "$T/maillog.snap")
t=$(grep -c "bad command startup -- throttling" "$T/maillog.snap")
# Every restart came after a throttling line...
[ "$t" -ge $((n - 1)) ] || mr_fail "$n failed starts, only $t throttling lines: restarted without back-off"
# ...and waited it out: the third start came no sooner than the first two
# back-off delays (1s, then doubling) after master started.
delays=$(sed -n 's/.*bad command startup -- throttling for \([0-9]*\)s$/\1/p' "$T/maillog.snap" | head -n 2 |
    awk '{s += $1} END {print s + 0}')
[ "$delays" -ge 2 ] || mr_fail "back-off delays of the first two throttles add up to ${delays}s"
elapsed_ms=$(((t1 - t0) / 1000000))
[ "$elapsed_ms" -ge $((delays * 1000)) ] ||
    mr_fail "three starts within ${elapsed_ms} ms despite ${delays}s of back-off: not throttled"
grep -q "fatal: simulated start-up failure" "$T/maillog" || mr_fail "child's fatal line missing"

# Other services are not affected.
out=$(mr_client "$P2" ok QUIT) || mr_fail "healthy service does not answer"
[ "$out" = ok ] || mr_fail "healthy service answered '$out'"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"
echo "PASS"
