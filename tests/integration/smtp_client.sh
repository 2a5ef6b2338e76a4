#!/bin/bash
# smtp_client.sh - the smtp/lmtp delivery agent against a third-party
# server (Python's aiosmtpd, tests/integration/smtp_peer.py), on loopback.
#
# 1. Relaying through [127.0.0.1]:PORT: status=sent with the peer's reply
#    and relay=127.0.0.1[127.0.0.1]:PORT, the content intact (dot-stuffing
#    undone by the peer, CRLF), SIZE sent, DSN parameters withheld from a
#    server that does not offer DSN.
# 2. Mixed per-recipient results in one transaction: one sent, one 550
#    bounced with "host ... said: ... (in reply to RCPT TO command)"; the
#    bounce reaches the sender with the remote text. Another: one sent,
#    one 450 deferred.
# 3. A peer that is down: deferred 4.4.1 "connect to ...: Connection
#    refused", relay=none, and that text logged on its own line; once it
#    is up `postqueue -f` delivers.
# 4. STARTTLS at encrypt (Untrusted/Trusted log line) and at verify with a
#    test CA made by openssl here (Verified), and verify against a
#    certificate for another name (deferred, not sent).
# 5. LMTP over a UNIX socket: LHLO, one reply per recipient after DATA.
# 6. Connection cache: two messages to the same nexthop in a row travel
#    over one connection (smtp_connection_cache_destinations; the cache
#    is per process, so the service has one process).
# 7. Relaying through a smarthost that demands AUTH: the password from
#    smtp_sasl_password_maps by nexthop, and per sender with
#    smtp_sender_dependent_authentication; a wrong password defers with
#    "SASL authentication failed; server ... said: 535 ...".
# 8. secure matches the nexthop, not the MX name from DNS (dnsmasq,
#    mr_dns.sh): a certificate for the MX host only is refused at secure
#    and accepted at verify; one for a subdomain of the nexthop passes
#    secure.
# 9. At may, a STARTTLS handshake that fails (the client offers only
#    TLS 1.1 and older) is retried on the same server without TLS.
# 10. A server that drops the connection after EHLO: every delivery is
#    deferred, and the agent's open files do not grow with them.
# 11. LMTP to a UNIX socket whose backlog is full: connect() fails
#    ("Resource temporarily unavailable"), and that is the reason.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/mr_dns.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/smtp_peers.sh"
# Waits are generous: the notices below go through the whole queue.
MR_WAIT=120
mr_enter_netns "$@"
mr_require_programs smtp lmtp sendmail postqueue
mr_require_commands openssl dnsmasq
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
    mr_fail "python3-aiosmtpd is not installed (scripts/install-deps installs it)"

smtp_peers_setup \
    "smtp      unix  -       -       n       -       -       smtp" \
    "smtpv     unix  -       -       n       -       -       smtp -o smtp_tls_security_level=verify" \
    "smtpe     unix  -       -       n       -       -       smtp -o smtp_tls_security_level=encrypt" \
    "lmtp      unix  -       -       n       -       -       lmtp" \
    "smtpc     unix  -       -       n       -       1       smtp" \
    "smtps     unix  -       -       n       -       -       smtp -o smtp_tls_security_level=secure" \
    "smtpm     unix  -       -       n       -       -       smtp -o smtp_tls_security_level=may -o smtp_tls_protocols=<=TLSv1.1" \
    "smtpx     unix  -       -       n       -       1       smtp -o max_use=100000"

# start_peer NAME ARGS...: an aiosmtpd server spooling to $T/NAME.
start_peer() { peer_start smtp_peer.py "$@"; }

# A test CA and server certificates: for 127.0.0.1, for another name,
# for an MX host only, and for a subdomain of a nexthop.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Mailroom-Test-CA \
    -keyout "$T/ca.key" -out "$T/ca.pem" >/dev/null 2>&1 || mr_fail "openssl CA"
for c in good:IP:127.0.0.1 wrong:DNS:other.example.test mx:DNS:mx.elsewhere.test sub:DNS:mx.sub.test; do
    n=${c%%:*}
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$n" -keyout "$T/$n.key" -out "$T/$n.csr" >/dev/null 2>&1 ||
        mr_fail "openssl req $n"
    printf 'subjectAltName=%s\n' "${c#*:}" >"$T/$n.ext"
    openssl x509 -req -in "$T/$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/$n.ext" -out "$T/$n.pem" >/dev/null 2>&1 || mr_fail "openssl x509 $n"
done

P_PLAIN=$(mr_free_port)
P_DOWN=$(mr_free_port)
P_TLS=$(mr_free_port)
P_WRONG=$(mr_free_port)
start_peer plain --port "$P_PLAIN"
start_peer tls --port "$P_TLS" --cert "$T/good.pem" --key "$T/good.key" --require-tls
start_peer wrong --port "$P_WRONG" --cert "$T/wrong.pem" --key "$T/wrong.key"
start_peer lmtp --unix "$T/lmtp.sock" --lmtp
P_AUTH=$(mr_free_port)
P_CACHE=$(mr_free_port)
start_peer cache --port "$P_CACHE"
start_peer auth --port "$P_AUTH" --auth relayuser:s3cret
chmod 666 "$T/lmtp.sock"  # the agent runs as mail_owner
P_MX=$(mr_free_port)
P_SUB=$(mr_free_port)
P_DROP=$(mr_free_port)
start_peer mx --port "$P_MX" --cert "$T/mx.pem" --key "$T/mx.key"
start_peer sub --port "$P_SUB" --cert "$T/sub.pem" --key "$T/sub.key"
# A server that greets, reads one command and hangs up.
cat >"$T/drop.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    c.sendall(b"220 drop.test ESMTP\r\n")
    c.recv(1024)
    c.close()
PY
/usr/bin/python3 "$T/drop.py" "$P_DROP" "$T/drop.ready" >"$T/drop.log" 2>&1 &
peer_track $!
mr_wait_for "peer drop" test -f "$T/drop.ready"
# A UNIX socket that never accepts, its backlog filled here.
cat >"$T/full.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(0)
held = []
for _ in range(16):
    c = socket.socket(socket.AF_UNIX)
    c.setblocking(False)
    try:
        c.connect(sys.argv[1])
    except BlockingIOError:
        break
    held.append(c)
else:
    sys.exit("the backlog never filled")
os.chmod(sys.argv[1], 0o666)
open(sys.argv[2], "w").close()
time.sleep(3600)
PY
/usr/bin/python3 "$T/full.py" "$T/full.sock" "$T/full.ready" >"$T/full.log" 2>&1 &
peer_track $!
mr_wait_for "peer full" test -f "$T/full.ready"
mr_dns_start --local=/mxname.test/ --local=/elsewhere.test/ --local=/sub.test/ \
    --mx-host=mxname.test,mx.elsewhere.test,10 --host-record=mx.elsewhere.test,127.0.0.1 \
    --mx-host=sub.test,mx.sub.test,10 --host-record=mx.sub.test,127.0.0.1
{
    echo "transport_maps = texthash:$T/transport"
    echo "smtp_tls_CAfile = $T/ca.pem"
    echo "smtp_tls_loglevel = 1"
    echo "smtp_helo_name = client.example.test"
    echo "smtp_connect_timeout = 5s"
    echo "smtp_connection_cache_on_demand = no"
    echo "smtp_connection_cache_destinations = [127.0.0.1]:$P_CACHE"
    echo "smtp_connection_cache_time_limit = 30s"
    echo "smtp_sasl_auth_enable = yes"
    echo "smtp_sasl_password_maps = texthash:$T/sasl_passwd"
    echo "smtp_sasl_security_options = noanonymous"
    echo "smtp_sender_dependent_authentication = yes"
    echo "dns_servers = 127.0.0.1:$MR_DNS_PORT"
} >>"$CONF/main.cf"
{
    echo "[127.0.0.1]:$P_AUTH relayuser:s3cret"
    echo "mallory@sender.test relayuser:wrong"
} >"$T/sasl_passwd"
{
    echo "plain.test smtp:[127.0.0.1]:$P_PLAIN"
    echo "sender.test smtp:[127.0.0.1]:$P_PLAIN"
    echo "down.test smtp:[127.0.0.1]:$P_DOWN"
    echo "tls.test smtpe:[127.0.0.1]:$P_TLS"
    echo "verify.test smtpv:[127.0.0.1]:$P_TLS"
    echo "wrong.test smtpv:[127.0.0.1]:$P_WRONG"
    echo "lmtp.test lmtp:unix:$T/lmtp.sock"
    echo "smarthost.test smtp:[127.0.0.1]:$P_AUTH"
    echo "cache.test smtpc:[127.0.0.1]:$P_CACHE"
    echo "secure.test smtps:mxname.test:$P_MX"
    echo "mxverify.test smtpv:mxname.test:$P_MX"
    echo "dotsecure.test smtps:sub.test:$P_SUB"
    echo "may.test smtpm:[127.0.0.1]:$P_WRONG"
    echo "drop.test smtpx:[127.0.0.1]:$P_DROP"
    echo "full.test lmtp:unix:$T/full.sock"
} >"$T/transport"
"$MR" -c "$CONF" start || mr_fail "start failed"

# peer_file NAME REGEX: the peer's message file whose envelope matches.

# 1. Plain relaying, content and DSN parameters.
printf 'Subject: plain\n\nline one\n.leading dot\n..two dots\n' |
    dl_send -f alice@sender.test -N success,failure -V env-1 bob@plain.test || mr_fail "sendmail 1"
dl_wait_log "smtp\[[0-9]+\]: [0-9A-F]+: to=<bob@plain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_PLAIN, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as PEER[0-9]+\)\$"
mr_wait_for "message at the peer" has_peer_file plain 'RCPT TO:<bob@plain.test>'
F=$(peer_file plain 'RCPT TO:<bob@plain.test>')
grep -q '^MAIL FROM:<alice@sender.test>$' "$F" || mr_fail "envelope sender: $(head -n 3 "$F")"
# aiosmtpd offers SIZE but not DSN: SIZE= goes, NOTIFY/ENVID do not.
grep -q '^MAIL OPTIONS: SIZE=[0-9]*$' "$F" || mr_fail "MAIL parameters: $(grep OPTIONS "$F")"
grep -q '^RCPT OPTIONS: $' "$F" || mr_fail "RCPT parameters to a server without DSN: $(grep OPTIONS "$F")"
grep -q $'^line one\r$' "$F" || mr_fail "content lines do not end in CRLF"
grep -q $'^\\.leading dot\r$' "$F" || mr_fail "dot-stuffing: $(cat -A "$F" | tail -n 3)"
grep -q $'^\\.\\.two dots\r$' "$F" || mr_fail "dot-stuffing of two dots: $(cat -A "$F" | tail -n 3)"

# 2. Mixed results in one transaction, and the bounce to the sender.
printf 'Subject: mixed\n\nmixed\n' |
    dl_send -f carol@sender.test ok@plain.test reject1@plain.test || mr_fail "sendmail 2"
printf 'Subject: mixed\n\nmixed\n' |
    dl_send -f carol2@sender.test ok2@plain.test defer1@plain.test || mr_fail "sendmail 2b"
dl_wait_log "to=<ok@plain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_PLAIN, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as PEER"
dl_wait_log "to=<reject1@plain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_PLAIN, .*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <reject1@plain\.test>: Recipient address rejected: User unknown \(in reply to RCPT TO command\)\)"
dl_wait_log "to=<ok2@plain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_PLAIN, .*dsn=2\.0\.0, status=sent"
dl_wait_log "to=<defer1@plain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_PLAIN, .*dsn=4\.2\.0, status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 450 4\.2\.0 <defer1@plain\.test>: Recipient address rejected: try again \(in reply to RCPT TO command\)\)"
F=$(peer_file plain 'RCPT TO:<ok@plain.test>')
[ "$(grep -c '^RCPT TO:' "$F")" -eq 1 ] || mr_fail "the peer got more than the accepted recipient"
mr_wait_for "bounce at the sender" has_peer_file plain 'RCPT TO:<carol@sender.test>'
B=$(peer_file plain 'RCPT TO:<carol@sender.test>')
grep -q '^MAIL FROM:<>$' "$B" || mr_fail "bounce sender: $(head -n 2 "$B")"
# The notice wraps the text; compare it with the line breaks undone.
tr -d '\r' <"$B" | tr '\n' ' ' | tr -s ' ' |
    grep -qF '<reject1@plain.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <reject1@plain.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)' ||
    mr_fail "bounce lacks the remote text: $(cat "$B")"

# 3. A peer that is down, then up, and postqueue -f.
printf 'Subject: later\n\nlater\n' | dl_send -f dave@sender.test eve@down.test || mr_fail "sendmail 3"
dl_wait_log "to=<eve@down\.test>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.4\.1, status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$P_DOWN: Connection refused\)"
# The failed address has its own line, as Postfix logs it.
dl_wait_log "smtp\[[0-9]+\]: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:$P_DOWN: Connection refused\$"
start_peer down --port "$P_DOWN"
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f || mr_fail "postqueue -f"
dl_wait_log "to=<eve@down\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_DOWN, .*status=sent \(250 2\.0\.0 Ok: queued as PEER"

# 4. STARTTLS: encrypt and verify with the test CA, and a wrong name.
printf 'Subject: tls\n\nover tls\n' | dl_send -f frank@sender.test tls@tls.test || mr_fail "sendmail 4"
dl_wait_log "smtp\[[0-9]+\]: Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$P_TLS: TLSv1\.[23] with cipher [A-Z0-9_-]+ \([0-9]+/[0-9]+ bits\)"
dl_wait_log "to=<tls@tls\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_TLS, .*status=sent \(250 2\.0\.0 Ok"
grep -q '^TLS: yes$' "$(peer_file tls 'RCPT TO:<tls@tls.test>')" || mr_fail "the peer did not see TLS"
printf 'Subject: verify\n\nverified\n' | dl_send -f frank@sender.test v@verify.test || mr_fail "sendmail 5"
dl_wait_log "smtp\[[0-9]+\]: Verified TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$P_TLS: TLSv1\.[23] with cipher"
dl_wait_log "to=<v@verify\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_TLS, .*status=sent"
printf 'Subject: wrong\n\nwrong name\n' | dl_send -f frank@sender.test w@wrong.test || mr_fail "sendmail 6"
dl_wait_log "to=<w@wrong\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_WRONG, .*dsn=4\.7\.5, status=deferred \(Server certificate not verified\)"
[ -z "$(peer_file wrong 'RCPT TO:<w@wrong.test>')" ] || mr_fail "mail went to a server whose certificate did not verify"

# 5. LMTP over a UNIX socket, one reply per recipient.
printf 'Subject: lmtp\n\nto lmtp\n' | dl_send -f gina@sender.test a@lmtp.test lmtpfail@lmtp.test || mr_fail "sendmail 7"
dl_wait_log "lmtp\[[0-9]+\]: [0-9A-F]+: to=<a@lmtp\.test>, relay=mx\.example\.test\[$T/lmtp\.sock\], .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <a@lmtp\.test> delivered\)"
dl_wait_log "to=<lmtpfail@lmtp\.test>, relay=mx\.example\.test\[$T/lmtp\.sock\], .*dsn=4\.2\.2, status=deferred \(host mx\.example\.test\[$T/lmtp\.sock\] said: 452 4\.2\.2 <lmtpfail@lmtp\.test> Mailbox full \(in reply to end of DATA command\)\)"
# 6. Two messages, one connection; other destinations are not cached.
printf 'Subject: c1\n\nfirst\n' | dl_send -f ivan@sender.test c1@cache.test || mr_fail "sendmail 10"
dl_wait_log "to=<c1@cache\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_CACHE, .*status=sent"
printf 'Subject: c2\n\nsecond\n' | dl_send -f ivan@sender.test c2@cache.test || mr_fail "sendmail 11"
dl_wait_log "to=<c2@cache\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_CACHE, .*status=sent"
C1=$(grep '^CONN:' "$(peer_file cache 'RCPT TO:<c1@cache.test>')")
C2=$(grep '^CONN:' "$(peer_file cache 'RCPT TO:<c2@cache.test>')")
[ -n "$C1" ] && [ "$C1" = "$C2" ] || mr_fail "the cached connection was not reused: $C1 / $C2"
P1=$(grep '^CONN:' "$(peer_file plain 'RCPT TO:<ok@plain.test>')")
P2=$(grep '^CONN:' "$(peer_file plain 'RCPT TO:<ok2@plain.test>')")
[ "$P1" != "$P2" ] || mr_fail "a destination that is not cached shared a connection: $P1"

# 7. AUTH at a smarthost.
printf 'Subject: auth\n\nauthenticated\n' | dl_send -f henry@sender.test h@smarthost.test || mr_fail "sendmail 8"
dl_wait_log "to=<h@smarthost\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_AUTH, .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as PEER"
grep -q '^AUTH: relayuser$' "$(peer_file auth 'RCPT TO:<h@smarthost.test>')" || mr_fail "the smarthost saw no AUTH"
printf 'Subject: auth\n\nwrong password\n' | dl_send -f mallory@sender.test m@smarthost.test || mr_fail "sendmail 9"
dl_wait_log "to=<m@smarthost\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_AUTH, .*dsn=4\.7\.[0-9]+, status=deferred \(SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535 5\.7\.8 Authentication credentials invalid\)"

# 8. secure: the nexthop's name, not the MX host's.
printf 'Subject: secure\n\nsecure\n' | dl_send -f frank@sender.test s@secure.test || mr_fail "sendmail 12"
dl_wait_log "to=<s@secure\.test>, relay=mx\.elsewhere\.test\[127\.0\.0\.1\]:$P_MX, .*dsn=4\.7\.5, status=deferred \(Server certificate not verified\)"
[ -z "$(peer_file mx 'RCPT TO:<s@secure.test>')" ] || mr_fail "secure sent to a certificate for the MX name only"
printf 'Subject: verify mx\n\nverify\n' | dl_send -f frank@sender.test v@mxverify.test || mr_fail "sendmail 13"
dl_wait_log "smtp\[[0-9]+\]: Verified TLS connection established to mx\.elsewhere\.test\[127\.0\.0\.1\]:$P_MX: "
dl_wait_log "to=<v@mxverify\.test>, relay=mx\.elsewhere\.test\[127\.0\.0\.1\]:$P_MX, .*status=sent"
printf 'Subject: dot secure\n\nsecure\n' | dl_send -f frank@sender.test d@dotsecure.test || mr_fail "sendmail 14"
dl_wait_log "smtp\[[0-9]+\]: Verified TLS connection established to mx\.sub\.test\[127\.0\.0\.1\]:$P_SUB: "
dl_wait_log "to=<d@dotsecure\.test>, relay=mx\.sub\.test\[127\.0\.0\.1\]:$P_SUB, .*status=sent"

# 9. may: a failed handshake, then the same server in plaintext.
printf 'Subject: may\n\nplain again\n' | dl_send -f frank@sender.test m@may.test || mr_fail "sendmail 15"
dl_wait_log "smtp\[[0-9]+\]: warning: TLS handshake failed with 127\.0\.0\.1\[127\.0\.0\.1\]:$P_WRONG: "
dl_wait_log "to=<m@may\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_WRONG, .*status=sent"
grep -q '^TLS: no$' "$(peer_file wrong 'RCPT TO:<m@may.test>')" || mr_fail "the retry without TLS used TLS"

# 10. Lost connections release what the delivery held. One agent
# process (limit 1, max_use high enough for the retries) serves every
# message (the deferred ones come back every few seconds); its open
# files after the first failure are the baseline.
open_files() {
    local n
    n=$(ls "/proc/$1/fd" | wc -l) && [ "$n" -gt 0 ] || mr_fail "cannot list the open files of smtp[$1]"
    echo "$n"
}
printf 'Subject: drop\n\ndrop\n' | dl_send -f frank@sender.test d0@drop.test || mr_fail "sendmail 16"
dl_wait_log "smtp\[[0-9]+\]: [0-9A-F]+: to=<d0@drop\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_DROP, .*status=deferred"
DPID=$(grep -E "to=<d0@drop\.test>" "$T/maillog" | sed -E 's/.*smtp\[([0-9]+)\]: .*/\1/' | head -n 1)
BASE=$(open_files "$DPID") || mr_fail "cannot count the open files of smtp[$DPID]"
for i in 1 2 3 4; do
    printf 'Subject: drop\n\ndrop\n' | dl_send -f frank@sender.test "d$i@drop.test" || mr_fail "sendmail drop $i"
    dl_wait_log "smtp\[$DPID\]: [0-9A-F]+: to=<d$i@drop\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$P_DROP, .*status=deferred"
done
fewer_files() {
    local n
    n=$(open_files "$DPID") || exit 1
    echo "smtp[$DPID]: $n open files (first: $BASE)" >"$T/open_files"
    [ "$n" -le "$BASE" ]
}
# Polled like mr_wait_for, to name the count when it fails.
i=0
until fewer_files; do
    i=$((i + 1))
    [ $i -le $((MR_WAIT * 10)) ] || mr_fail "open files grow with lost connections: $(cat "$T/open_files")"
    sleep 0.1
done

# 11. A full backlog is a failed connection (taken for one in progress,
# it would look connected and then lost before the greeting).
printf 'Subject: full\n\nfull\n' | dl_send -f frank@sender.test f@full.test || mr_fail "sendmail 17"
dl_wait_log "lmtp\[[0-9]+\]: connect to [^ ]+\[$T/full\.sock\]: Resource temporarily unavailable\$"
dl_wait_log "to=<f@full\.test>, relay=none, .*dsn=4\.4\.1, status=deferred \(connect to [^ ]+\[$T/full\.sock\]: Resource temporarily unavailable\)"

# No DSN at the peer: the success notice comes from here, as "relayed".
mr_wait_for "relayed notice" has_peer_file plain 'RCPT TO:<alice@sender.test>'
grep -q '^Action: relayed' "$(peer_file plain 'RCPT TO:<alice@sender.test>')" ||
    mr_fail "success notice: $(cat "$(peer_file plain 'RCPT TO:<alice@sender.test>')")"
echo "smtp_client: ok"
