#!/bin/bash
# queue_fault.sh - the durability promise under fire: no acknowledged
# message is ever lost while cleanup and qmgr are killed with SIGKILL over
# and over.
#
# An instance whose only transport is discard takes FAULT_MESSAGES
# messages (default 3000), half through sendmail (acknowledged = exit
# status 0), half through smtpd with Python's smtplib (acknowledged =
# "250 2.0.0 Ok: queued as ID"), both at once. Meanwhile a loop kills a
# random cleanup or qmgr process every 0.3 to 1 s. Then the killing stops,
# the system settles, and:
#   - every message smtpd acknowledged has a status=sent line under the
#     queue ID it announced;
#   - every message sendmail acknowledged has a status=sent line under a
#     queue ID whose message-id= line names it (pickup may have handed a
#     message to cleanup twice when cleanup died after its commit);
#   - maildrop/, incoming/, active/ and deferred/ hold no queue file;
#     recycle/ holds finished files (recycling ran while processes died).
# Duplicates (at-least-once delivery) are counted and reported, not failed.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr pickup discard sendmail postdrop master mailroom
N=${FAULT_MESSAGES:-3000}
# mr_instance.sh set its own default already: this test waits longer.
MR_WAIT=240
P=$(mr_free_port)
qs_setup "127.0.0.1:$P inet n - n - - smtpd"
{
    echo "local_recipient_maps ="
    # A process killed before it served anything throttles its service;
    # keep that short so the test is about the queue, not the back-off.
    echo "service_throttle_time = 1s"
} >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"

pids_of() {
    local pid
    for pid in $(mr_instance_pids); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then echo "$pid"; fi
    done
    return 0
}

# The killer: a random cleanup or qmgr process every 0.3..1 s.
touch "$T/killing"
(
    kills=0
    while [ -e "$T/killing" ]; do
        sleep "0.$((RANDOM % 8 + 3))"
        if [ $((RANDOM % 2)) -eq 0 ]; then victim=cleanup; else victim=qmgr; fi
        set -- $(pids_of "$victim")
        [ $# -gt 0 ] || continue
        shift $((RANDOM % $#))
        kill -9 "$1" 2>/dev/null && kills=$((kills + 1)) && echo "$victim" >>"$T/kills"
    done
) &
killer=$!

# sendmail half: one line per acknowledged message in $T/acked_sendmail.
HALF_S=$((N / 2))
HALF_SMTP=$((N - HALF_S))
(
    for i in $(seq 1 $HALF_S); do
        if printf 'Message-ID: <fault-s%d@client.test>\nSubject: fault %d\n\nmessage %d\n' "$i" "$i" "$i" |
            qs_send -f sender@client.test "s$i@remote.test" 2>/dev/null; then
            echo "$i" >>"$T/acked_sendmail"
        fi
    done
) &
submitter=$!

# SMTP half: "i QUEUEID" per acknowledged message in $T/acked_smtp.
python3 - "$P" "$HALF_SMTP" "$T/acked_smtp" <<'PY' || mr_fail "smtp client failed"
import re, smtplib, socket, sys, time
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
acked = open(out, "w")
s = None
i = 1
failures = 0
while i <= n:
    try:
        if s is None:
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            s.ehlo("client.test")
        code, _ = s.mail("sender@client.test")
        if code != 250:
            raise smtplib.SMTPException("MAIL %d" % code)
        code, _ = s.rcpt("m%d@remote.test" % i)
        if code != 250:
            raise smtplib.SMTPException("RCPT %d" % code)
        code, text = s.data("Subject: fault %d\r\n\r\nmessage %d\r\n" % (i, i))
        m = re.match(rb"2\.0\.0 Ok: queued as ([0-9A-F]+)$", text)
        if code == 250 and m:
            acked.write("%d %s\n" % (i, m.group(1).decode()))
            acked.flush()
        elif code == 250:
            sys.exit("250 without a queue ID: %r" % text)
        else:
            # cleanup died under this message: not acknowledged, try the next.
            failures += 1
            s.rset()
    except (smtplib.SMTPException, OSError):
        failures += 1
        try:
            s.close()
        except Exception:
            pass
        s = None
        time.sleep(0.05)
    i += 1
if s is not None:
    s.quit()
print("smtp: %d sent, %d not acknowledged" % (n, failures))
PY
wait "$submitter"
rm -f "$T/killing"
wait "$killer"
kills=$(wc -l <"$T/kills" 2>/dev/null || echo 0)
[ "$kills" -gt 0 ] || mr_fail "nothing was killed: the test proves nothing"

# Settle: a flush starts qmgr again and retries the deferred mail.
touch "$T/acked_sendmail" "$T/acked_smtp"
acked_s=$(wc -l <"$T/acked_sendmail")
acked_m=$(wc -l <"$T/acked_smtp")
[ "$acked_s" -gt $((HALF_S / 2)) ] || mr_fail "only $acked_s of $HALF_S sendmail submissions acknowledged"
[ "$acked_m" -gt $((HALF_SMTP / 2)) ] || mr_fail "only $acked_m of $HALF_SMTP SMTP submissions acknowledged"
queue_files() {
    find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" -type f -name '[0-9A-F]*' | wc -l
}
settled() {
    MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f >/dev/null 2>&1
    [ "$(queue_files)" -eq 0 ]
}
mr_wait_for "the queue to drain" settled

# Every acknowledged SMTP message was delivered under its queue ID.
grep -F 'status=sent' "$T/maillog" | sed -n 's/.*\]: \([0-9A-F]*\): to=<\([^>]*\)>.*/\1 \2/p' >"$T/sent"
python3 - "$T/acked_smtp" "$T/acked_sendmail" "$T/sent" "$T/maillog" <<'PY' || mr_fail "lost messages"
import collections, re, sys
acked_smtp = [l.split() for l in open(sys.argv[1]) if l.strip()]
acked_sendmail = [l.strip() for l in open(sys.argv[2]) if l.strip()]
sent = collections.Counter()
sent_ids = set()
for line in open(sys.argv[3]):
    qid, rcpt = line.split()
    sent[(qid, rcpt)] += 1
    sent_ids.add(qid)
# message-id=<fault-sN@client.test> -> the queue IDs cleanup gave it.
ids_of = collections.defaultdict(set)
for line in open(sys.argv[4], errors="replace"):
    m = re.search(r"\]: ([0-9A-F]+): message-id=<fault-s(\d+)@client\.test>", line)
    if m:
        ids_of[m.group(2)].add(m.group(1))
lost = []
dups = 0
for i, qid in acked_smtp:
    n = sent[(qid, "m%s@remote.test" % i)]
    if n == 0:
        lost.append("smtp %s (%s)" % (i, qid))
    dups += max(0, n - 1)
for i in acked_sendmail:
    n = sum(sent[(qid, "s%s@remote.test" % i)] for qid in ids_of[i])
    if n == 0:
        lost.append("sendmail %s (queue IDs %s)" % (i, sorted(ids_of[i])))
    dups += max(0, n - 1)
print("acknowledged: %d via smtpd, %d via sendmail; duplicate deliveries: %d"
      % (len(acked_smtp), len(acked_sendmail), dups))
if lost:
    print("LOST %d: %s" % (len(lost), ", ".join(lost[:20])))
    sys.exit(1)
PY
leftover=$(find "$Q/incoming" "$Q/active" -type f -name 'tmp.*' | wc -l)
# Finished files were recycled (and reused) while the processes died.
pooled=$(find "$Q/recycle" -type f | wc -l)
[ "$pooled" -gt 0 ] || mr_fail "no finished queue file in recycle/"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS ($N submitted; killed cleanup $(grep -c cleanup "$T/kills") and qmgr $(grep -c qmgr "$T/kills") times;" \
    "$leftover unfinished temporary files of killed cleanups left for the stale-file sweep; $pooled files in recycle/)"
