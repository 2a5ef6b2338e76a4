#!/bin/bash
# smtpd_compat.sh - replies where smtpd answers exactly as Postfix 3.7 does,
# through a real instance: NOOP with an argument, an over-long command line
# (its first line_length_limit bytes run, the rest is skipped, the session
# goes on), DATA without an accepted recipient inside and outside a mail
# transaction, ETRN before HELO with and without smtpd_helo_required, and
# the client's name from the system resolver (/etc/hosts before DNS, as
# Postfix's getnameinfo): "connect from localhost[127.0.0.1]".
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
for prog in smtpd cleanup master mailroom; do
    [ -x "$MAILROOM_BIN/$prog" ] || mr_fail "$prog not built"
done
D="python3 $HERE/smtpd_dialogue.py"
P1=$(mr_free_port)  # defaults (no peer name lookup, as every test instance)
P2=$(mr_free_port)  # smtpd_helo_required = yes
P3=$(mr_free_port)  # smtpd_peername_lookup = yes, the system resolver
QS_NO_QMGR=1 qs_setup \
    "127.0.0.1:$P1 inet n - n - - smtpd" \
    "127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_helo_required=yes" \
    "127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_peername_lookup=yes"
"$MR" -c "$CONF" start || mr_fail "start failed"

LONG=$(printf 'x%.0s' $(seq 1 3000))
$D "$P1" <<EOF || mr_fail "NOOP, long line, DATA and ETRN dialogue"
< 220 .*
# RFC 5321 4.1.1.9: NOOP may carry a string.
> NOOP hello there
< 250 2.0.0 Ok
# 3005 bytes: the first 2048 (line_length_limit) run as NOOP, the rest is skipped.
> NOOP $LONG
< 250 2.0.0 Ok
# ETRN before HELO is answered as after HELO (not in fast_flush_domains).
> ETRN example.com
< 459 <example.com>: service unavailable
> EHLO client.example
<< 250 .*
> DATA
< 503 5.5.1 Error: need RCPT command
> MAIL FROM:<a@example.com>
< 250 2.1.0 Ok
> DATA
< 554 5.5.1 Error: no valid recipients
> RSET
< 250 2.0.0 Ok
> QUIT
< 221 2.0.0 Bye
closed
EOF

$D "$P2" <<'EOF' || mr_fail "ETRN with smtpd_helo_required"
< 220 .*
> ETRN example.com
< 503 Error: send HELO/EHLO first
> HELO client.example
< 250 .*
> ETRN example.com
< 459 <example.com>: service unavailable
> QUIT
< 221 2.0.0 Bye
EOF
# The session after the long line went on normally: no 500 was sent and no
# improper pipelining was seen.
grep -q "improper command pipelining" "$T/maillog" && mr_fail "the skipped rest of the long line counted as pipelining"
# smtpd logs the disconnect after its 221 has gone out: wait for the line.
mr_wait_for "the disconnect line with the session's counters" \
    grep -q "disconnect from unknown\[127.0.0.1\] ehlo=1 mail=1 data=0/2 rset=1 noop=2 etrn=0/1 quit=1 commands=6/9" "$T/maillog"

# The system resolver names 127.0.0.1 from /etc/hosts, forward-confirmed.
name=$(getent hosts 127.0.0.1 | awk '{print $2; exit}')
back=$(python3 -c 'import socket; print(" ".join(sorted({a[4][0] for a in socket.getaddrinfo("localhost", None, socket.AF_INET)})))' 2>/dev/null)
if [ "$name" != localhost ] || [[ " $back " != *" 127.0.0.1 "* ]]; then
    echo "note: this host does not map 127.0.0.1 <-> localhost (getent: '$name'); name check left out"
else
    $D "$P3" <<'EOF' || mr_fail "dialogue with the named client"
< 220 .*
> QUIT
< 221 2.0.0 Bye
EOF
    # Only this service looks names up; the others log unknown[127.0.0.1].
    mr_wait_for "disconnect of the named client" grep -q "disconnect from localhost\[127.0.0.1\]" "$T/maillog"
    grep -q "smtpd\[[0-9]*\]: connect from localhost\[127.0.0.1\]$" "$T/maillog" ||
        mr_fail "client name: $(grep 'connect from' "$T/maillog")"
fi
echo "ok: smtpd answers as Postfix"
