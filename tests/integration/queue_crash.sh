#!/bin/bash
# queue_crash.sh - kill -9 of qmgr in the middle of a batch loses nothing.
#
# 200 messages are submitted while qmgr is not configured, so they pile up
# in incoming/. Then qmgr is added (reload): it moves the batch to active/
# and starts delivering through a pipe transport whose command waits for a
# gate file, so the first SIGKILL certainly leaves work in active/; the
# gate opens, and a second kill comes while the rest is delivered. A flush
# (postqueue -f) makes master start a new qmgr, which must take up what
# the dead one left in active/. Every message that sendmail acknowledged
# is delivered: the distinct queue IDs with a status=sent line equal the
# acknowledged messages (a recipient may be delivered twice, never zero
# times), and the queue ends empty.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
QS_NO_QMGR=1 qs_setup
if [ "$(id -u)" -eq 0 ]; then PUSER=nobody; else PUSER=$(id -un); fi
cat >"$T/gate.sh" <<SH
#!/bin/sh
while [ ! -e "$T/gate.open" ]; do sleep 0.05; done
cat >/dev/null
exit 0
SH
chmod 755 "$T/gate.sh"
echo "gate      unix  -       n       n       -       -       pipe user=$PUSER argv=$T/gate.sh" >>"$CONF/master.cf"
echo "default_transport = gate" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

qmgr_pid() {
    local pid
    for pid in $(mr_instance_pids); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qmgr ]; then echo "$pid"; fi
    done
    return 0
}
sent_count() {
    grep -F 'status=sent' "$T/maillog" | sed -n 's/.*\]: \([0-9A-F]*\): to=.*/\1/p' | sort -u | wc -l
}

N=200
acked=0
for i in $(seq 1 $N); do
    if printf 'Subject: batch %d\n\nmessage %d\n' "$i" "$i" | qs_send -f batch "rcpt$i@remote.test"; then
        acked=$((acked + 1))
    fi
done
[ "$acked" -eq "$N" ] || mr_fail "only $acked of $N submissions were acknowledged"
mr_wait_for "batch in incoming" sh -c "[ \$(find '$Q/incoming' -type f -name '[0-9A-F]*' | wc -l) -eq $acked ]"

echo "qmgr      unix  n       -       n       300     1       qmgr" >>"$CONF/master.cf"
"$MR" -c "$CONF" reload || mr_fail "reload failed"
mr_wait_for "qmgr listener" test -S "$Q/public/qmgr"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f || mr_fail "postqueue -f failed"
kills=0
hits=0  # kills that left messages in active/
active_count() { find "$Q/active" -type f | wc -l; }
# Round 1: deliveries wait at the gate, so active/ keeps its work.
mr_wait_for "work in active/" sh -c "[ \$(find '$Q/active' -type f | wc -l) -gt 0 ]"
pid=$(qmgr_pid)
[ -n "$pid" ] || mr_fail "no qmgr while work is in active/"
kill -9 "$pid" && kills=$((kills + 1))
[ "$(active_count)" -gt 0 ] && hits=$((hits + 1))
mr_wait_for "qmgr $pid gone" sh -c "! kill -0 $pid 2>/dev/null"
touch "$T/gate.open"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f 2>/dev/null || true
# Round 2: a kill while the rest is delivered, when it comes in time (qmgr
# is stopped before active/ is counted, so the count is what the kill leaves).
n=0
while [ "$(sent_count)" -lt "$acked" ]; do
    n=$((n + 1))
    [ $n -lt $((MR_WAIT * 100)) ] || break
    pid=$(qmgr_pid)
    if [ -n "$pid" ] && [ "$(active_count)" -gt 0 ] && kill -STOP "$pid" 2>/dev/null; then
        if [ "$(active_count)" -gt 0 ]; then
            kill -9 "$pid" && kills=$((kills + 1)) && hits=$((hits + 1))
            mr_wait_for "qmgr $pid gone" sh -c "! kill -0 $pid 2>/dev/null"
            MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f 2>/dev/null || true
            break
        fi
        kill -CONT "$pid" 2>/dev/null
    fi
    sleep 0.01
done

# The first kill must have left work behind, or the test proves nothing.
[ "$hits" -gt 0 ] || mr_fail "no kill left anything in active/: the test proves nothing"
mr_wait_for "all $acked messages delivered" sh -c "[ \$(grep -F 'status=sent' '$T/maillog' | sed -n 's/.*\\]: \\([0-9A-F]*\\): to=.*/\\1/p' | sort -u | wc -l) -ge $acked ]"
sent=$(sent_count)
[ "$sent" -eq "$acked" ] || mr_fail "$sent messages delivered, $acked acknowledged"
for i in 1 20 100 101 150 200; do
    grep -q "to=<rcpt$i@remote.test>, relay=gate, .*status=sent" "$T/maillog" || mr_fail "rcpt$i not delivered"
done
mr_wait_for "queue empty" sh -c "[ -z \"\$(find '$Q/maildrop' '$Q/incoming' '$Q/active' '$Q/deferred' -type f)\" ]"
grep -q "qmgr pid [0-9]* killed by signal 9" "$T/maillog" || mr_fail "master did not see qmgr die"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS ($acked messages, qmgr killed $kills times, $hits with work in active/)"
