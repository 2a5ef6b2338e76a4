#!/bin/bash
# smtp_route.sh - where the smtp agent connects, with a real DNS server
# (dnsmasq, tests/integration/mr_dns.sh) and two mailroom instances on
# different loopback addresses that deliver to each other through MX:
#   A = mail.a.test on 127.0.0.3 (domain a.test)
#   B = mail.yuliang.com on 127.0.0.2 (domains yuliang.com, pref.test)
# Both send MX mail to port $P (smtp_tcp_port), where both listen.
#
# 1. A -> B and B -> A through MX: relay=mail.yuliang.com[127.0.0.2]:P,
#    status=sent, the message in the other's mailbox.
# 2. MX preference: pref.test's best MX (127.0.0.4) is down, the next one
#    (B) gets the mail.
# 3. A peer that is down defers (dsn=4.4.1, "connect to
#    mail.yuliang.com[127.0.0.2]:P: Connection refused", relay=none);
#    `mailroom flush` delivers once it is up.
# 4. A null MX bounces 5.1.0 "Domain nomx.test does not accept mail
#    (nullMX)"; a name that does not exist bounces 5.4.4 "Host or domain
#    name not found. Name service error for name=... type=A: Host not
#    found"; both notices reach the sender.
# 5. MX mail on port 25 for a domain whose best MX is A itself: "mail for
#    loop.test loops back to myself" (5.4.6).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/mr_dns.sh"
mr_enter_netns "$@"
mr_require_programs smtp smtpd sendmail postqueue
mr_need_address 127.0.0.2
mr_need_address 127.0.0.3

mr_setup
rt_cleanup() {
    [ -f "$T/b/etc/main.cf" ] && "$MR" -c "$T/b/etc" stop >/dev/null 2>&1
    pkill -KILL -f -- "-c $T/b/etc" 2>/dev/null
    mr_dns_stop
    mr_cleanup
}
trap rt_cleanup EXIT

P=$(mr_free_port)
mr_dns_start --local=/a.test/ --local=/yuliang.com/ --local=/pref.test/ --local=/nomx.test/ --local=/loop.test/ \
    --mx-host=a.test,mail.a.test,10 --host-record=mail.a.test,127.0.0.3 \
    --mx-host=yuliang.com,mail.yuliang.com,10 --host-record=mail.yuliang.com,127.0.0.2 \
    --mx-host=pref.test,mx1.pref.test,10 --mx-host=pref.test,mx2.pref.test,20 \
    --host-record=mx1.pref.test,127.0.0.4 --host-record=mx2.pref.test,127.0.0.2 \
    --dns-rr=nomx.test,15,000000 --host-record=nomx.test,127.0.0.2 \
    --mx-host=loop.test,mail.a.test,10

if [ "$(id -u)" -eq 0 ]; then VUID=$(id -u nobody); VGID=$(id -g nobody); else VUID=$(id -u); VGID=$(id -g); fi

# rt_instance DIR ADDRESS MYHOSTNAME DOMAINS USERS...: an instance in DIR
# listening on ADDRESS:$P, delivering DOMAINS to Maildirs under DIR/vmail.
rt_instance() {
    local dir=$1 addr=$2 host=$3 domains=$4 u
    shift 4
    mkdir -p "$dir/etc" "$dir/vmail"
    chown "$VUID:$VGID" "$dir/vmail"
    : >"$dir/vmailbox"
    for u in "$@"; do echo "$u ${u#*@}/${u%@*}/" >>"$dir/vmailbox"; done
    {
        echo "queue_directory = $dir/queue"
        echo "data_directory = $dir/data"
        echo "daemon_directory = $MAILROOM_BIN"
        echo "command_directory = $MAILROOM_BIN"
        echo "maillog_file = $dir/maillog"
        echo "service_throttle_time = 1s"
        echo "inet_interfaces = $addr"
        echo "inet_protocols = ipv4"
        echo "smtpd_peername_lookup = no"
        if [ "$(id -u)" -eq 0 ]; then
            echo "mail_owner = nobody"
            echo "setgid_group = nogroup"
        fi
        echo "myhostname = $host"
        echo "mydestination = \$myhostname, localhost"
        echo "dns_servers = 127.0.0.1:$MR_DNS_PORT"
        echo "smtp_tcp_port = $P"
        echo "smtp_connect_timeout = 5s"
        echo "minimal_backoff_time = 1s"
        echo "maximal_backoff_time = 2s"
        echo "queue_run_delay = 1s"
        echo "virtual_mailbox_base = $dir/vmail"
        echo "virtual_mailbox_maps = texthash:$dir/vmailbox"
        echo "virtual_mailbox_domains = $domains"
        echo "virtual_uid_maps = static:$VUID"
        echo "virtual_gid_maps = static:$VGID"
        echo "virtual_minimum_uid = 1"
        echo "transport_maps = texthash:$dir/transport"
    } >"$dir/etc/main.cf"
    : >"$dir/transport"
    {
        echo "$addr:$P inet  n       -       n       -       -       smtpd"
        echo "pickup    unix  n       -       n       60      1       pickup"
        echo "cleanup   unix  n       -       n       -       0       cleanup"
        echo "qmgr      unix  n       -       n       300     1       qmgr"
        echo "bounce    unix  -       -       n       -       0       bounce"
        echo "defer     unix  -       -       n       -       0       bounce"
        echo "trace     unix  -       -       n       -       0       bounce"
        echo "error     unix  -       -       n       -       -       error"
        echo "anvil     unix  -       -       n       -       1       anvil"
        echo "virtual   unix  -       n       n       -       -       virtual"
        echo "smtp      unix  -       -       n       -       -       smtp"
    } >"$dir/etc/master.cf"
}

A="$T/a"
B="$T/b"
rt_instance "$A" 127.0.0.3 mail.a.test a.test alice@a.test
rt_instance "$B" 127.0.0.2 mail.yuliang.com "yuliang.com, pref.test" bob@yuliang.com dave@yuliang.com carol@pref.test
# MX mail for loop.test on the SMTP port, where loops are looked for.
echo "loop.test smtp:loop.test:25" >"$A/transport"
CONF="$A/etc"  # mr_cleanup stops A
"$MR" -c "$A/etc" start || mr_fail "start A failed"
"$MR" -c "$B/etc" start || mr_fail "start B failed"

send_a() { MAIL_CONFIG="$A/etc" "$MAILROOM_BIN/sendmail" "$@"; }
send_b() { MAIL_CONFIG="$B/etc" "$MAILROOM_BIN/sendmail" "$@"; }
wait_log() { mr_wait_for "log line in $1: $2" grep -Eq -- "$2" "$1/maillog"; }
# mailbox DIR USER@DOMAIN REGEX: a message in the user's Maildir matches.
mailbox() { grep -lEq -- "$3" "$1/vmail/${2#*@}/${2%@*}"/new/* 2>/dev/null; }
show_logs() { echo "---- A ----"; tail -n 30 "$A/maillog"; echo "---- B ----"; tail -n 30 "$B/maillog"; }
fail() { show_logs >&2; mr_fail "$@"; }

# 1. A -> B and B -> A through MX.
printf 'Subject: to b\n\nhello b\n' | send_a -f alice@a.test bob@yuliang.com || fail "sendmail A"
wait_log "$A" "smtp\[[0-9]+\]: [0-9A-F]+: to=<bob@yuliang\.com>, relay=mail\.yuliang\.com\[127\.0\.0\.2\]:$P, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)"
mr_wait_for "bob's mailbox" mailbox "$B" bob@yuliang.com '^Subject: to b'
printf 'Subject: to a\n\nhello a\n' | send_b -f bob@yuliang.com alice@a.test || fail "sendmail B"
wait_log "$B" "to=<alice@a\.test>, relay=mail\.a\.test\[127\.0\.0\.3\]:$P, .*dsn=2\.0\.0, status=sent"
mr_wait_for "alice's mailbox" mailbox "$A" alice@a.test '^Subject: to a'
grep -q "query\[MX\] yuliang\.com" "$T/dnsmasq.log" || fail "no MX question reached the DNS server"

# 2. The best MX of pref.test is down: the next one gets the mail.
printf 'Subject: pref\n\npref\n' | send_a -f alice@a.test carol@pref.test || fail "sendmail pref"
wait_log "$A" "to=<carol@pref\.test>, relay=mx2\.pref\.test\[127\.0\.0\.2\]:$P, .*dsn=2\.0\.0, status=sent"
mr_wait_for "carol's mailbox" mailbox "$B" carol@pref.test '^Subject: pref'

# 3. B is down: deferred; up again and flushed: delivered.
"$MR" -c "$B/etc" stop || fail "stop B"
printf 'Subject: later\n\nlater\n' | send_a -f alice@a.test dave@yuliang.com || fail "sendmail later"
wait_log "$A" "to=<dave@yuliang\.com>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.4\.1, status=deferred \(connect to mail\.yuliang\.com\[127\.0\.0\.2\]:$P: Connection refused\)"
"$MR" -c "$B/etc" start || fail "restart B"
"$MR" -c "$A/etc" flush || fail "mailroom flush"
wait_log "$A" "to=<dave@yuliang\.com>, relay=mail\.yuliang\.com\[127\.0\.0\.2\]:$P, .*status=sent"
mr_wait_for "dave's mailbox" mailbox "$B" dave@yuliang.com '^Subject: later'

# 4. Null MX and a name that does not exist bounce, and the sender hears.
printf 'Subject: nullmx\n\nx\n' | send_a -f alice@a.test someone@nomx.test || fail "sendmail nullmx"
wait_log "$A" "to=<someone@nomx\.test>, relay=none, .*dsn=5\.1\.0, status=bounced \(Domain nomx\.test does not accept mail \(nullMX\)\)"
printf 'Subject: nxdomain\n\nx\n' | send_a -f alice@a.test someone@nowhere.yuliang.com || fail "sendmail nx"
wait_log "$A" "to=<someone@nowhere\.yuliang\.com>, relay=none, .*dsn=5\.4\.4, status=bounced \(Host or domain name not found\. Name service error for name=nowhere\.yuliang\.com type=A: Host not found\)"
mr_wait_for "null MX notice" mailbox "$A" alice@a.test 'Domain nomx\.test does not accept mail'
mr_wait_for "NXDOMAIN notice" mailbox "$A" alice@a.test 'Host or domain name not found'

# 5. Mail for loop.test on port 25 loops back to A.
printf 'Subject: loop\n\nx\n' | send_a -f alice@a.test someone@loop.test || fail "sendmail loop"
wait_log "$A" "to=<someone@loop\.test>, relay=none, .*dsn=5\.4\.6, status=bounced \(mail for loop\.test loops back to myself\)"
echo "smtp_route: ok"
