#!/bin/bash
# relay_compare.sh - relay throughput of mailroom's smtp client against
# Debian's Postfix smtp client, side by side, to the same Postfix
# smtp-sink.
#
# In a private network namespace (lo only), one mailroom and one Postfix
# instance each take BENCH_MESSAGES messages (default 1000) from
# smtp-source over BENCH_SESSIONS sessions (default 10) and relay them
# through relayhost = [127.0.0.1]:SINK to one smtp-sink. The figure is
# messages per second from the first byte smtp-source sends until the log
# shows every message "status=sent" to the sink; the runs alternate
# (BENCH_RUNS, default 3) and the median of each is printed, with the
# ratio mailroom / Postfix. Figures only, no assertions.
#
# Needs root (Postfix's master starts only as root). Installs the postfix
# package when it is missing (not started, no system configuration), as
# scripts/install-deps installs packages; never part of `make test`.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${MAILROOM_BUILD:-$top/build}
BIN="$BUILD_DIR/bin"
N=${BENCH_MESSAGES:-1000}
SESSIONS=${BENCH_SESSIONS:-10}
RUNS=${BENCH_RUNS:-3}

if [ "$(id -u)" -ne 0 ]; then
    echo "relay_compare: skipped: needs root (Postfix's master starts only as root)"
    exit 0
fi
for p in mailroom smtpd cleanup qmgr smtp; do
    [ -x "$BIN/$p" ] || { echo "relay_compare: $BIN/$p is not built (make build)" >&2; exit 1; }
done

if [ -z "${RELAY_COMPARE_NETNS:-}" ]; then
    if ! command -v smtp-sink >/dev/null 2>&1 || ! command -v smtp-source >/dev/null 2>&1 ||
        ! dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q "install ok installed"; then
        echo "relay_compare: installing Debian's postfix (not started, no configuration)" >&2
        export DEBIAN_FRONTEND=noninteractive
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        fi
        apt-get update -qq && apt-get install -y -qq --no-install-recommends postfix >/dev/null ||
            { echo "relay_compare: cannot install postfix" >&2; exit 1; }
    fi
    export RELAY_COMPARE_NETNS=1
    exec unshare --net -- sh -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi

T=$(mktemp -d /tmp/mr-relay-XXXXXX)
chmod 755 "$T"
SINK_PID=""
cleanup() {
    "$BIN/mailroom" -c "$T/mr/etc" stop >/dev/null 2>&1
    postfix -c "$T/pf/etc" stop >/dev/null 2>&1
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK=$(free_port)
P_MR=$(free_port)
P_PF=$(free_port)

common_main_cf() {
    cat <<EOF
queue_directory = $1/queue
data_directory = $1/data
maillog_file = $1/maillog
inet_protocols = ipv4
myhostname = relay.bench.test
mydomain = bench.test
mydestination =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK
EOF
}

mkdir -p "$T/mr/etc" "$T/pf/etc" "$T/pf/queue"
{
    common_main_cf "$T/mr"
    echo "daemon_directory = $BIN"
    echo "command_directory = $BIN"
    echo "inet_interfaces = loopback-only"
    echo "mail_owner = nobody"
    echo "setgid_group = nogroup"
} >"$T/mr/etc/main.cf"
cat >"$T/mr/etc/master.cf" <<EOF
127.0.0.1:$P_MR inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
anvil     unix  -       -       n       -       1       anvil
error     unix  -       -       n       -       -       error
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
EOF
{
    common_main_cf "$T/pf"
    echo "compatibility_level = 3.6"
    echo "maillog_file_prefixes = $T"
    echo "inet_interfaces = 127.0.0.1"
    echo "mail_owner = postfix"
    echo "setgid_group = postdrop"
    echo "alias_maps ="
    echo "alias_database ="
    echo "biff = no"
} >"$T/pf/etc/main.cf"
cat >"$T/pf/etc/master.cf" <<EOF
127.0.0.1:$P_PF inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

smtp-sink -u postfix "127.0.0.1:$SINK" 1000 >"$T/sink.log" 2>&1 &
SINK_PID=$!
"$BIN/mailroom" -c "$T/mr/etc" start >/dev/null || { echo "relay_compare: mailroom did not start" >&2; exit 1; }
MAIL_CONFIG="$T/pf/etc" postfix -c "$T/pf/etc" check >/dev/null 2>&1
MAIL_CONFIG="$T/pf/etc" postfix -c "$T/pf/etc" start >/dev/null 2>&1 ||
    { echo "relay_compare: Postfix did not start" >&2; exit 1; }
for p in "$P_MR" "$P_PF" "$SINK"; do
    for _ in $(seq 1 300); do
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$p" \
            2>/dev/null && break
        sleep 0.1
    done
done

sent_count() { grep -c "to=<user@sink\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$SINK, .*status=sent" "$1" 2>/dev/null; }

# run NAME PORT MAILLOG: one batch; prints messages per second.
run() {
    local port=$2 maillog=$3 before target t0 t1 deadline
    before=$(sent_count "$maillog")
    target=$((before + N))
    t0=$(date +%s.%N)
    smtp-source -s "$SESSIONS" -m "$N" -l 1024 -M client.bench.test -f bench@client.bench.test \
        -t user@sink.test "127.0.0.1:$port" >/dev/null 2>&1 || { echo "relay_compare: $1: smtp-source failed" >&2; return 1; }
    deadline=$(( $(date +%s) + 300 + N / 10 ))
    while [ "$(sent_count "$maillog")" -lt "$target" ]; do
        if [ "$(date +%s)" -gt "$deadline" ]; then
            echo "relay_compare: $1: timed out, $(( $(sent_count "$maillog") - before )) of $N sent ($maillog)" >&2
            return 1
        fi
        sleep 0.05
    done
    t1=$(date +%s.%N)
    python3 -c 'import sys; print("%.1f" % (float(sys.argv[3]) / (float(sys.argv[2]) - float(sys.argv[1]))))' \
        "$t0" "$t1" "$N"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "relay_compare: $N messages of 1 KiB over $SESSIONS sessions, relayhost [127.0.0.1]:$SINK (smtp-sink), $RUNS runs each" >&2
MR_RATES=()
PF_RATES=()
for i in $(seq 1 "$RUNS"); do
    r=$(run mailroom "$P_MR" "$T/mr/maillog") || exit 1
    MR_RATES+=("$r")
    r=$(run Postfix "$P_PF" "$T/pf/maillog") || exit 1
    PF_RATES+=("$r")
    echo "  run $i: mailroom ${MR_RATES[-1]} msg/s, Postfix ${PF_RATES[-1]} msg/s" >&2
done
MR=$(median "${MR_RATES[@]}")
PF=$(median "${PF_RATES[@]}")
RATIO=$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$MR" "$PF")
echo "| relay to smtp-sink ($N msgs, $SESSIONS sessions) | mailroom | Postfix $(postconf -d -h mail_version 2>/dev/null) | mailroom / Postfix |"
echo "| --- | --- | --- | --- |"
echo "| messages per second (median of $RUNS) | $MR | $PF | $RATIO |"
