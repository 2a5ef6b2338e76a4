#!/bin/bash
# sendmail_discard.sh - messages per second through sendmail -> postdrop ->
# pickup -> cleanup -> qmgr -> discard, and the fsyncs each message costs.
#
# Starts a private instance in a temp dir (the integration tests' helpers),
# submits BENCH_MESSAGES messages (default 500) with sendmail one after the
# other, and waits until qmgr has removed them all. With strace installed,
# a second run counts fsync/fdatasync calls across every mailroom process.
# Prints figures only.
set -u
export MAILROOM_BIN="${MAILROOM_BUILD:?}/bin"
source "${MAILROOM_SRC:?}/tests/integration/mr_instance.sh"
source "$MAILROOM_SRC/tests/integration/queue_common.sh"
N=${BENCH_MESSAGES:-500}
MR_WAIT=300

run_batch() {
    local n=$1
    local before
    before=$(mr_log_count ': removed')
    local t0 t1
    t0=$(date +%s.%N)
    for i in $(seq 1 "$n"); do
        printf 'Subject: bench %d\n\nmessage body line\n' "$i" | qs_send -f bench "rcpt$i@remote.test" ||
            mr_fail "sendmail failed"
    done
    t1=$(date +%s.%N)
    mr_wait_for "all removed" sh -c "[ \$(grep -c ': removed' '$T/maillog') -ge $((before + n)) ]"
    local t2
    t2=$(date +%s.%N)
    python3 -c "import sys; a,b,c,n=map(float,sys.argv[1:]); print(f'  {int(n)} messages: submitted in {b-a:.2f}s, delivered after {c-a:.2f}s: {n/(c-a):.0f} messages/second end to end')" "$t0" "$t1" "$t2" "$n"
}

qs_setup
"$MR" -c "$CONF" start >/dev/null || mr_fail "start failed"
run_batch "$N"

if command -v strace >/dev/null 2>&1; then
    master=$(cat "$Q/pid/master.pid" 2>/dev/null | tr -d ' ')
    if [ -n "$master" ]; then
        out="$T/strace.out"
        # Every process of the instance (daemons that already run, such as
        # cleanup and qmgr, are not master's future children) and, with -f,
        # the ones master starts from now on.
        attach=""
        for pid in $(mr_instance_pids); do attach="$attach -p $pid"; done
        # shellcheck disable=SC2086
        strace -f -qq -e trace=fsync,fdatasync -o "$out" $attach &
        tracer=$!
        sleep 1
        m=100
        # sendmail/postdrop run outside master's tree: trace them too.
        before=$(mr_log_count ': removed')
        for i in $(seq 1 $m); do
            printf 'Subject: bench\n\nbody\n' | strace -f -qq -e trace=fsync,fdatasync -o "$T/submit.$i" \
                env MAIL_CONFIG="$CONF" "$MAILROOM_BIN/sendmail" -f bench "r$i@remote.test"
        done
        mr_wait_for "traced batch removed" sh -c "[ \$(grep -c ': removed' '$T/maillog') -ge $((before + m)) ]"
        sleep 1
        kill "$tracer" 2>/dev/null
        wait "$tracer" 2>/dev/null
        # grep -c prints 0 (and fails) when nothing matched.
        daemons=$(grep -c 'fsync\|fdatasync' "$out" 2>/dev/null)
        submit=$(cat "$T"/submit.* | grep -c 'fsync\|fdatasync')
        python3 -c "import sys; d,s,m=map(int,sys.argv[1:]); print(f'  fsyncs per message: {(d+s)/m:.1f} ({s/m:.1f} in sendmail/postdrop, {d/m:.1f} in the daemons)')" "${daemons:-0}" "${submit:-0}" "$m"
    fi
else
    echo "  (install strace to count fsyncs per message)"
fi
"$MR" -c "$CONF" stop >/dev/null
