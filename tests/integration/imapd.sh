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
# TRYCREATE), CREATE with USE, ENABLE CONDSTORE QRESYNC, CHANGEDSINCE,
# UNCHANGEDSINCE, UID EXPUNGE with VANISHED, SELECT (QRESYNC ...),
# GETQUOTAROOT, AUTHENTICATE PLAIN (SASL-IR) and LOGIN,
# disable_plaintext_auth from another address ([PRIVACYREQUIRED] until
# STARTTLS), imaps, line and literal bounds ([TOOBIG]), a large message
# fetched byte for byte (sent from its file), two sessions and
# a delivery on one folder (every change seen once, no EXPUNGE during
# FETCH), IDLE seeing a delivery, Dovecot's log lines; a restart of the
# instance keeps UIDVALIDITY and the UIDs; then (imapd_rev2.py) IMAP4rev2
# after ENABLE (UTF-8 mailbox names, ESEARCH results, no RECENT, SELECT's
# LIST, [CLOSED], STATUS DELETED, LIST \NonExistent), LITERAL-
# (imap_literal_minus), IDLE reporting a delivery and another session's
# flag change (inotify), mail_max_userip_connections, the autologout's BYE
# and "* OK Still here".
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs master imapd authd smtpd virtual mailroom
mr_require_commands openssl

source "$(dirname "$0")/imapd_common.sh"

ARGS=$(printf '{"imap": %s, "imaps": %s, "imap_small": %s, "imap_minus": %s, "imap_limits": %s, "smtp": %s, "user": "alice@v.test", "password": "wonderland", "maillog": "%s", "dir": "%s", "maildir": "%s"}' \
    "$P" "$PS" "$PL" "$PM" "$PX" "$PSMTP" "$T/maillog" "$T" "$MD")
python3 "$HERE/imapd_client.py" "$ARGS" main >"$T/client.out" 2>&1 || mr_fail "client: $(cat "$T/client.out")"

# The UID list is Dovecot's, next to the mail.
test -f "$MD/dovecot-uidlist" || mr_fail "no dovecot-uidlist in $MD"

# UIDs persist across a restart of the instance.
"$MR" -c "$CONF" stop || mr_fail "stop failed"
mr_wait_for "instance stopped" mr_no_instance_pids
"$MR" -c "$CONF" start || mr_fail "restart failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"
python3 "$HERE/imapd_client.py" "$ARGS" restart >"$T/client2.out" 2>&1 || mr_fail "after restart: $(cat "$T/client2.out")"
# IMAP4rev2, LITERAL-, IDLE woken by inotify, the user+IP limit, autologout, "Still here".
python3 "$HERE/imapd_rev2.py" "$ARGS" >"$T/rev2.out" 2>&1 || mr_fail "rev2 client: $(cat "$T/rev2.out")"

grep -q "imapd.*warning\|imapd.*error\|imapd.*fatal\|imapd.*panic" "$T/maillog" &&
    mr_fail "imapd logged trouble: $(grep "imapd.*warning\|imapd.*error\|imapd.*fatal\|imapd.*panic" "$T/maillog")"
echo "imapd: ok"
