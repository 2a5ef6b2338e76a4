#!/bin/bash
# newaliases_test.sh - newaliases builds alias_database; postalias -q reads it.
#
# Summary
#   A temp config dir whose main.cf points alias_database at a temp aliases
#   file holding a Debian-style header plus the seed's "tomcat: hadoop".
#   newaliases (through -c and through MAIL_CONFIG) must build aliases.db,
#   postalias -q must answer from it (case-insensitively, continuation
#   lines, quoted names, the "@" entry), and a rebuild from a broken source
#   must leave the old database answering.
set -u

BIN=${MAILROOM_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
TMP=$(mktemp -d /tmp/mr-alias-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

cat >"$TMP/aliases" <<'EOF'
# /etc/aliases
#
#  Aliases in this file will NOT be expanded in the header from
#  Mail, but WILL be visible over networks or from /bin/mail.
#
#	>>>>>>>>>>	The program "newaliases" must be run after
#	>> NOTE >>	this file is updated for any changes to
#	>>>>>>>>>>	show through to sendmail.

# Basic system aliases -- these MUST be present.
mailer-daemon:	postmaster
postmaster:	root

# General redirections for pseudo accounts.
bin:		root
daemon:		root
nobody:		root
MAILER-Daemon2: postmaster
webmaster:	root,
		hadoop
"quoted name":	root
tomcat:         hadoop
EOF
cat >"$TMP/main.cf" <<EOF
alias_database = hash:$TMP/aliases
alias_maps = hash:$TMP/aliases
EOF

"$BIN/newaliases" -c "$TMP" || fail "newaliases -c exited $?"
[ -f "$TMP/aliases.db" ] || fail "aliases.db was not created"

# expect KEY EXIT [VALUE]
expect() {
    local out rc
    out=$("$BIN/postalias" -c "$TMP" -q "$1" "hash:$TMP/aliases" 2>"$TMP/stderr")
    rc=$?
    if [ "$rc" != "$2" ]; then
        fail "postalias -q '$1': exit $rc, want $2 ($(cat "$TMP/stderr"))"
    elif [ $# -ge 3 ] && [ "$out" != "$3" ]; then
        fail "postalias -q '$1': got '$out', want '$3'"
    else
        echo "ok: postalias -q '$1' -> exit $rc ${out:+'$out'}"
    fi
}
expect tomcat 0 hadoop
expect TOMCAT 0 hadoop
expect postmaster 0 root
expect mailer-daemon 0 postmaster
expect mailer-daemon2 0 postmaster
expect webmaster 0 "root,		hadoop"  # the continuation keeps its tabs
expect "quoted name" 0 root
expect @ 0 @
expect hadoop 1

# The same through MAIL_CONFIG, after the source changed.
echo "newuser: tomcat" >>"$TMP/aliases"
MAIL_CONFIG=$TMP "$BIN/newaliases" || fail "MAIL_CONFIG newaliases exited $?"
expect newuser 0 tomcat

# A failed rebuild (unreadable source) leaves the old table intact.
cp "$TMP/aliases" "$TMP/aliases.keep"
rm "$TMP/aliases"
mkdir "$TMP/aliases"  # reading a directory fails
if "$BIN/newaliases" -c "$TMP" 2>"$TMP/stderr"; then fail "newaliases on a directory succeeded"; fi
rmdir "$TMP/aliases"
expect tomcat 0 hadoop
ls "$TMP" | grep -q '\.tmp\.' && fail "temp file left behind: $(ls "$TMP")"

if [ "$FAILS" != 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
echo "all newaliases checks passed"
