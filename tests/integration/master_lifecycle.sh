#!/bin/bash
# master_lifecycle.sh - start, status, a second master, kill -9 respawn, stop.
#
# Starts an instance with an echo service (multi server) and a single
# server, checks that `start` returns with the listeners open, that status
# tells the truth, that a second master is refused, that a child killed
# with SIGKILL is logged and replaced, and that `stop` leaves no process.
# As root it also checks that unpriv children run as mail_owner and that
# chrooted ones are jailed in queue_directory.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

P1=$(mr_free_port)
P2=$(mr_free_port)
cat >"$CONF/master.cf" <<CF
# service          type private unpriv chroot wakeup maxproc command
127.0.0.1:$P1      inet  n      -      n      -      4       mr-testd echo
127.0.0.1:$P2      inet  n      -      y      -      2       mr-testd single
CF

"$MR" -c "$CONF" status && mr_fail "status says running before start"
MR_SECRET=leak "$MR" -c "$CONF" start || mr_fail "start failed"
# start returns only after every listener is open: no waiting here.
out=$(mr_client "$P1" hello QUIT) || mr_fail "echo service did not answer right after start"
[ "$out" = "hello" ] || mr_fail "echo answered '$out'"
"$MR" -c "$CONF" status || mr_fail "status says not running"
# Children get import_environment only, plus MAIL_CONFIG.
[ "$(mr_client "$P1" "ENV MR_SECRET" QUIT)" = "env (unset)" ] || mr_fail "master leaked its environment to a child"
[ "$(mr_client "$P1" "ENV MAIL_CONFIG" QUIT)" = "env $CONF" ] || mr_fail "child lacks MAIL_CONFIG"
[ "$(mr_client "$P1" "ENV LANG" QUIT)" = "env C" ] || mr_fail "child lacks LANG=C"
grep -q "daemon started -- version" "$T/maillog" || mr_fail "no 'daemon started' line"

# A second master on the same instance is refused.
if "$MR" -c "$CONF" start 2>"$T/err2"; then mr_fail "second start succeeded"; fi
grep -q "already running" "$T/err2" || mr_fail "second start did not say why"
if "$MAILROOM_BIN/master" -c "$CONF" 2>"$T/err3"; then mr_fail "second master ran"; fi
grep -q "fatal: the mail system is already running" "$T/err3" || mr_fail "second master: $(cat "$T/err3")"

# kill -9 of a child that has served: logged, and a new child serves.
pid1=$(mr_client "$P1" PID QUIT | awk '{print $2}')
[ -n "$pid1" ] || mr_fail "no pid from echo service"
kill -9 "$pid1"
mr_wait_for "kill -9 logged" grep -q "process $MAILROOM_BIN/mr-testd pid $pid1 killed by signal 9" "$T/maillog"
pid2=$(mr_client "$P1" PID QUIT | awk '{print $2}')
[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] || mr_fail "no new child after kill -9 ($pid1 -> $pid2)"
grep -q "throttling" "$T/maillog" && mr_fail "a used child killed by signal throttled its service"

# The single server answers too.
spid=$(mr_client "$P2" PID QUIT | awk '{print $2}')
[ -n "$spid" ] || mr_fail "single server did not answer"

if [ "$(id -u)" -eq 0 ]; then
    nobody_uid=$(id -u nobody)
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid2/status")
    [ "$uid" = "$nobody_uid" ] || mr_fail "unpriv child runs as uid $uid, not mail_owner ($nobody_uid)"
    root=$(readlink "/proc/$spid/root")
    [ "$root" = "$Q" ] || mr_fail "chrooted child has root '$root', not $Q"
    root1=$(readlink "/proc/$pid2/root")
    [ "$root1" = "/" ] || mr_fail "unchrooted child has root '$root1'"
else
    uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid2/status")
    [ "$uid" = "$(id -u)" ] || mr_fail "unprivileged instance child runs as uid $uid"
fi

"$MR" -c "$CONF" stop || mr_fail "stop failed"
left=$(mr_instance_pids)
[ -z "$left" ] || mr_fail "processes left after stop: $left"
"$MR" -c "$CONF" status && mr_fail "status says running after stop"
mr_client "$P1" PID 2>/dev/null && mr_fail "echo service answers after stop"
grep -q "terminating on signal 15" "$T/maillog" || mr_fail "no 'terminating on signal 15' line"
"$MR" -c "$CONF" stop 2>/dev/null && mr_fail "stop of a stopped instance succeeded"

# start-fg: mailroom becomes master in the foreground.
"$MR" -c "$CONF" start-fg 2>"$T/fg.err" &
fg=$!
mr_wait_for "start-fg serves" mr_client "$P1" x QUIT
[ "$(cat "$Q/pid/master.pid" | tr -d ' ')" = "$fg" ] || mr_fail "start-fg did not exec master in place"
"$MR" -c "$CONF" stop || mr_fail "stop of start-fg failed"
wait "$fg" || mr_fail "foreground master exited with status $?"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stopping start-fg"
echo "PASS"
