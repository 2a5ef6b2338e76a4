#!/bin/bash
# smtpd_max_use.sh - smtpd processes retire at max_use without a crash.
#
# smtpd runs with "-o max_use=3"; four clients send 24 messages in 24
# sessions, partly at the same time, so several processes reach max_use
# while another session of theirs may still be running. Every message must
# be accepted (250 ... queued as ID) and delivered, every process that
# served three sessions must exit, and master must log no
# "killed by signal" (the process used to abort while destroying the last
# session from inside its own callback) and no failed exit.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
for prog in smtpd cleanup qmgr discard master mailroom; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd -o max_use=3"
printf "local_recipient_maps =\n" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

N=24
python3 - "$P" "$N" >"$T/replies" 2>&1 <<'PY' || mr_fail "smtplib: $(cat "$T/replies")"
import smtplib, sys, threading
port, total = int(sys.argv[1]), int(sys.argv[2])
errors = []
lock = threading.Lock()  # one whole line per print: threads must not interleave
def client(first, count):
    try:
        for i in range(first, first + count):
            s = smtplib.SMTP("127.0.0.1", port, timeout=20)
            s.ehlo("client.example")
            s.mail("alice@example.org")
            s.rcpt("bob@remote.test")
            code, text = s.data("Subject: message %d\r\n\r\nbody %d\r\n" % (i, i))
            assert code == 250 and text.startswith(b"2.0.0 Ok: queued as "), (code, text)
            with lock:
                print("queued", i, text.decode().split()[-1], flush=True)
            s.quit()
    except Exception as e:
        errors.append(repr(e))
per = total // 4
threads = [threading.Thread(target=client, args=(k * per, per)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    print("\n".join(errors)); sys.exit(1)
PY
[ "$(grep -c '^queued ' "$T/replies")" -eq "$N" ] || mr_fail "not every message was queued: $(cat "$T/replies")"

# Every accepted message is delivered.
mr_wait_for "$N messages delivered" sh -c "[ \$(grep -c ': removed\$' '$T/maillog') -ge $N ]"

# Each smtpd process that served max_use sessions exits, and master reaps it
# (its /proc entry goes away only after master's waitpid, which logs first).
retired=0
for pid in $(sed -n 's/.*mailroom\/smtpd\[\([0-9]*\)\]: connect from .*/\1/p' "$T/maillog" | sort | uniq -c |
             awk '$1 >= 3 {print $2}'); do
    mr_wait_for "smtpd pid $pid retired after max_use" sh -c "[ ! -e /proc/$pid ]"
    retired=$((retired + 1))
done
[ "$retired" -ge $((N / 3 - 1)) ] || mr_fail "only $retired smtpd processes reached max_use"
# No process served more than max_use sessions.
sed -n 's/.*mailroom\/smtpd\[\([0-9]*\)\]: connect from .*/\1/p' "$T/maillog" | sort | uniq -c |
    awk '$1 > 3 {exit 1}' || mr_fail "an smtpd process served more than max_use=3 sessions"

grep -q "killed by signal" "$T/maillog" && mr_fail "a process was killed by a signal"
grep -q "smtpd pid [0-9]* exit status" "$T/maillog" && mr_fail "an smtpd process exited with an error"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_max_use: ok ($retired processes retired)"
