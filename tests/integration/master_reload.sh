#!/bin/bash
# master_reload.sh - SIGHUP applies a changed master.cf.
#
# A service removed from master.cf stops listening, a new one answers, an
# unchanged one keeps its listener (answers throughout), and the reload is
# logged.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

PKEEP=$(mr_free_port)
POLD=$(mr_free_port)
PNEW=$(mr_free_port)
cat >"$CONF/master.cf" <<CF
127.0.0.1:$PKEEP inet n - n - - mr-testd echo
127.0.0.1:$POLD inet n - n - - mr-testd echo
CF
"$MR" -c "$CONF" start || mr_fail "start failed"
mr_client "$POLD" x QUIT >/dev/null || mr_fail "old service does not answer"
mr_client "$PNEW" x 2>/dev/null && mr_fail "new service answers before reload"
oldpid=$(mr_client "$PKEEP" PID QUIT | awk '{print $2}')

cat >"$CONF/master.cf" <<CF
127.0.0.1:$PKEEP inet n - n - - mr-testd echo
127.0.0.1:$PNEW inet n - n - - mr-testd echo
CF
# The log is reopened on reload (log rotation).
mv "$T/maillog" "$T/maillog.1"
"$MR" -c "$CONF" reload || mr_fail "reload failed"
mr_wait_for "reload logged" grep -q "reload -- version .*, configuration $CONF" "$T/maillog"
mr_wait_for "new service answers" mr_client "$PNEW" x QUIT
mr_wait_for "removed service stops listening" sh -c "! python3 '$HERE/mr_client.py' $POLD x"
out=$(mr_client "$PKEEP" y QUIT) || mr_fail "unchanged service does not answer after reload"
[ "$out" = y ] || mr_fail "unchanged service answered '$out'"
# Old children exit so that every process runs with the new configuration.
mr_wait_for "old child exits" sh -c "! kill -0 $oldpid 2>/dev/null || grep -q '^State:.*Z' /proc/$oldpid/status"

# A broken master.cf leaves the running configuration alone.
# (mailroom reload refuses it; master itself must survive a SIGHUP too).
echo "bogus line here" >"$CONF/master.cf"
"$MR" -c "$CONF" reload 2>/dev/null && mr_fail "reload accepted a broken master.cf"
kill -HUP "$(cat "$Q/pid/master.pid")"
mr_wait_for "bad reload logged" grep -q "configuration not changed" "$T/maillog"
mr_client "$PNEW" z QUIT >/dev/null || mr_fail "a bad master.cf broke the running instance"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"
echo "PASS"
