# smtp_peers.sh - peer servers for the smtp agent's integration tests
# (smtp_client.sh, smtp_failover.sh). Sourced after mr_instance.sh,
# mr_dns.sh and delivery_common.sh.
#   smtp_peers_setup LINE...  dl_setup with bounce, defer and trace plus the
#                             master.cf lines given; at exit the peers and
#                             dnsmasq are stopped and the instance cleaned up
#   peer_start PROGRAM NAME ARGS...
#                             runs tests/integration/PROGRAM (a Python
#                             server) with --spool $T/NAME --ready FILE ARGS
#                             and waits until it listens
#   peer_track PID            stops PID at exit too (a server started by hand)
#   peer_file NAME REGEX      the peer's message file whose text matches
#   has_peer_file NAME REGEX

PEER_PIDS=""

peer_cleanup() {
    local p
    for p in $PEER_PIDS; do kill "$p" 2>/dev/null || true; done
    mr_dns_stop
    dl_cleanup
}

smtp_peers_setup() {
    dl_setup \
        "bounce    unix  -       -       n       -       0       bounce" \
        "defer     unix  -       -       n       -       0       bounce" \
        "trace     unix  -       -       n       -       0       bounce" \
        "$@"
    trap peer_cleanup EXIT
}

peer_track() { PEER_PIDS="$PEER_PIDS $1"; }

peer_start() {
    local program=$1 name=$2
    shift 2
    mkdir -p "$T/$name"
    /usr/bin/python3 "$HERE/$program" --spool "$T/$name" --ready "$T/$name.ready" "$@" \
        >"$T/$name.log" 2>&1 &
    peer_track $!
    mr_wait_for "peer $name" test -f "$T/$name.ready"
}

peer_file() { grep -l -E -- "$2" "$T/$1"/msg.* 2>/dev/null | head -n 1; }
has_peer_file() { [ -n "$(peer_file "$1" "$2")" ]; }
