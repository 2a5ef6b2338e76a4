#!/bin/bash
# agents_maildir.sh - end to end to a virtual Maildir with Postfix's
# smtp-source (a new connection per message): messages/s, the processes of
# smtpd, cleanup and virtual that logged (started) and the most alive at
# once, the agent's mean part of delays=, server CPU per message, peak PSS.
# BENCH_MESSAGES (default 1000) and BENCH_SESSIONS (default 20). Prints
# figures only; docs/performance.md ("Delivery agents and processes") says
# how to read them.
set -u
export MAILROOM_BIN="${MAILROOM_BUILD:?}/bin"
source "${MAILROOM_SRC:?}/tests/integration/mr_instance.sh"
command -v smtp-source >/dev/null 2>&1 || { echo "smtp-source is not installed (bench/install-postfix)"; exit 0; }
N=${BENCH_MESSAGES:-1000}
S=${BENCH_SESSIONS:-20}
MR_WAIT=600
mr_setup
P=$(mr_free_port)
if [ "$(id -u)" -eq 0 ]; then VUID=$(id -u nobody); VGID=$(id -g nobody); else VUID=$(id -u); VGID=$(id -g); fi
VBASE="$T/vmail"; mkdir -p "$VBASE"; chown "$VUID:$VGID" "$VBASE"
echo "bench@v.test v.test/bench/Maildir/" >"$T/vmailbox"
{
    echo "myhostname = mx.example.test"
    echo "mydestination ="
    echo "local_recipient_maps ="
    echo "virtual_mailbox_domains = v.test"
    echo "virtual_mailbox_base = $VBASE"
    echo "virtual_mailbox_maps = texthash:$T/vmailbox"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    echo "smtpd_peername_lookup = yes"
} >>"$CONF/main.cf"
cat >"$CONF/master.cf" <<CF
127.0.0.1:$P inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
anvil     unix  -       -       n       -       1       anvil
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
virtual   unix  -       n       n       -       -       virtual
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
CF
"$MR" -c "$CONF" start >/dev/null || mr_fail "start"
mr_wait_for "master up" test -s "$Q/pid/master.pid"
cpu() {  # utime+stime+cutime+cstime (ticks) of every live instance process
    local t=0 pid v
    for pid in $(mr_instance_pids); do
        v=$(awk '{print $14+$15+$16+$17}' "/proc/$pid/stat" 2>/dev/null) && t=$((t + v))
    done
    echo $t
}
pss() {
    local t=0 pid v
    for pid in $(mr_instance_pids); do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) && t=$((t + ${v:-0}))
    done
    echo $t
}
c0=$(cpu)
t0=$(date +%s.%N)
( peak=0; m_smtpd=0; m_cleanup=0; m_virtual=0; while [ ! -e "$T/done" ]; do p=$(pss); [ "$p" -gt "$peak" ] && peak=$p && echo $peak >"$T/peak";
  s=$(for pid in $(mr_instance_pids); do cat /proc/$pid/comm 2>/dev/null; done | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}');
  for k in smtpd cleanup virtual; do v=$(echo "$s" | tr ' ' '\n' | sed -n "s/^$k=//p"); v=${v:-0}; eval "cur=\$m_$k"; [ "$v" -gt "${cur:-0}" ] && eval "m_$k=$v"; done
  echo "at once (max): smtpd=${m_smtpd:-0} cleanup=${m_cleanup:-0} virtual=${m_virtual:-0}" >"$T/atonce"; sleep 0.2; done ) &
sampler=$!
smtp-source -s "$S" -m "$N" -l 1024 -f sender@example.test -t bench@v.test "127.0.0.1:$P" >/dev/null || mr_fail smtp-source
t1=$(date +%s.%N)
mr_wait_for "all delivered" sh -c "[ \$(grep -c 'status=sent (delivered to maildir)' '$T/maillog') -ge $N ]"
t2=$(date +%s.%N)
c1=$(cpu)
touch "$T/done"; wait $sampler
hz=$(getconf CLK_TCK)
count() { sed -n "s/.*mailroom\/$1\[\([0-9]*\)\].*/\1/p" "$T/maillog" | sort -u | wc -l; }
echo "messages=$N sessions=$S"
echo "accept_rate=$(echo "$N / ($t1 - $t0)" | bc -l | cut -c1-6) msgs/s"
echo "end_to_end_rate=$(echo "$N / ($t2 - $t0)" | bc -l | cut -c1-6) msgs/s"
echo "processes: smtpd=$(count smtpd) cleanup=$(count cleanup) qmgr=$(count qmgr) virtual=$(count virtual)"
grep 'relay=virtual' "$T/maillog" | sed -n 's/.* delay=\([0-9.]*\), delays=[0-9.]*\/[0-9.]*\/[0-9.]*\/\([0-9.]*\),.*/\1 \2/p' |
    awk '{d+=$1; x+=$2; n++} END {printf "mean delay=%.3f s, mean delivery (delays d)=%.1f ms over %d\n", d/n, 1000*x/n, n}'
echo "server_cpu_ms_per_msg=$(echo "($c1 - $c0) * 1000 / $hz / $N" | bc -l | cut -c1-5)"
cat "$T/atonce"
echo "peak_pss_mb=$(echo "$(cat "$T/peak" 2>/dev/null || echo 0) / 1024" | bc -l | cut -c1-5)"
"$MR" -c "$CONF" stop >/dev/null
