#!/bin/bash
# imap_dovecot_compare.sh - lib/imap's ENVELOPE, BODYSTRUCTURE and BODY against
# Debian's Dovecot for the same messages.
#
# Summary
#   For each message in tests/data/imap/, runs Dovecot's imap binary on a
#   Maildir holding only that message (pre-authenticated, commands on
#   stdin, a private configuration in a temp dir) and compares its FETCH
#   answers byte for byte with what lib/imap gives (the imap_fetch_dump
#   helper built with the unit tests): ENVELOPE, BODYSTRUCTURE and BODY,
#   BODY[section] for the usual section forms, and BINARY[part]; then all
#   the messages as one mailbox (flags and dates set per file) for SEARCH
#   keys through MIME encodings and charsets, SORT and THREAD. Dovecot refuses to serve mail as
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

# The sections fetched from every message, and BINARY[] of some parts.
SECTIONS=("" "HEADER" "TEXT" "1" "1.MIME" "2" "2.MIME" "1.1" "2.1" "2.2" "2.HEADER" "2.TEXT" "3" "3.1"
          "HEADER.FIELDS (FROM SUBJECT CONTENT-TYPE)" "HEADER.FIELDS.NOT (FROM)" "2.HEADER.FIELDS (SUBJECT)"
          "BINARY 1" "BINARY 2" "BINARY 1.1")

FAILS=0
COUNT=0
for msg in "$DATA"/*.eml; do
    name=$(basename "$msg")
    rm -rf "$T/md" "$T/run" "$T/state"
    mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/run" "$T/state"
    cp "$msg" "$T/md/cur/1000000000.M1P1.test:2,"
    [ "$(id -u)" -eq 0 ] && chown -R nobody "$T/md" "$T/run" "$T/state"
    dovecot() {  # runs Dovecot's imap on the Maildir with the commands of stdin
        env -i PATH="$PATH" USER="$RUN_USER" HOME="$T" "${RUN[@]}" "$DOVECOT_IMAP" -c "$T/dovecot.conf"
    }
    printf 'a0 EXAMINE INBOX\r\na1 FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)\r\na2 LOGOUT\r\n' |
        dovecot >"$T/dovecot.out" 2>"$T/dovecot.err"
    # Dovecot runs pipelined FETCHes at once, so each answer is found by its item name.
    {
        printf 'a0 EXAMINE INBOX\r\n'
        i=0
        for sec in "${SECTIONS[@]}"; do
            i=$((i + 1))
            case $sec in
                BINARY\ *) printf 's%d FETCH 1 (BINARY.PEEK[%s])\r\n' "$i" "${sec#BINARY }" ;;
                *) printf 's%d FETCH 1 (BODY.PEEK[%s])\r\n' "$i" "$sec" ;;
            esac
        done
        printf 'z9 LOGOUT\r\n'
    } | dovecot >"$T/dovecot.sections" 2>>"$T/dovecot.err"
    if ! "$DUMP" "$msg" >"$T/ours.out" || ! "$DUMP" --sections "$msg" "${SECTIONS[@]}" >"$T/ours.sections"; then
        echo "FAIL: $name: imap_fetch_dump failed"
        FAILS=$((FAILS + 1))
        continue
    fi
    if ! python3 - "$T" "$name" "${SECTIONS[@]}" <<'PY'
import re
import sys

t, name, sections = sys.argv[1], sys.argv[2], sys.argv[3:]
d = open(t + '/dovecot.out', 'rb').read()
ours = open(t + '/ours.out', 'rb').read()
ours_sections = open(t + '/ours.sections', 'rb').read()
bad = []

start = d.find(b'* 1 FETCH ')
end = d.find(b'\r\na1 OK')
want = d[start + len(b'* 1 FETCH '):end] + b'\r\n' if start >= 0 and end >= 0 else None
if want != ours:
    bad.append('FETCH (ENVELOPE BODYSTRUCTURE BODY)\n  dovecot: %r\n  ours:    %r' % (want, ours))

# Dovecot's section answers "* 1 FETCH (NAME VALUE)" by NAME; VALUE is a
# literal, a quoted string or NIL.
theirs = {}
s = open(t + '/dovecot.sections', 'rb').read()
pos = 0
while True:
    pos = s.find(b'* 1 FETCH (', pos)
    if pos < 0:
        break
    pos += len(b'* 1 FETCH (')
    close = s.find(b'] ', pos)
    item = s[pos:close + 1].decode()
    pos = close + 2
    m = re.match(rb'~?\{(\d+)\}\r\n|"((?:[^"\\]|\\.)*)"|NIL', s[pos:])
    if m.group(1) is not None:
        n = int(m.group(1))
        theirs[item] = s[pos + m.end():pos + m.end() + n]
        pos += m.end() + n
    else:
        theirs[item] = m.group(2) if m.group(2) is not None else b''
        pos += m.end()

# Ours: "{n}\r\n" DATA "\r\n" or "NO\r\n", in order.
mine = []
pos = 0
while pos < len(ours_sections):
    if ours_sections.startswith(b'NO\r\n', pos):
        mine.append(None)
        pos += 4
        continue
    m = re.match(rb'\{(\d+)\}\r\n', ours_sections[pos:])
    n = int(m.group(1))
    pos += m.end()
    mine.append(ours_sections[pos:pos + n])
    pos += n + 2

for k, sec in enumerate(sections):
    item = 'BINARY[%s]' % sec[7:] if sec.startswith('BINARY ') else 'BODY[%s]' % sec
    if theirs.get(item) != mine[k]:
        bad.append('[%s]\n  dovecot: %r\n  ours:    %r' % (sec, theirs.get(item), mine[k]))

if bad:
    print('FAIL: %s differs:\n%s' % (name, '\n'.join(b[:3000] for b in bad)))
    sys.exit(1)
print('ok: %s' % name)
PY
    then
        FAILS=$((FAILS + 1))
        sed 's/^/  dovecot log: /' "$T/dovecot.err" | grep -v 'Info: Disconnected' | head -5
    fi
    COUNT=$((COUNT + 1))
done
[ "$COUNT" -ge 20 ] || { echo "FAIL: only $COUNT messages in $DATA"; exit 1; }

# SEARCH, SORT and THREAD over all the messages as one mailbox: flags from
# the Maildir names, internal dates from the file times (UTC, one day
# apart). Both sides read the same files.
rm -rf "$T/md" "$T/run" "$T/state" "$T/box"
mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp" "$T/run" "$T/state" "$T/box"
FLAGS=("" S FS RS DS T F SR)
k=0
for msg in "$DATA"/*.eml; do
    k=$((k + 1))
    f="1$(printf '%06d' $k).M1P1.test:2,${FLAGS[$((k % ${#FLAGS[@]}))]}"
    cp "$msg" "$T/box/$f"
    TZ=UTC touch -d "2020-01-01 12:00:00 UTC + $k days" "$T/box/$f"
    cp -p "$T/box/$f" "$T/md/cur/$f"
done
[ "$(id -u)" -eq 0 ] && chown -R nobody "$T/md" "$T/run" "$T/state"
cat >"$T/commands" <<'CMDS'
SEARCH ALL
SEARCH SEEN
SEARCH UNSEEN FLAGGED
SEARCH OR ANSWERED DELETED
SEARCH NOT DRAFT UNDELETED
SEARCH LARGER 300
SEARCH SMALLER 200
SEARCH 2:5,*
SEARCH UID 30:*
SEARCH SUBJECT "grüße"
SEARCH SUBJECT meeting
SEARCH SUBJECT "re:"
SEARCH FROM "jörg"
SEARCH FROM example.com
SEARCH TO alice
SEARCH CC carol
SEARCH BCC dave
SEARCH HEADER X-Tag high
SEARCH HEADER Message-ID ""
SEARCH HEADER References gone
SEARCH BODY quick
SEARCH BODY "straße"
SEARCH BODY "привет"
SEARCH BODY softwrapped
SEARCH BODY body
SEARCH TEXT meeting
SEARCH TEXT "café"
SEARCH TEXT inner
SEARCH BEFORE 5-Jan-2020
SEARCH ON 3-Jan-2020
SEARCH SINCE 20-Jan-2020
SEARCH SENTBEFORE 1-Jan-2000
SEARCH SENTON 7-Feb-1994
SEARCH SENTSINCE 5-Jan-2020
SEARCH (OR SUBJECT inner BODY hello) NOT SEEN
SEARCH SUBJECT "(ab)"
SEARCH SUBJECT "привет"
SEARCH FROM "björn"
SEARCH TO undisclosed
SEARCH BODY "€"
SEARCH BODY "naïve"
SEARCH SENTON 15-Jan-2020
SORT (SUBJECT) ALL
SORT (REVERSE DATE) ALL
SORT (FROM SIZE) ALL
SORT (ARRIVAL) ALL
SORT (CC TO) ALL
SORT (DISPLAYFROM) ALL
SORT (REVERSE SUBJECT DATE) SINCE 20-Jan-2020
THREAD REFERENCES ALL
THREAD ORDEREDSUBJECT ALL
THREAD REFERENCES SINCE 25-Jan-2020
CMDS
"$DUMP" --mailbox "$T/box" "$T/commands" >"$T/ours.search" || { echo "FAIL: imap_fetch_dump --mailbox failed"; exit 1; }
# SEARCH as ESEARCH with tags, in one session; SORT and THREAD answers are
# untagged, so each gets a session of its own. Non-ASCII strings go as literals.
python3 - "$T" "${RUN[@]}" "$DOVECOT_IMAP" <<PY || FAILS=$((FAILS + 1))
import os, re, subprocess, sys
t, cmd = sys.argv[1], sys.argv[2:] + ['-c', sys.argv[1] + '/dovecot.conf']
env = {'PATH': os.environ['PATH'], 'USER': '$RUN_USER', 'HOME': t}

def literals(line):
    return re.sub(rb'"([^"]*[\x80-\xff][^"]*)"', lambda m: b'{%d+}\r\n' % len(m.group(1)) + m.group(1), line)

def dovecot(lines):
    data = b'a0 EXAMINE INBOX\r\n' + b''.join(literals(l) + b'\r\n' for l in lines) + b'z9 LOGOUT\r\n'
    return subprocess.run(cmd, input=data, env=env, capture_output=True).stdout

commands = open(t + '/commands', 'rb').read().splitlines()
ours = open(t + '/ours.search', 'rb').read().splitlines()
searches = [(k, c) for k, c in enumerate(commands) if c.startswith(b'SEARCH ')]
out = dovecot([b's%d SEARCH RETURN (ALL) CHARSET UTF-8 %s' % (k, c[7:]) for k, c in searches])
theirs = {}
for k, c in searches:
    m = re.search(rb'\* ESEARCH \(TAG "s%d"\)(?: ALL (\S+))?\r\n' % k, out)
    theirs[k] = m.group(1) or b'' if m else b'(no answer)'
for k, c in enumerate(commands):
    if c.startswith(b'SORT '):
        crit, rest = c[5:].split(b') ', 1)
        m = re.search(rb'\* SORT ?([^\r]*)\r\n', dovecot([b'a1 SORT %s) UTF-8 %s' % (crit, rest)]))
        theirs[k] = m.group(1) if m else b'(no answer)'
    elif c.startswith(b'THREAD '):
        alg, rest = c[7:].split(b' ', 1)
        m = re.search(rb'\* THREAD ?([^\r]*)\r\n', dovecot([b'a1 THREAD %s UTF-8 %s' % (alg, rest)]))
        theirs[k] = m.group(1) if m else b'(no answer)'
bad = 0
for k, c in enumerate(commands):
    if theirs[k] == ours[k]:
        print('ok: %s -> %s' % (c.decode(), ours[k].decode()))
    else:
        bad += 1
        print('FAIL: %s\n  dovecot: %s\n  ours:    %s' % (c.decode(), theirs[k].decode(), ours[k].decode()))
sys.exit(1 if bad else 0)
PY

[ "$FAILS" -eq 0 ] || { echo "FAIL: $FAILS differences from Dovecot"; exit 1; }
echo "PASS: $COUNT messages, their sections, and SEARCH, SORT and THREAD answer as Dovecot does"
