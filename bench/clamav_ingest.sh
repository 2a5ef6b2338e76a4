#!/bin/bash
# clamav_ingest.sh - smtpd's ingest rate with the built-in ClamAV scan off
# and on.
#
# One mailroom instance (all mail to the discard agent) has two smtpd
# services: one plain, one with smtpd_clamav_socket pointing at a clamd
# started here in a temp dir (its own clamd.conf and a one-signature
# database written here; nothing downloaded). smtp-source sends
# BENCH_MESSAGES messages (default 500) of BENCH_SIZE bytes (default
# 20000) over BENCH_SESSIONS sessions (default 10) to each; the figure is
# messages per second from smtp-source's start to its end (every 250 is
# sent only after clamd's verdict). The runs alternate (BENCH_RUNS,
# default 3) and the median of each is printed, with the ratio on / off.
# Figures only, no assertions.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${MAILROOM_BUILD:-$top/build}
BIN="$BUILD_DIR/bin"
N=${BENCH_MESSAGES:-500}
SIZE=${BENCH_SIZE:-20000}
SESSIONS=${BENCH_SESSIONS:-10}
RUNS=${BENCH_RUNS:-3}

for p in mailroom master smtpd cleanup qmgr discard; do
    [ -x "$BIN/$p" ] || { echo "clamav_ingest: $BIN/$p is not built (make build)" >&2; exit 1; }
done
CLAMD=$(command -v clamd || echo /usr/sbin/clamd)
if [ ! -x "$CLAMD" ] || ! command -v smtp-source >/dev/null 2>&1; then
    echo "clamav_ingest: skipped: needs clamd (clamav-daemon) and smtp-source (postfix)"
    exit 0
fi

T=$(mktemp -d /tmp/mr-clamav-bench-XXXXXX)
chmod 755 "$T"
CLAMD_PID=""
cleanup() {
    "$BIN/mailroom" -c "$T/etc" stop >/dev/null 2>&1
    [ -n "$CLAMD_PID" ] && kill "$CLAMD_PID" 2>/dev/null
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_OFF=$(free_port)
P_ON=$(free_port)
while [ "$P_ON" = "$P_OFF" ]; do P_ON=$(free_port); done

mkdir -p "$T/clamd/db" "$T/etc"
printf 'Mailroom.Bench.Pattern:0:*:%s\n' "$(printf 'MAILROOM-BENCH-PATTERN' | od -An -tx1 | tr -d ' \n')" \
    >"$T/clamd/db/bench.ndb"
cat >"$T/clamd/clamd.conf" <<EOF
LocalSocket $T/clamd/clamd.ctl
LocalSocketMode 666
DatabaseDirectory $T/clamd/db
TemporaryDirectory $T/clamd
LogFile $T/clamd/clamd.log
Foreground yes
MaxThreads 12
EOF
"$CLAMD" -c "$T/clamd/clamd.conf" >/dev/null 2>&1 &
CLAMD_PID=$!
for _ in $(seq 1 300); do [ -S "$T/clamd/clamd.ctl" ] && break; sleep 0.1; done
[ -S "$T/clamd/clamd.ctl" ] || { echo "clamav_ingest: clamd did not start" >&2; exit 1; }

{
    echo "queue_directory = $T/queue"
    echo "data_directory = $T/data"
    echo "daemon_directory = $BIN"
    echo "command_directory = $BIN"
    echo "maillog_file = $T/maillog"
    echo "inet_protocols = ipv4"
    echo "inet_interfaces = loopback-only"
    echo "smtpd_peername_lookup = no"
    echo "myhostname = mx.bench.test"
    echo "mydomain = bench.test"
    echo "default_transport = discard"
    echo "local_transport = discard"
    echo "local_recipient_maps ="
    echo "mynetworks = 127.0.0.0/8"
    if [ "$(id -u)" -eq 0 ]; then
        echo "mail_owner = nobody"
        echo "setgid_group = nogroup"
    fi
} >"$T/etc/main.cf"
{
    echo "cleanup   unix  n       -       n       -       0       cleanup"
    echo "qmgr      unix  n       -       n       300     1       qmgr"
    echo "discard   unix  -       -       n       -       -       discard"
    echo "anvil     unix  -       -       n       -       1       anvil"
    echo "127.0.0.1:$P_OFF inet n - n - - smtpd"
    echo "127.0.0.1:$P_ON inet n - n - - smtpd -o smtpd_clamav_socket=unix:$T/clamd/clamd.ctl"
} >"$T/etc/master.cf"
"$BIN/mailroom" -c "$T/etc" start || { echo "clamav_ingest: mailroom did not start" >&2; exit 1; }

# run PORT: prints messages per second.
run() {
    local t0 t1
    t0=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -f sender@bench.test -t rcpt@remote.bench.test \
        "127.0.0.1:$1" >/dev/null 2>&1
    t1=$(date +%s.%N)
    python3 -c "import sys; print('%.1f' % ($N / (float(sys.argv[2]) - float(sys.argv[1]))))" "$t0" "$t1"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

OFF=()
ON=()
for _ in $(seq 1 "$RUNS"); do
    OFF+=("$(run "$P_OFF")")
    ON+=("$(run "$P_ON")")
done
M_OFF=$(printf '%s\n' "${OFF[@]}" | median)
M_ON=$(printf '%s\n' "${ON[@]}" | median)
SCANS=$(grep -c ': clamav: clean' "$T/maillog")
echo "clamav_ingest: $N messages of $SIZE bytes, $SESSIONS sessions, median of $RUNS runs"
echo "  scan off: $M_OFF msg/s   (runs: ${OFF[*]})"
echo "  scan on:  $M_ON msg/s   (runs: ${ON[*]}; $SCANS scans logged clean)"
python3 -c "import sys; print('  on / off: %.2f' % (float(sys.argv[2]) / float(sys.argv[1])))" "$M_OFF" "$M_ON"
