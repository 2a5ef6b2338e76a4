#!/bin/bash
# smtp_relay_instance.sh - one mailroom instance relays to another.
#
# Instance A sends everything to `relayhost = [127.0.0.1]:PORT`, where
# instance B's smtpd listens; B takes b.test as a relay domain and hands it
# to discard. A logs status=sent with B's "queued as" ID, B logs the
# message under that ID. NOTIFY=SUCCESS given to A's sendmail reaches B
# (B offers DSN), whose success notice to the sender shows it; A sends
# none itself, as Postfix's smtp does for a server with DSN.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs smtp smtpd sendmail bounce

SVC_BOUNCE=(
    "bounce    unix  -       -       n       -       0       bounce"
    "defer     unix  -       -       n       -       0       bounce"
    "trace     unix  -       -       n       -       0       bounce")
dl_setup "${SVC_BOUNCE[@]}" "smtp      unix  -       -       n       -       -       smtp"
PB=$(mr_free_port)

# Instance B: the same base configuration in $T/b.
B="$T/b"
mkdir -p "$B/etc"
sed -e "s|^queue_directory = .*|queue_directory = $B/queue|" \
    -e "s|^data_directory = .*|data_directory = $B/data|" \
    -e "s|^maillog_file = .*|maillog_file = $B/maillog|" \
    -e "s|^myhostname = .*|myhostname = b.example.test|" "$CONF/main.cf" >"$B/etc/main.cf"
cp "$CONF/master.cf" "$B/etc/master.cf"
echo "127.0.0.1:$PB inet n - n - - smtpd" >>"$B/etc/master.cf"
{
    echo "relay_domains = b.test"
    echo "transport_maps = texthash:$B/transport"
} >>"$B/etc/main.cf"
printf 'b.test discard:delivered at b\na.test discard:notice at a\n' >"$B/transport"
stop_b() { "$MR" -c "$B/etc" stop >/dev/null 2>&1 || true; pkill -KILL -f -- "-c $B/etc" 2>/dev/null || true; }
trap 'stop_b; dl_cleanup' EXIT

{
    echo "default_transport = smtp"
    echo "relayhost = [127.0.0.1]:$PB"
} >>"$CONF/main.cf"
"$MR" -c "$B/etc" start || mr_fail "start B failed"
"$MR" -c "$CONF" start || mr_fail "start A failed"

b_log() { grep -Eq -- "$1" "$B/maillog"; }
printf 'Subject: a to b\n\nrelayed\n' | dl_send -f alice@a.test -N success bob@b.test || mr_fail "sendmail"
dl_wait_log "smtp\[[0-9]+\]: [0-9A-F]+: to=<bob@b\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PB, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)\$"
BID=$(sed -n 's/.*to=<bob@b\.test>, relay=127.*queued as \([0-9A-F]*\))$/\1/p' "$T/maillog" | head -n 1)
[ -n "$BID" ] || mr_fail "no queue ID in A's log"
mr_wait_for "B delivers $BID" b_log "discard\[[0-9]+\]: $BID: to=<bob@b\.test>, relay=none, .*status=sent \(delivered at b\)"
b_log "smtpd\[[0-9]+\]: $BID: client=localhost\[127\.0\.0\.1\]|smtpd\[[0-9]+\]: $BID: client=unknown\[127\.0\.0\.1\]" ||
    mr_fail "B's smtpd did not log $BID: $(grep smtpd "$B/maillog" | tail -n 5)"
mr_wait_for "B's success notice (NOTIFY=SUCCESS passed on)" \
    b_log "bounce\[[0-9]+\]: $BID: sender delivery status notification: [0-9A-F]+"
mr_wait_for "the notice goes to alice" b_log "to=<alice@a\.test>, relay=none, .*status=sent \(notice at a\)"
# B announced DSN and got NOTIFY, so A sends no notice of its own.
mr_wait_for "A's queue is idle" mr_queue_idle
! grep -q "sender delivery status notification" "$T/maillog" || mr_fail "A sent a success notice as well"
[ "$(grep -c 'to=<alice@a.test>' "$B/maillog")" -eq 1 ] || mr_fail "alice got more than one notice"
echo "smtp_relay_instance: ok"
