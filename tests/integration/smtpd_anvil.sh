#!/bin/bash
# smtpd_anvil.sh - client connection and rate limits through anvil, driven
# with Python smtplib: the (limit+1)th simultaneous connection from
# 127.0.0.1 gets Postfix's 421 and warning while a client listed in
# smtpd_client_event_limit_exceptions (127.0.0.2) is not limited; a
# connection rate limit; message and recipient rate limits; anvil's
# statistics lines; and smtpd going on (with a warning) while anvil is
# stopped (SIGSTOP: a timeout, during which another session of the same
# smtpd process is served) and when it is gone from master.cf.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup anvil master mailroom
mr_need_address 127.0.0.2
P1=$(mr_free_port)  # connection count limit 2; 127.0.0.2 is an exception
P2=$(mr_free_port)  # connection rate limit 3
P3=$(mr_free_port)  # message rate limit 2
P4=$(mr_free_port)  # recipient rate limit 3
P5=$(mr_free_port)  # one smtpd process (maxproc 1), the default limits
QS_NO_QMGR=1 qs_setup \
    "127.0.0.1:$P1 inet n - n - - smtpd -o smtpd_client_connection_count_limit=2 -o smtpd_client_event_limit_exceptions=127.0.0.2" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_client_connection_rate_limit=3 -o smtpd_client_event_limit_exceptions=" \
    "127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_client_message_rate_limit=2 -o smtpd_client_event_limit_exceptions=" \
    "127.0.0.1:$P4 inet n - n - - smtpd -o smtpd_client_recipient_rate_limit=3 -o smtpd_client_event_limit_exceptions=" \
    "127.0.0.1:$P5 inet n - n - 1 smtpd -o smtpd_client_event_limit_exceptions="
echo "local_recipient_maps =" >>"$CONF/main.cf"
grep -q "^anvil " "$CONF/master.cf" || mr_fail "qs_setup has no anvil service"
"$MR" -c "$CONF" start || mr_fail "start failed"

python3 - "$P1" "$P2" "$P3" "$P4" >"$T/py.out" 2>&1 <<'PY' || mr_fail "smtplib: $(cat "$T/py.out")"
import smtplib, sys, time
p1, p2, p3, p4 = (int(a) for a in sys.argv[1:5])

def session(port, source="127.0.0.1"):
    return smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0))

def refused(port, source="127.0.0.1"):
    try:
        s = session(port, source)
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error.decode()
    s.quit()
    return None

# Concurrency: two sessions are fine, the third is refused.
held = [session(p1), session(p1)]
for s in held:
    assert s.noop()[0] == 250
r = refused(p1)
assert r == (421, "4.7.0 mx.example.test Error: too many connections from 127.0.0.1"), r
# A client in smtpd_client_event_limit_exceptions is not counted.
exempt = [session(p1, "127.0.0.2") for _ in range(3)]
for s in exempt:
    assert s.noop()[0] == 250
for s in exempt + held:
    s.quit()
# Once the sessions ended, 127.0.0.1 may connect again (anvil hears the
# disconnects asynchronously: poll).
for _ in range(300):
    if refused(p1) is None:
        break
    time.sleep(0.2)
else:
    raise SystemExit("127.0.0.1 still refused after its sessions ended")

# Connection rate: three connections per time unit, the fourth is refused.
for _ in range(3):
    s = session(p2)
    s.quit()
r = refused(p2)
assert r == (421, "4.7.0 mx.example.test Error: too many connections from 127.0.0.1"), r

# Message rate: two MAIL FROM per time unit.
s = session(p3)
s.ehlo("client.example")
for _ in range(2):
    assert s.mail("alice@example.org")[0] == 250
    assert s.rset()[0] == 250
r = s.mail("alice@example.org")
assert r == (450, b"4.7.1 Error: too much mail from 127.0.0.1"), r
s.quit()

# Recipient rate: three RCPT TO per time unit; the message still goes.
s = session(p4)
s.ehlo("client.example")
assert s.mail("alice@example.org")[0] == 250
for i in range(3):
    assert s.rcpt("u%d@mx.example.test" % i)[0] == 250
r = s.rcpt("u3@mx.example.test")
assert r == (450, b"4.7.1 Error: too many recipients from 127.0.0.1"), r
code, text = s.data(b"Subject: rate\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()
print("ok")
PY

# Postfix's warnings, with the count or rate that went over the limit.
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: Connection concurrency limit exceeded: 3 from unknown\[127\.0\.0\.1\] for service 127\.0\.0\.1:$P1\$" "$T/maillog" ||
    mr_fail "concurrency warning"
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: Connection rate limit exceeded: 4 from unknown\[127\.0\.0\.1\] for service 127\.0\.0\.1:$P2\$" "$T/maillog" ||
    mr_fail "connection rate warning"
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: Message delivery request rate limit exceeded: 3 from unknown\[127\.0\.0\.1\] for service 127\.0\.0\.1:$P3\$" "$T/maillog" ||
    mr_fail "message rate warning"
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: Recipient address rate limit exceeded: 4 from unknown\[127\.0\.0\.1\] for service 127\.0\.0\.1:$P4\$" "$T/maillog" ||
    mr_fail "recipient rate warning"
# The refused session is logged like any other.
mr_wait_for "disconnect line of the refused session" \
    grep -Eq "mailroom/smtpd\[[0-9]+\]: disconnect from unknown\[127\.0\.0\.1\] commands=0\$" "$T/maillog"
[ "$(mr_log_count 'unknown\[127.0.0.2\]: .*limit exceeded')" -eq 0 ] || mr_fail "the exempt client was counted"
[ "$(mr_log_count 'private/anvil')" -eq 0 ] || mr_fail "anvil was not reachable"

anvil_pid() {
    local pid
    for pid in $(mr_instance_pids); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = anvil ] && echo "$pid"
    done
}
A=$(anvil_pid)
[ -n "$A" ] || mr_fail "no anvil process"

# anvil stopped (SIGSTOP): a new session waits for the timeout, logs a
# warning and goes on without a limit; meanwhile another session of the
# same smtpd process (maxproc 1) is served as usual.
python3 - "$P5" "$A" >"$T/py.out" 2>&1 <<'PY' || { kill -CONT "$A"; mr_fail "smtplib with anvil stopped: $(cat "$T/py.out")"; }
import os, select, signal, smtplib, socket, sys
port, anvil = int(sys.argv[1]), int(sys.argv[2])
a = smtplib.SMTP("127.0.0.1", port, timeout=60)  # greeted while anvil runs
os.kill(anvil, signal.SIGSTOP)
b = socket.create_connection(("127.0.0.1", port), timeout=60)  # its greeting waits for anvil
a.ehlo("client.example")
assert a.mail("alice@example.org")[0] == 250
assert a.rcpt("bob@mx.example.test")[0] == 250
code, text = a.data(b"Subject: anvil stopped\r\n\r\nhello\r\n")
assert code == 250, (code, text)
a.quit()
# Session A is done; B still has no greeting.
assert select.select([b], [], [], 0)[0] == [], "B was greeted before anvil answered"
f = b.makefile("rb")
greeting = f.readline().decode()
assert greeting.startswith("220 "), greeting
b.sendall(b"QUIT\r\n")
assert f.readline().decode().startswith("221 ")
PY
kill -CONT "$A"
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: problem talking to server private/anvil: timeout\$" "$T/maillog" ||
    mr_fail "timeout warning"

# A reload replaces anvil at once, even while an old smtpd process still
# holds a session (and its connection to anvil); the new anvil counts the
# sessions of the new smtpd processes.
python3 - "$P1" "$A" "$MR" "$CONF" >"$T/py.out" 2>&1 <<'PY' || mr_fail "reload: $(cat "$T/py.out")"
import smtplib, subprocess, sys, time
port, anvil, mr, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
held = smtplib.SMTP("127.0.0.1", port, timeout=30)
assert held.noop()[0] == 250
subprocess.run([mr, "-c", conf, "reload"], check=True)
for _ in range(600):
    try:
        with open("/proc/%s/comm" % anvil) as f:
            if f.read().strip() != "anvil":
                break
    except OSError:
        break
    time.sleep(0.1)
else:
    raise SystemExit("the old anvil is still running")
new = [smtplib.SMTP("127.0.0.1", port, timeout=30) for _ in range(2)]
try:
    smtplib.SMTP("127.0.0.1", port, timeout=30)
    raise SystemExit("the third new session was not refused")
except smtplib.SMTPConnectError as e:
    assert e.smtp_code == 421, e
for s in new + [held]:
    s.quit()
PY
[ "$(mr_log_count 'warning: Connection concurrency limit exceeded: 3 from unknown\[127.0.0.1\]')" -eq 2 ] ||
    mr_fail "the new anvil did not count the new sessions"
A=$(anvil_pid)
[ -n "$A" ] || mr_fail "no anvil process after the reload"

# anvil gone from master.cf: smtpd cannot connect, says so, and goes on.
sed -i '/^anvil /d' "$CONF/master.cf"
"$MR" -c "$CONF" reload || mr_fail "reload failed"
mr_wait_for "anvil exits" sh -c "! grep -qx anvil /proc/$A/comm 2>/dev/null"
# The exiting anvil reported its peaks.
grep -Eq "mailroom/anvil\[[0-9]+\]: statistics: max connection count 3 for \(127\.0\.0\.1:$P1:127\.0\.0\.1\) at [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}\$" "$T/maillog" ||
    mr_fail "anvil connection count statistics"
grep -Eq "mailroom/anvil\[[0-9]+\]: statistics: max recipient rate 4/60s for \(127\.0\.0\.1:$P4:127\.0\.0\.1\) at " "$T/maillog" ||
    mr_fail "anvil recipient rate statistics"
python3 - "$P1" >"$T/py.out" 2>&1 <<'PY' || mr_fail "smtplib without anvil: $(cat "$T/py.out")"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("client.example")
assert s.mail("alice@example.org")[0] == 250
assert s.rcpt("bob@mx.example.test")[0] == 250
code, text = s.data(b"Subject: no anvil\r\n\r\nhello\r\n")
assert code == 250, (code, text)
s.quit()
PY
grep -Eq "mailroom/smtpd\[[0-9]+\]: warning: connect to private/anvil: " "$T/maillog" ||
    mr_fail "connect warning"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_anvil: ok"
