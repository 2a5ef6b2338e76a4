#!/bin/bash
# imapd.sh - imapd end to end: a real instance (master, smtpd, the virtual
# agent, authd with a passwd-file user, imapd on a plain port with
# STARTTLS, on an imaps port, and on a port with a small
# imap_max_line_length) driven by imapd_client.py (Python's imaplib and a
# raw connection): greeting and CAPABILITY, LOGIN with literals, wrong
# passwords ([AUTHENTICATIONFAILED]), parse errors (tagged BAD, session
# goes on), the special-use folders, mail delivered by the virtual agent,
# SELECT/EXAMINE, FETCH (flags, sizes, dates, ENVELOPE, BODYSTRUCTURE,
# sections, partials, BINARY, \Seen), STORE, SEARCH (body, keywords,
# charsets), ESEARCH, SEARCHRES, SORT, THREAD, CREATE/RENAME/DELETE,
# SUBSCRIBE/LSUB, LIST-EXTENDED/LIST-STATUS, STATUS=SIZE, COPY/MOVE with
# COPYUID, EXPUNGE, APPEND (synchronising and LITERAL+, APPENDUID,
# TRYCREATE), ENABLE CONDSTORE QRESYNC, CHANGEDSINCE, UNCHANGEDSINCE,
# GETQUOTAROOT, AUTHENTICATE PLAIN (SASL-IR) and LOGIN,
# disable_plaintext_auth from another address ([PRIVACYREQUIRED] until
# STARTTLS), imaps, line and literal bounds ([TOOBIG]), two sessions and
# a delivery on one folder (every change seen once, no EXPUNGE during
# FETCH), IDLE seeing a delivery, Dovecot's log lines; then a restart of
# the instance keeps UIDVALIDITY and the UIDs.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs master imapd authd smtpd virtual mailroom
mr_require_commands openssl

P=$(mr_free_port)    # IMAP with STARTTLS
PS=$(mr_free_port)   # imaps
PL=$(mr_free_port)   # imap_max_line_length = 2048
PSMTP=$(mr_free_port)
dl_setup "authd     unix  -       -       n       -       -       authd" \
    "127.0.0.1:$PSMTP inet n - n - - smtpd" \
    "127.0.0.1:$P inet n - n - - imapd" \
    "127.0.0.1:$PS inet n - n - - imapd -o imap_tls_wrappermode=yes" \
    "127.0.0.1:$PL inet n - n - - imapd -o imap_max_line_length=2048 -o message_size_limit=100000"
dl_vmail v.test
MD="$VBASE/v.test/alice/Maildir"
echo "alice@v.test v.test/alice/Maildir/" >"$T/vmailbox"
cat >>"$CONF/main.cf" <<EOF2
authd_modules = passwd-file:$T/users
auth_failure_delay = 0
login_greeting = Dovecot ready.
auth_mechanisms = plain login
ssl_cert = <$T/cert.pem
ssl_key = <$T/key.pem
mynetworks = 127.0.0.0/8
EOF2
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
    -subj "/CN=mx.example.test" >/dev/null 2>&1 || mr_fail "openssl req"
chmod 644 "$T/key.pem"
echo "alice@v.test:{PLAIN}wonderland:$VUID:$VGID::$VBASE/v.test/alice::userdb_mail=maildir:$MD" >"$T/users"
chmod 644 "$T/users"

"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"

ARGS=$(printf '{"imap": %s, "imaps": %s, "imap_small": %s, "smtp": %s, "user": "alice@v.test", "password": "wonderland", "maillog": "%s", "dir": "%s", "maildir": "%s"}' \
    "$P" "$PS" "$PL" "$PSMTP" "$T/maillog" "$T" "$MD")
python3 "$HERE/imapd_client.py" "$ARGS" main >"$T/client.out" 2>&1 || mr_fail "client: $(cat "$T/client.out")"

# The UID list is Dovecot's, next to the mail.
test -f "$MD/dovecot-uidlist" || mr_fail "no dovecot-uidlist in $MD"

# UIDs persist across a restart of the instance.
"$MR" -c "$CONF" stop || mr_fail "stop failed"
mr_wait_for "instance stopped" mr_no_instance_pids
"$MR" -c "$CONF" start || mr_fail "restart failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"
python3 "$HERE/imapd_client.py" "$ARGS" restart >"$T/client2.out" 2>&1 || mr_fail "after restart: $(cat "$T/client2.out")"

grep -q "imapd.*warning\|imapd.*error\|imapd.*fatal\|imapd.*panic" "$T/maillog" &&
    mr_fail "imapd logged trouble: $(grep "imapd.*warning\|imapd.*error\|imapd.*fatal\|imapd.*panic" "$T/maillog")"
echo "imapd: ok"
