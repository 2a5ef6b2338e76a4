# mr_dns.sh - a real DNS server for integration tests: Debian's dnsmasq
# (package dnsmasq-base, no system service), started by the test on
# 127.0.0.1 at a free port, answering only from what the test gives it.
#
# Sourced after mr_instance.sh.
#   mr_dns_start ZONE... OPTION...
#       starts dnsmasq with the dnsmasq options given, e.g.
#         --local=/yuliang.com/                      names under it: NXDOMAIN unless listed
#         --mx-host=yuliang.com,mail.yuliang.com,10  an MX record
#         --host-record=mail.yuliang.com,127.0.0.2   A (and PTR) records
#         --dns-rr=nomx.test,15,000000               raw records: here a null MX (RFC 7505)
#       and waits until it answers. Sets MR_DNS_PORT; "dns_servers =
#       127.0.0.1:$MR_DNS_PORT" points an instance at it. Every question
#       is logged to $T/dnsmasq.log. The server is killed on exit by
#       mr_dns_stop (call it from the test's EXIT trap).
#   mr_dns_stop

MR_DNS_PID=""

mr_dns_start() {
    mr_require_commands dnsmasq
    MR_DNS_PORT=$(mr_free_port)
    # No /etc/hosts, no /etc/resolv.conf, no upstream: nothing but the
    # test's records. --user keeps the caller's identity (as root dnsmasq
    # would switch to nobody and lose its log file).
    dnsmasq --keep-in-foreground --conf-file=/dev/null --no-hosts --no-resolv --no-poll \
        --listen-address=127.0.0.1 --bind-interfaces --port="$MR_DNS_PORT" \
        --user="$(id -un)" --group="$(id -gn)" --pid-file= \
        --log-queries --log-facility="$T/dnsmasq.log" "$@" \
        >"$T/dnsmasq.out" 2>&1 &
    MR_DNS_PID=$!
    mr_wait_for "dnsmasq" grep -q "started, version" "$T/dnsmasq.log"
    kill -0 "$MR_DNS_PID" 2>/dev/null || mr_fail "dnsmasq did not start: $(cat "$T/dnsmasq.out")"
}

mr_dns_stop() {
    if [ -n "$MR_DNS_PID" ]; then
        kill "$MR_DNS_PID" 2>/dev/null || true
        wait "$MR_DNS_PID" 2>/dev/null || true
        MR_DNS_PID=""
    fi
}
