#!/bin/bash
# imap_dovecot_compare.sh - lib/imap's ENVELOPE, BODYSTRUCTURE and BODY against
# Debian's Dovecot for the same messages.
#
# Summary
#   For each message in tests/data/imap/, runs Dovecot's imap binary on a
#   Maildir holding only that message (pre-authenticated, commands on
#   stdin, a private configuration in a temp dir) and compares its FETCH
#   answer byte for byte with what lib/imap gives (the imap_fetch_dump
#   helper built with the unit tests). Dovecot refuses to serve mail as
#   root, so as root the Dovecot side runs as nobody.
set -u
: "${MAILROOM_BUILD:?MAILROOM_BUILD must name a build directory}"
: "${MAILROOM_SRC:?MAILROOM_SRC must name the source tree}"

DUMP=$MAILROOM_BUILD/tests/imap_fetch_dump
DOVECOT_IMAP=/usr/lib/dovecot/imap
DATA=$MAILROOM_SRC/tests/data/imap
[ -x "$DUMP" ] || { echo "FAIL: $DUMP is not built"; exit 1; }
[ -x "$DOVECOT_IMAP" ] || { echo "FAIL: $DOVECOT_IMAP is missing (scripts/install-deps installs dovecot-imapd)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is missing"; exit 1; }

T=$(mktemp -d /tmp/mr-imap-compare.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
chmod 755 "$T"

RUN=()
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null || { echo "FAIL: setpriv is missing (util-linux)"; exit 1; }
    RUN=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
    RUN_USER=nobody
else
    RUN_USER=$(id -un)
fi
cat >"$T/dovecot.conf" <<CONF
protocols = imap
ssl = no
log_path = /dev/stderr
mail_location = maildir:$T/md
base_dir = $T/run
state_dir = $T/state
first_valid_uid = 1
first_valid_gid = 1
CONF

FAILS=0
COUNT=0
for msg in "$DATA"/*.eml; do
    name=$(basename "$msg")
    rm -rf "$T/md" "$T/run" "$T/state"
    mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/run" "$T/state"
    cp "$msg" "$T/md/cur/1000000000.M1P1.test:2,"
    [ "$(id -u)" -eq 0 ] && chown -R nobody "$T/md" "$T/run" "$T/state"
    printf 'a0 EXAMINE INBOX\r\na1 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)\r\na2 LOGOUT\r\n' |
        env -i PATH="$PATH" USER="$RUN_USER" HOME="$T" "${RUN[@]}" "$DOVECOT_IMAP" -c "$T/dovecot.conf" \
            >"$T/dovecot.out" 2>"$T/dovecot.err"
    "$DUMP" "$msg" >"$T/ours.out" || { echo "FAIL: $name: imap_fetch_dump failed"; FAILS=$((FAILS + 1)); continue; }
    # Dovecot's answer: from "* 1 FETCH " to the CRLF before the tagged OK.
    if ! python3 - "$T/dovecot.out" "$T/ours.out" "$name" <<'PY'
import sys
d = open(sys.argv[1], 'rb').read()
o = open(sys.argv[2], 'rb').read()
start = d.find(b'* 1 FETCH ')
end = d.find(b'\r\na1 OK')
if start < 0 or end < 0:
    print('FAIL: %s: no FETCH answer from Dovecot: %r' % (sys.argv[3], d[:500]))
    sys.exit(1)
want = d[start + len(b'* 1 FETCH '):end] + b'\r\n'
if want != o:
    print('FAIL: %s differs\n  dovecot: %r\n  ours:    %r' % (sys.argv[3], want, o))
    sys.exit(1)
print('ok: %s' % sys.argv[3])
PY
    then
        FAILS=$((FAILS + 1))
        sed 's/^/  dovecot log: /' "$T/dovecot.err" | head -5
    fi
    COUNT=$((COUNT + 1))
done
[ "$COUNT" -ge 20 ] || { echo "FAIL: only $COUNT messages in $DATA"; exit 1; }
[ "$FAILS" -eq 0 ] || { echo "FAIL: $FAILS of $COUNT messages differ from Dovecot"; exit 1; }
echo "PASS: $COUNT messages answer as Dovecot does"
