#!/bin/bash
# smtpd_restrictions.sh - every smtpd restriction and access-table action
# against a real instance: one smtpd service per case (master.cf -o
# overrides), clients on 127.0.0.1 (mynetworks), 127.0.0.2 and 127.0.0.3,
# DNS answers from tests/support/fake_dns.py. Each case runs with Python's
# smtplib one command at a time and, where it ends at MAIL/RCPT, again with
# swaks --pipeline; the replies must be Postfix's, code and text. The cases
# are listed in smtpd_restrictions.py.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
mr_require_programs smtpd cleanup qmgr discard master mailroom
mr_require_commands swaks
mr_need_address 127.0.0.2

qs_setup
DNS_PID=""
trap 'kill $DNS_PID 2>/dev/null; mr_cleanup' EXIT
python3 "$HERE/../support/fake_dns.py" --port-file "$T/dns.port" \
    "mail.good.test A 127.0.0.9" \
    "2.0.0.127.rbl.test A 127.0.0.2" \
    "spam.test.rhs.test A 127.0.0.2" \
    "bad.client.test.rhs.test A 127.0.0.2" \
    "badhelo.test.rhs.test A 127.0.0.2" \
    "3.0.0.127.in-addr.arpa PTR bad.client.test." \
    "bad.client.test A 127.0.0.3" &
DNS_PID=$!
mr_wait_for "fake DNS server" test -s "$T/dns.port"
python3 "$HERE/smtpd_restrictions.py" setup "$T" "$(cat "$T/dns.port")" || mr_fail "case setup"
cat "$T/master.cf.add" >>"$CONF/master.cf"
cat >>"$CONF/main.cf" <<'CF'
mynetworks = 127.0.0.1/32
relay_domains = relay.test
local_recipient_maps =
smtpd_banner = $myhostname ESMTP
CF
"$MR" -c "$CONF" start || mr_fail "start failed"
for port in $(python3 -c 'import json,sys; print(" ".join(str(p) for p in json.load(open(sys.argv[1])).values()))' "$T/ports.json"); do
    mr_wait_for "smtpd on $port" python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' "$port"
done
python3 "$HERE/smtpd_restrictions.py" run "$T" "$T/maillog" || mr_fail "restriction cases"
"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "smtpd_restrictions: ok"
