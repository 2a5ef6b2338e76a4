#!/bin/bash
# smtpd_dns.sh - the SMTP server with DNS: the client's name from a
# forward-confirmed PTR, and reject_unknown_sender_domain, against
# tests/support/fake_dns.py on loopback (never the host's resolver).
# Two fake servers: in the first, 127.0.0.1's PTR mail.example.com has an A
# record 127.0.0.1 (the client is mail.example.com[127.0.0.1]); in the
# second the A record is another address (the client stays unknown).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup master mailroom
mr_need_address 127.0.0.2
D="python3 $HERE/smtpd_dialogue.py"
FAKE_DNS="$HERE/../support/fake_dns.py"
P1=$(mr_free_port)
P2=$(mr_free_port)
QS_NO_QMGR=1 qs_setup
DNS_PIDS=""
stop_dns() {
    local p
    for p in $DNS_PIDS; do kill "$p" 2>/dev/null || true; done
    mr_cleanup
}
trap stop_dns EXIT
start_dns() {  # start_dns PORTFILE RECORD...
    local pf=$1
    shift
    python3 "$FAKE_DNS" --port-file "$pf" "$@" &
    DNS_PIDS="$DNS_PIDS $!"
    mr_wait_for "fake DNS server" test -s "$pf"
}
COMMON=(
    "example.com MX 10 mail.example.com"
    "nomail.test MX 0 ."
    "broken.test SERVFAIL"
    "txtonly.test TXT no mail here"
)
start_dns "$T/dns1.port" "1.0.0.127.in-addr.arpa PTR mail.example.com." "mail.example.com A 127.0.0.1" "${COMMON[@]}"
start_dns "$T/dns2.port" "1.0.0.127.in-addr.arpa PTR mail.example.com." "mail.example.com A 127.0.0.9" "${COMMON[@]}"
# The third: 127.0.0.1's PTR lookup fails (SERVFAIL), 127.0.0.2's is never answered.
start_dns "$T/dns3.port" --query-log "$T/dns3.queries" "1.0.0.127.in-addr.arpa SERVFAIL" "2.0.0.127.in-addr.arpa DROP" "${COMMON[@]}"
DNS1=$(cat "$T/dns1.port")
DNS2=$(cat "$T/dns2.port")
DNS3=$(cat "$T/dns3.port")
P3=$(mr_free_port)
P4=$(mr_free_port)
R="-o smtpd_peername_lookup=yes -o smtpd_sender_restrictions=reject_unknown_sender_domain"
{
    echo "127.0.0.1:$P1 inet n - n - - smtpd $R -o dns_servers=127.0.0.1:$DNS1"
    echo "127.0.0.1:$P2 inet n - n - - smtpd $R -o dns_servers=127.0.0.1:$DNS2 -o unknown_address_reject_code=550"
    C="-o smtpd_peername_lookup=yes -o smtpd_client_restrictions=reject_unknown_client_hostname -o unknown_client_reject_code=550"
    echo "127.0.0.1:$P3 inet n - n - - smtpd $C -o dns_servers=127.0.0.1:$DNS2"
    # One process only, so both test clients share its event loop.
    echo "127.0.0.1:$P4 inet n - n - 1 smtpd $C -o dns_servers=127.0.0.1:$DNS3"
} >>"$CONF/master.cf"
cat >>"$CONF/main.cf" <<'CF'
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP
CF
"$MR" -c "$CONF" start || mr_fail "start failed"

# 1. Forward-confirmed name; unknown sender domains deferred (450), a
#    domain with an MX accepted, a null MX refused.
$D "$P1" <<'EOF2' || mr_fail "dialogue on the first server"
< 220 mx\.example\.test ESMTP
> helo client.example.com
< 250 mx\.example\.test
> mail from:<x@nowhere.test>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 450 4\.1\.8 <x@nowhere\.test>: Sender address rejected: Domain not found
> rset
< 250 2\.0\.0 Ok
> mail from:<x@txtonly.test>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 450 4\.1\.8 <x@txtonly\.test>: Sender address rejected: Domain not found
> rset
< 250 2\.0\.0 Ok
> mail from:<x@nomail.test>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 550 5\.7\.27 <x@nomail\.test>: Sender address rejected: Domain nomail\.test does not accept mail \(nullMX\)
> rset
< 250 2\.0\.0 Ok
> mail from:<y@example.com>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 250 2\.1\.5 Ok
> quit
< 221 2\.0\.0 Bye
closed
EOF2
mr_wait_for "disconnect line" grep -q "disconnect from mail.example.com\[127.0.0.1\]" "$T/maillog"
grep -Eq "smtpd\[[0-9]+\]: connect from mail\.example\.com\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "connect line with the name"
grep -Fq "NOQUEUE: reject: RCPT from mail.example.com[127.0.0.1]: 450 4.1.8 <x@nowhere.test>: Sender address rejected: Domain not found" \
    "$T/maillog" || mr_fail "reject log line"
grep -Eq "smtpd\[[0-9]+\]: [0-9A-F]+: client=mail\.example\.com\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "client= line"

# 2. The PTR name does not resolve back to the address: unknown; with
#    unknown_address_reject_code = 550 a missing domain is refused, a
#    temporary DNS failure still deferred.
$D "$P2" <<'EOF2' || mr_fail "dialogue on the second server"
< 220 mx\.example\.test ESMTP
> helo client.example.com
< 250 mx\.example\.test
> mail from:<x@nowhere.test>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 550 5\.1\.8 <x@nowhere\.test>: Sender address rejected: Domain not found
> rset
< 250 2\.0\.0 Ok
> mail from:<x@broken.test>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 450 4\.1\.8 <x@broken\.test>: Sender address rejected: Domain not found
> quit
< 221 2\.0\.0 Bye
closed
EOF2
mr_wait_for "disconnect line" grep -q "disconnect from unknown\[127.0.0.1\]" "$T/maillog"
grep -Eq "smtpd\[[0-9]+\]: connect from unknown\[127\.0\.0\.1\]\$" "$T/maillog" || mr_fail "connect line without a name"
grep -Fq "hostname mail.example.com does not resolve to address 127.0.0.1" "$T/maillog" || mr_fail "forward mismatch warning"
grep -Fq "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.1.8 <x@nowhere.test>" "$T/maillog" || mr_fail "550 log line"

# 3. reject_unknown_client_hostname: a name that does not resolve back is
#    unknown_client_reject_code (550); a failed PTR lookup is always 450.
$D "$P3" <<'EOF2' || mr_fail "dialogue with reject_unknown_client_hostname"
< 220 mx\.example\.test ESMTP
> helo client.example.com
< 250 mx\.example\.test
> mail from:<y@example.com>
< 250 2\.1\.0 Ok
> rcpt to:<a@elsewhere.test>
< 550 5\.7\.25 Client host rejected: cannot find your hostname, \[127\.0\.0\.1\]
> quit
< 221 2\.0\.0 Bye
closed
EOF2

# 4. A peer lookup that is never answered holds back only its own greeting:
#    while the client from 127.0.0.2 waits, a client from 127.0.0.1 of the
#    same smtpd process gets its greeting and its 450 at once.
python3 - "$P4" "$T/dns3.queries" <<'PY' || mr_fail "a slow peer lookup stalled another session"
import os, select, socket, sys, time
port = int(sys.argv[1])
slow = socket.socket()
slow.bind(("127.0.0.2", 0))
slow.connect(("127.0.0.1", port))
# The slow client's PTR question has reached the DNS server (which never
# answers it): its lookup is under way.
deadline = time.monotonic() + 20
while not (os.path.exists(sys.argv[2]) and "2.0.0.127.in-addr.arpa" in open(sys.argv[2]).read()):
    assert time.monotonic() < deadline, "smtpd never asked for the slow client's name"
    time.sleep(0.05)
t0 = time.monotonic()
fast = socket.create_connection(("127.0.0.1", port), timeout=10)
f = fast.makefile("rb")
def reply():
    while True:
        line = f.readline().decode()
        if len(line) < 4 or line[3] != "-":
            return line.rstrip()
greeting = reply()
assert greeting.startswith("220 "), greeting
for cmd in ["helo client.example.com", "mail from:<y@example.com>"]:
    fast.sendall(cmd.encode() + b"\r\n")
    reply()
fast.sendall(b"rcpt to:<a@elsewhere.test>\r\n")
r = reply()
took = time.monotonic() - t0
assert r == "450 4.7.25 Client host rejected: cannot find your hostname, [127.0.0.1]", r
# Had the slow lookup stalled the loop, the fast session could only have
# gone on once that lookup ended, and by then the slow client would have
# had its greeting too: it must still be waiting.
assert not select.select([slow], [], [], 0)[0], "slow client greeted before the fast session ended"
# Its own greeting comes after the resolver gives up (about 3 s).
slow.settimeout(10)
sf = slow.makefile("rb")
line = sf.readline().decode()
assert line.startswith("220 "), line
print("fast session: %.2f s; slow session greeted after its lookup failed" % took)
PY
mr_wait_for "connect line of the slow client" grep -q "connect from unknown\[127.0.0.2\]" "$T/maillog"
echo "PASS"
