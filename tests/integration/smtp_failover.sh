#!/bin/bash
# smtp_failover.sh - the smtp agent moves on to the next MX host when a
# server defers, keeps within smtp_mx_session_limit, retries a cached
# session that the server closed on a new connection, and sends the
# content as Postfix does (line length limit, BODY=8BITMIME), against
# scripted servers (smtp_script_peer.py) and a real DNS server (dnsmasq).
#
# Every domain X.test has MX 10 mx1.X.test (127.0.0.2) and MX 20
# mx2.X.test (127.0.0.3), both at one port; limit.test has a third, MX 30
# mx3.limit.test (127.0.0.4).
# 1. 451 to MAIL FROM at mx1: the message goes to mx2; mx1's reply is
#    logged on its own line.
# 2. 450 to one RCPT TO at mx1: the other recipient is sent there, the
#    deferred one goes to mx2 alone.
# 3. mx1 drops the connection after MAIL FROM: mx2 takes the message.
# 4. mx1 greets with 554 (smtp_skip_5xx_greeting = yes): mx2 takes it.
# 5. smtp_mx_session_limit = 2 (the default): with mx1 and mx2 answering
#    451, mx3 is never tried and the mail is deferred with mx2's reply; a
#    service with the limit at 3 reaches mx3.
# 6. A cached session: the second message over it logs conn_use=2; a
#    server that closes the cached session when the next MAIL FROM comes
#    gets the message over a new connection (sent, not deferred).
# 7. A 1500-byte line reaches the peer broken after 998 bytes with
#    CRLF SPACE; the rest intact.
# 8. A message with Content-Transfer-Encoding: 8bit: BODY=8BITMIME to a
#    peer that announces 8BITMIME; to one that does not, no BODY= and the
#    8-bit bytes as they are.
# 9. smtp_sasl_auth_soft_bounce = no: a 535 to AUTH bounces (5.7.8).
# 10. A smtp_tls_policy_maps entry "dane" defers with the clear text.
# 11. smtp_connection_cache_on_demand (a service with one process, one
#     recipient per request): a message alone gets QUIT after it; three
#     requests for one nexthop queued together travel over one connection
#     (conn_use=2, conn_use=3), and the last one ends it with QUIT.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/mr_dns.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/smtp_peers.sh"
MR_WAIT=120
mr_enter_netns "$@"
mr_require_programs smtp sendmail
mr_require_commands dnsmasq
/usr/bin/python3 -c 'import asyncio' 2>/dev/null || mr_fail "/usr/bin/python3 is missing"

smtp_peers_setup \
    "smtp      unix  -       -       n       -       -       smtp" \
    "smtpl3    unix  -       -       n       -       -       smtp -o smtp_mx_session_limit=3" \
    "smtpc     unix  -       -       n       -       1       smtp -o max_use=100000" \
    "smtpnb    unix  -       -       n       -       -       smtp -o smtp_sasl_auth_soft_bounce=no" \
    "smtpo     unix  -       -       n       -       1       smtp -o max_use=100000 -o smtp_connection_cache_on_demand=yes"

# start_peer NAME ADDR:PORT ARGS...: a scripted server spooling to $T/NAME.
start_peer() {
    local name=$1 listen=$2
    shift 2
    peer_start smtp_script_peer.py "$name" --listen "$listen" "$@"
}

DNS_ARGS=()
# domain NAME: MX records for NAME.test on 127.0.0.2, .3 (and .4).
domain() {
    DNS_ARGS+=(--local="/$1.test/" --mx-host="$1.test,mx1.$1.test,10" --mx-host="$1.test,mx2.$1.test,20"
        --host-record="mx1.$1.test,127.0.0.2" --host-record="mx2.$1.test,127.0.0.3")
}
for d in mailfail rcptfail dropmail greet limit cache closing long eight nbit ondemand; do domain "$d"; done
DNS_ARGS+=(--mx-host="limit.test,mx3.limit.test,30" --host-record="mx3.limit.test,127.0.0.4")

# Each scenario has its own port; mx1 (127.0.0.2) misbehaves, mx2
# (127.0.0.3) is well-behaved unless said otherwise.
P_MAIL=$(mr_free_port)
start_peer mail1 "127.0.0.2:$P_MAIL" --mail-reply "451 4.3.0 Try again later"
start_peer mail2 "127.0.0.3:$P_MAIL"
P_RCPT=$(mr_free_port)
start_peer rcpt1 "127.0.0.2:$P_RCPT" --rcpt-defer later
start_peer rcpt2 "127.0.0.3:$P_RCPT"
P_DROP=$(mr_free_port)
start_peer drop1 "127.0.0.2:$P_DROP" --drop-after-mail
start_peer drop2 "127.0.0.3:$P_DROP"
P_GREET=$(mr_free_port)
start_peer greet1 "127.0.0.2:$P_GREET" --greeting "554 5.7.1 No service here"
start_peer greet2 "127.0.0.3:$P_GREET"
P_LIMIT=$(mr_free_port)
start_peer limit1 "127.0.0.2:$P_LIMIT" --mail-reply "451 4.3.0 Busy one"
start_peer limit2 "127.0.0.3:$P_LIMIT" --mail-reply "451 4.3.0 Busy two"
start_peer limit3 "127.0.0.4:$P_LIMIT"
P_CACHE=$(mr_free_port)
start_peer cache1 "127.0.0.2:$P_CACHE"
P_CLOSE=$(mr_free_port)
start_peer close1 "127.0.0.2:$P_CLOSE" --close-second-mail
P_LONG=$(mr_free_port)
start_peer long1 "127.0.0.2:$P_LONG"
P_EIGHT=$(mr_free_port)
start_peer eight1 "127.0.0.2:$P_EIGHT"
P_NBIT=$(mr_free_port)
start_peer nbit1 "127.0.0.2:$P_NBIT" --no-8bitmime
P_AUTH=$(mr_free_port)
start_peer auth1 "127.0.0.2:$P_AUTH" --auth-reply "535 5.7.8 Authentication credentials invalid"
P_DANE=$(mr_free_port)
start_peer dane1 "127.0.0.2:$P_DANE"
P_OD=$(mr_free_port)
start_peer ondemand1 "127.0.0.2:$P_OD"
mr_dns_start "${DNS_ARGS[@]}"
{
    echo "transport_maps = texthash:$T/transport"
    echo "dns_servers = 127.0.0.1:$MR_DNS_PORT"
    echo "smtp_helo_name = client.example.test"
    echo "smtp_connect_timeout = 5s"
    echo "smtp_connection_cache_on_demand = no"
    echo "smtp_connection_cache_destinations = cache.test:$P_CACHE, closing.test:$P_CLOSE"
    echo "smtp_connection_cache_time_limit = 30s"
    echo "smtp_sasl_auth_enable = yes"
    echo "smtp_sasl_password_maps = texthash:$T/sasl_passwd"
    echo "smtp_sasl_security_options = noanonymous"
    echo "smtp_tls_policy_maps = texthash:$T/tls_policy"
    echo "smtpo_destination_recipient_limit = 1"
} >>"$CONF/main.cf"
echo "[127.0.0.2]:$P_AUTH relayuser:wrong" >"$T/sasl_passwd"
echo "[127.0.0.2]:$P_DANE dane" >"$T/tls_policy"
{
    echo "mailfail.test smtp:mailfail.test:$P_MAIL"
    echo "rcptfail.test smtp:rcptfail.test:$P_RCPT"
    echo "dropmail.test smtp:dropmail.test:$P_DROP"
    echo "greet.test smtp:greet.test:$P_GREET"
    echo "limit.test smtp:limit.test:$P_LIMIT"
    echo "limit3.test smtpl3:limit.test:$P_LIMIT"
    echo "cache.test smtpc:cache.test:$P_CACHE"
    echo "closing.test smtpc:closing.test:$P_CLOSE"
    echo "long.test smtp:long.test:$P_LONG"
    echo "eight.test smtp:eight.test:$P_EIGHT"
    echo "nbit.test smtp:nbit.test:$P_NBIT"
    echo "auth.test smtpnb:[127.0.0.2]:$P_AUTH"
    echo "dane.test smtp:[127.0.0.2]:$P_DANE"
    echo "ondemand.test smtpo:ondemand.test:$P_OD"
} >"$T/transport"
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. 451 to MAIL FROM at mx1.
printf 'Subject: one\n\nmail fail\n' | dl_send -f alice@sender.test a@mailfail.test || mr_fail "sendmail 1"
dl_wait_log "smtp\[[0-9]+\]: [0-9A-F]+: to=<a@mailfail\.test>, relay=mx2\.mailfail\.test\[127\.0\.0\.3\]:$P_MAIL, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SCRIPT"
dl_wait_log "smtp\[[0-9]+\]: [0-9A-F]+: host mx1\.mailfail\.test\[127\.0\.0\.2\] said: 451 4\.3\.0 Try again later \(in reply to MAIL FROM command\)\$"

# 2. 450 to one RCPT at mx1: that recipient alone goes to mx2.
printf 'Subject: two\n\nrcpt fail\n' | dl_send -f alice@sender.test now@rcptfail.test later@rcptfail.test ||
    mr_fail "sendmail 2"
dl_wait_log "to=<now@rcptfail\.test>, relay=mx1\.rcptfail\.test\[127\.0\.0\.2\]:$P_RCPT, .*status=sent"
dl_wait_log "to=<later@rcptfail\.test>, relay=mx2\.rcptfail\.test\[127\.0\.0\.3\]:$P_RCPT, .*status=sent"
F=$(peer_file rcpt2 'RCPT TO:<later@rcptfail.test>')
[ "$(grep -c '^RCPT TO:' "$F")" -eq 1 ] || mr_fail "mx2 got more than the deferred recipient: $(head -n 4 "$F")"
F=$(peer_file rcpt1 'RCPT TO:<now@rcptfail.test>')
[ "$(grep -c '^RCPT TO:' "$F")" -eq 1 ] || mr_fail "mx1 got more than the accepted recipient: $(head -n 4 "$F")"

# 3. The connection is lost after MAIL FROM at mx1.
printf 'Subject: three\n\ndrop\n' | dl_send -f alice@sender.test d@dropmail.test || mr_fail "sendmail 3"
dl_wait_log "to=<d@dropmail\.test>, relay=mx2\.dropmail\.test\[127\.0\.0\.3\]:$P_DROP, .*status=sent"
dl_wait_log "[0-9A-F]+: lost connection with mx1\.dropmail\.test\[127\.0\.0\.2\] while sending MAIL FROM\$"

# 4. A 554 greeting at mx1.
printf 'Subject: four\n\ngreet\n' | dl_send -f alice@sender.test g@greet.test || mr_fail "sendmail 4"
dl_wait_log "to=<g@greet\.test>, relay=mx2\.greet\.test\[127\.0\.0\.3\]:$P_GREET, .*status=sent"
dl_wait_log "host mx1\.greet\.test\[127\.0\.0\.2\] refused to talk to me: 554 5\.7\.1 No service here"

# 5. smtp_mx_session_limit.
printf 'Subject: five\n\nlimit\n' | dl_send -f alice@sender.test l@limit.test || mr_fail "sendmail 5"
dl_wait_log "to=<l@limit\.test>, relay=mx2\.limit\.test\[127\.0\.0\.3\]:$P_LIMIT, .*dsn=4\.3\.0, status=deferred \(host mx2\.limit\.test\[127\.0\.0\.3\] said: 451 4\.3\.0 Busy two \(in reply to MAIL FROM command\)\)"
[ -z "$(ls "$T/limit3")" ] || mr_fail "mx3 was tried beyond smtp_mx_session_limit"
printf 'Subject: five b\n\nlimit 3\n' | dl_send -f alice@sender.test l3@limit3.test || mr_fail "sendmail 5b"
dl_wait_log "to=<l3@limit3\.test>, relay=mx3\.limit\.test\[127\.0\.0\.4\]:$P_LIMIT, .*status=sent"

# 6. Connection cache: conn_use=2, and a cached session closed by the server.
printf 'Subject: c1\n\nfirst\n' | dl_send -f alice@sender.test c1@cache.test || mr_fail "sendmail 6"
dl_wait_log "to=<c1@cache\.test>, relay=mx1\.cache\.test\[127\.0\.0\.2\]:$P_CACHE, delay=.*status=sent"
printf 'Subject: c2\n\nsecond\n' | dl_send -f alice@sender.test c2@cache.test || mr_fail "sendmail 6b"
dl_wait_log "to=<c2@cache\.test>, relay=mx1\.cache\.test\[127\.0\.0\.2\]:$P_CACHE, conn_use=2, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent"
printf 'Subject: k1\n\nfirst\n' | dl_send -f alice@sender.test k1@closing.test || mr_fail "sendmail 6c"
dl_wait_log "to=<k1@closing\.test>, relay=mx1\.closing\.test\[127\.0\.0\.2\]:$P_CLOSE, delay=.*status=sent"
printf 'Subject: k2\n\nsecond\n' | dl_send -f alice@sender.test k2@closing.test || mr_fail "sendmail 6d"
dl_wait_log "[0-9A-F]+: cached session with mx1\.closing\.test\[127\.0\.0\.2\]:$P_CLOSE was closed by the server; trying a new connection"
dl_wait_log "to=<k2@closing\.test>, relay=mx1\.closing\.test\[127\.0\.0\.2\]:$P_CLOSE, delay=.*dsn=2\.0\.0, status=sent"
K1=$(grep '^CONN:' "$(peer_file close1 'RCPT TO:<k1@closing.test>')")
K2=$(grep '^CONN:' "$(peer_file close1 'RCPT TO:<k2@closing.test>')")
[ "$K1" != "$K2" ] || mr_fail "the second message did not take a new connection: $K1"
if grep -Eq "to=<k2@closing\.test>.*status=deferred" "$T/maillog"; then
    mr_fail "the closed cached session deferred the message"
fi

# 7. A line over smtp_line_length_limit (998).
LONG=$(head -c 1500 /dev/zero | tr '\0' 'x')
printf 'Subject: long\n\n%s\nshort\n' "$LONG" | dl_send -f alice@sender.test x@long.test || mr_fail "sendmail 7"
dl_wait_log "to=<x@long\.test>, relay=mx1\.long\.test\[127\.0\.0\.2\]:$P_LONG, .*status=sent"
F=$(peer_file long1 'RCPT TO:<x@long.test>')
grep -qx "$(head -c 998 /dev/zero | tr '\0' 'x')"$'\r' "$F" || mr_fail "the first 998 bytes are not a line of their own"
grep -qx " $(head -c 502 /dev/zero | tr '\0' 'x')"$'\r' "$F" || mr_fail "the rest does not follow after CRLF SPACE"
grep -qx $'short\r' "$F" || mr_fail "the line after the long one"

# 8. 8-bit content, with and without 8BITMIME at the peer.
printf 'Subject: eight\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\303\251\n' >"$T/8bit.msg"
dl_send -f alice@sender.test e@eight.test <"$T/8bit.msg" || mr_fail "sendmail 8"
dl_send -f alice@sender.test n@nbit.test <"$T/8bit.msg" || mr_fail "sendmail 8b"
dl_wait_log "to=<e@eight\.test>, relay=mx1\.eight\.test\[127\.0\.0\.2\]:$P_EIGHT, .*status=sent"
dl_wait_log "to=<n@nbit\.test>, relay=mx1\.nbit\.test\[127\.0\.0\.2\]:$P_NBIT, .*status=sent"
F=$(peer_file eight1 'RCPT TO:<e@eight.test>')
grep -q '^MAIL FROM:<alice@sender.test> .*BODY=8BITMIME' "$F" || mr_fail "no BODY=8BITMIME: $(head -n 1 "$F")"
F=$(peer_file nbit1 'RCPT TO:<n@nbit.test>')
if grep -q 'BODY=' "$F"; then mr_fail "BODY= to a server without 8BITMIME: $(head -n 1 "$F")"; fi
grep -q $'^caf\303\251\r$' "$F" || mr_fail "8-bit bytes changed: $(tail -n 2 "$F" | od -c | head)"

# 9. smtp_sasl_auth_soft_bounce = no.
printf 'Subject: auth\n\nauth\n' | dl_send -f alice@sender.test u@auth.test || mr_fail "sendmail 9"
dl_wait_log "to=<u@auth\.test>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:$P_AUTH, .*dsn=5\.7\.8, status=bounced \(SASL authentication failed; server 127\.0\.0\.2\[127\.0\.0\.2\] said: 535 5\.7\.8 Authentication credentials invalid\)"

# 10. DANE in a policy entry.
printf 'Subject: dane\n\ndane\n' | dl_send -f alice@sender.test v@dane.test || mr_fail "sendmail 10"
dl_wait_log "to=<v@dane\.test>, relay=none, .*status=deferred \(.*DANE is not implemented; use encrypt, verify or secure\)"

# 11. On-demand connection caching.
printf 'Subject: alone\n\nalone\n' | dl_send -f alice@sender.test o1@ondemand.test || mr_fail "sendmail 11"
dl_wait_log "to=<o1@ondemand\.test>, relay=mx1\.ondemand\.test\[127\.0\.0\.2\]:$P_OD, delay=.*status=sent"
O1=$(sed -n 's/^CONN: //p' "$(peer_file ondemand1 'RCPT TO:<o1@ondemand.test>')")
mr_wait_for "QUIT after a message alone" test -e "$T/ondemand1/quit.$O1"
printf 'Subject: burst\n\nburst\n' | dl_send -f alice@sender.test b1@ondemand.test b2@ondemand.test b3@ondemand.test ||
    mr_fail "sendmail 11b"
dl_wait_log "to=<b1@ondemand\.test>, relay=mx1\.ondemand\.test\[127\.0\.0\.2\]:$P_OD, delay=.*status=sent"
dl_wait_log "to=<b2@ondemand\.test>, relay=mx1\.ondemand\.test\[127\.0\.0\.2\]:$P_OD, conn_use=2, delay=.*status=sent"
dl_wait_log "to=<b3@ondemand\.test>, relay=mx1\.ondemand\.test\[127\.0\.0\.2\]:$P_OD, conn_use=3, delay=.*status=sent"
B1=$(sed -n 's/^CONN: //p' "$(peer_file ondemand1 'RCPT TO:<b1@ondemand.test>')")
[ "$B1" != "$O1" ] || mr_fail "the message alone left its connection open for the burst"
for b in b2 b3; do
    C=$(sed -n 's/^CONN: //p' "$(peer_file ondemand1 "RCPT TO:<$b@ondemand.test>")")
    [ "$C" = "$B1" ] || mr_fail "$b came over connection $C, not $B1"
done
mr_wait_for "QUIT after the burst" test -e "$T/ondemand1/quit.$B1"
echo "smtp_failover: ok"
