#!/bin/bash
# master_limits.sh - maxproc, max_use, max_idle and -o overrides.
#
# A single server with maxproc 1 serves one client at a time; an echo
# service with "-o max_use=2" replaces its process after two clients; one
# with "-o max_idle=1s" exits when idle; -o syslog_name reaches the child.
source "$(dirname "$0")/mr_instance.sh"
mr_enter_netns "$@"
mr_setup

PS=$(mr_free_port)
PU=$(mr_free_port)
PI=$(mr_free_port)
PH=$(mr_free_port)
cat >"$CONF/master.cf" <<CF
127.0.0.1:$PS inet n - n - 1 mr-testd single
127.0.0.1:$PU inet n - n - - mr-testd -o max_use=2 echo
127.0.0.1:$PI inet n - n - - mr-testd
  -o max_idle=1s
  -o syslog_name=mailroom/idle
  echo
127.0.0.1:$PH inet n - n - - mr-testd -o daemon_timeout=2s hang
CF
"$MR" -c "$CONF" start || mr_fail "start failed"

# maxproc 1: a second client waits while the first holds the only process,
# and is then served by that same process (a second process would have
# answered with another pid at once).
python3 - "$PS" "$T/holder" <<'PY' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"PID\n")
pid = s.recv(100).decode().split()[1]
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(pid + "\n")
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
# Hold the process until the second client is connected and waiting.
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[2] + ".release") and time.monotonic() < deadline:
    time.sleep(0.05)
s.close()
PY
holder=$!
mr_wait_for "first client served" test -s "$T/holder"
first=$(cat "$T/holder")
python3 - "$PS" "$T/second" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
open(sys.argv[2] + ".connected", "w").close()
s.sendall(b"PID\n")
reply = s.recv(100).decode()
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(reply)
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
PY
second=$!
mr_wait_for "second client connected" test -e "$T/second.connected"
[ ! -e "$T/second" ] || mr_fail "second client served while maxproc 1 was busy: $(cat "$T/second")"
: >"$T/holder.release"
wait "$holder"
wait "$second" || mr_fail "second client never served"
[ "$(awk '{print $2}' "$T/second")" = "$first" ] ||
    mr_fail "maxproc 1: second client served by pid $(cat "$T/second"), the busy one was $first"

# max_use=2: the third client gets a new process.
a=$(mr_client "$PU" PID QUIT | awk '{print $2}')
b=$(mr_client "$PU" PID QUIT | awk '{print $2}')
[ -n "$a" ] && [ "$a" = "$b" ] || mr_fail "max_use=2: first two clients saw pids $a and $b"
mr_wait_for "process retired after max_use" sh -c "! kill -0 $a 2>/dev/null || grep -q '^State:.*Z' /proc/$a/status"
c=$(mr_client "$PU" PID QUIT | awk '{print $2}')
[ -n "$c" ] && [ "$c" != "$a" ] || mr_fail "max_use=2: third client saw pid $c (old $a)"

# max_idle=1s: the process goes away by itself, without warnings.
i=$(mr_client "$PI" PID QUIT | awk '{print $2}')
[ -n "$i" ] || mr_fail "idle service did not answer"
# Reaped by master (gone from /proc), and master has served another
# client since, so whatever it had to log about the exits is in the log.
mr_wait_for "idle process reaped" sh -c "[ ! -e /proc/$i ]"
mr_wait_for "max_use process reaped" sh -c "[ ! -e /proc/$a ]"
mr_client "$PI" PID QUIT >/dev/null || mr_fail "idle service does not answer after its process exited"
grep -q "pid $i exit status" "$T/maillog" && mr_fail "idle exit logged as a failure"
grep -q "pid $a exit status" "$T/maillog" && mr_fail "max_use exit logged as a failure"

# -o syslog_name reached the child (its start-up line carries the new tag).
grep -q "mailroom/idle/testd\[$i\]: started for service 127.0.0.1:$PI" "$T/maillog" ||
    mr_fail "-o syslog_name did not reach the child"
# The watchdog ends a process whose loop is stuck for daemon_timeout.
python3 - "$PH" <<'PY' >"$T/hang.out" &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
print(s.recv(100).decode().strip(), flush=True)
s.recv(100)
PY
hangclient=$!
mr_wait_for "watchdog kills the stuck process" grep -q "testd\[[0-9]*\]: fatal: watchdog timeout" "$T/maillog"
mr_wait_for "master logs the watchdog exit" grep -q "process $MAILROOM_BIN/mr-testd pid [0-9]* exit status 1" "$T/maillog"
wait "$hangclient"
grep -q hanging "$T/hang.out" || mr_fail "hang service never answered"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
[ -z "$(mr_instance_pids)" ] || mr_fail "processes left after stop"
echo "PASS"
