#!/bin/bash
# qmgr_limits.sh - per-transport recipient and concurrency limits, through
# pipe transports whose command records its argv and input.
#
# one:   one_destination_recipient_limit = 1 and concurrency 1 (the seed's
#        maildrop settings): one command per recipient, ${recipient} one
#        argument; several messages to one recipient never overlap.
# two:   two_destination_recipient_limit = 2: 3 recipients -> 2 + 1.
# dflt:  the default (50): one command with every recipient as arguments.
# serial: recipient limit 2, concurrency 1: deliveries to one domain never overlap.
# paced:  paced_destination_rate_delay = 1s: one delivery at a time, the
#         next one starting at least a second after the previous one ended.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
if dl_root; then PUSER=nobody; else PUSER=$(id -un); fi
dl_setup
OUTD="$T/out"
for t in one two dflt serial paced; do
    echo "$t  unix  -       n       n       -       -       pipe user=$PUSER argv=$T/record.sh $t \${recipient}"
done >>"$CONF/master.cf"
mkdir -p "$OUTD"
chmod 1777 "$OUTD"
# Each run writes its argv (one per line) and input; a run that finds
# another run of the same transport (and, for "one", the same recipient)
# still going records an overlap.
cat >"$T/record.sh" <<SH
#!/bin/sh
t=\$1; shift
key=""
case "\$t" in one) key="one-\$1" ;; serial|paced) key=\$t ;; esac
[ "\$t" = paced ] && date +%s.%N >> "$OUTD/paced.start"
if [ -n "\$key" ] && ! mkdir "$OUTD/busy.\$key" 2>/dev/null; then echo "\$key" >> "$OUTD/overlap"; fi
n=\$(mktemp "$OUTD/args.\$t.XXXXXX")
for a in "\$@"; do printf '%s\n' "\$a"; done > "\$n"
cat > "\$n.input"
case "\$t" in one|serial) sleep 1 ;; esac
[ -z "\$key" ] || rmdir "$OUTD/busy.\$key"
[ "\$t" = paced ] && date +%s.%N >> "$OUTD/paced.end"
exit 0
SH
chmod 755 "$T/record.sh"
{
    echo "one_destination_recipient_limit = 1"
    echo "one_destination_concurrency_limit = 1"
    echo "two_destination_recipient_limit = 2"
    echo "serial_destination_recipient_limit = 2"
    echo "serial_destination_concurrency_limit = 1"
    echo "paced_destination_rate_delay = 1s"
    echo "transport_maps = texthash:$T/transport"
} >>"$CONF/main.cf"
printf 'one.test one:\ntwo.test two:\ndflt.test dflt:\nserial.test serial:\npaced.test paced:\n' >"$T/transport"
# No "unused parameter" warning for the per-transport names of master.cf services.
W=$(MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postconf" -n 2>&1 >/dev/null)
echo "$W" | grep -q "unused parameter" && mr_fail "postconf warns: $W"
"$MR" -c "$CONF" start || mr_fail "start failed"

for t in one two dflt; do
    printf 'Subject: %s\n\nbody %s\n' "$t" "$t" | dl_send -f s@example.test a@$t.test b@$t.test c@$t.test ||
        mr_fail "sendmail $t"
done
# runs_are T N: transport T's command ran N times; log_count_is REGEX N.
runs_are() { [ "$(ls "$OUTD" | grep -c "^args\.$1\.[^.]*\$")" -eq "$2" ]; }
log_count_is() { [ "$(grep -c -- "$1" "$T/maillog")" -eq "$2" ]; }
mr_wait_for "one: 3 runs" runs_are one 3
mr_wait_for "two: 2 runs" runs_are two 2
mr_wait_for "dflt: 1 run" runs_are dflt 1
dl_wait_log "to=<c@dflt\.test>, relay=dflt, .*status=sent"
# one: each run has exactly one recipient argument.
got=$(for f in "$OUTD"/args.one.*; do case $f in *.input) ;; *) tr '\n' ' ' <"$f"; echo ;; esac; done | sort)
[ "$got" = "$(printf 'a@one.test \nb@one.test \nc@one.test ')" ] || mr_fail "one: runs $got"
# two: two recipients in one run, the third alone.
got=$(for f in "$OUTD"/args.two.*; do case $f in *.input) ;; *) tr '\n' ' ' <"$f"; echo ;; esac; done | sort)
[ "$got" = "$(printf 'a@two.test b@two.test \nc@two.test ')" ] || mr_fail "two: runs $got"
# dflt: ${recipient} expands to every recipient, one argument each.
got=$(for f in "$OUTD"/args.dflt.*; do case $f in *.input) ;; *) tr '\n' ' ' <"$f"; echo ;; esac; done)
[ "$got" = "a@dflt.test b@dflt.test c@dflt.test " ] || mr_fail "dflt: run $got"
for f in "$OUTD"/args.*.input; do grep -q '^body ' "$f" || mr_fail "no message on the command's input: $f"; done

# Concurrency 1: several messages for one recipient of "one", and for one
# domain of "serial", arrive while the first delivery is still running.
for i in 1 2 3; do
    printf 'Subject: c%s\n\nbody c\n' "$i" | dl_send -f s@example.test same@one.test || mr_fail "sendmail one $i"
    printf 'Subject: s%s\n\nbody s\n' "$i" | dl_send -f s@example.test x@serial.test || mr_fail "sendmail serial $i"
done
mr_wait_for "3 deliveries to same@one.test" log_count_is 'to=<same@one\.test>, relay=one, .*status=sent' 3
mr_wait_for "3 deliveries to x@serial.test" log_count_is 'to=<x@serial\.test>, relay=serial, .*status=sent' 3
[ ! -e "$OUTD/overlap" ] || mr_fail "concurrency limit 1 not honoured: $(cat "$OUTD/overlap")"

# Rate delay: two messages for paced.test, the second run starts at least
# the delay after the first one ended.
for i in 1 2; do
    printf 'Subject: p%s\n\nbody p\n' "$i" | dl_send -f s@example.test x@paced.test || mr_fail "sendmail paced $i"
done
mr_wait_for "2 deliveries to x@paced.test" log_count_is 'to=<x@paced\.test>, relay=paced, .*status=sent' 2
[ ! -e "$OUTD/overlap" ] || mr_fail "rate delay: deliveries overlap: $(cat "$OUTD/overlap")"
python3 - "$OUTD/paced.start" "$OUTD/paced.end" <<'PY' || mr_fail "rate delay not honoured: $(cat "$OUTD"/paced.*)"
import sys
starts = sorted(float(x) for x in open(sys.argv[1]))
ends = sorted(float(x) for x in open(sys.argv[2]))
assert len(starts) == 2 and len(ends) == 2, (starts, ends)
assert starts[1] - ends[0] >= 0.9, (starts, ends)
PY
echo "qmgr_limits: ok"
