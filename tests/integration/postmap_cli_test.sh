#!/bin/bash
# postmap_cli_test.sh - the postmap command as an administrator uses it.
#
# Summary
#   Builds, queries, dumps, adds to and deletes from hash/btree tables with
#   the real binary; checks warning lines ("postmap: warning: FILE, line N:
#   ..."), exit codes (0 found, 1 not found, 2 table error), -N/-n, -f, -r,
#   -w, -o, pattern tables, and that a failed rebuild keeps the old .db.
set -u

BIN=${MAILROOM_BIN:-$(cd "$(dirname "$0")/../../build/bin" && pwd)}
PM=$BIN/postmap
TMP=$(mktemp -d /tmp/mr-postmap-cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() {  # description expected actual
    if [ "$2" = "$3" ]; then echo "ok: $1"; else fail "$1: got '$3', want '$2'"; fi
}
: >"$TMP/main.cf"
cd "$TMP" || exit 1

printf 'User@Example.COM OK\nlonely\nrelay.example  REJECT go\n  away\nuser@example.com second\n' >access
"$PM" -c "$TMP" access 2>err
check "build exit" 0 $?
check "warnings" "postmap: warning: access, line 2: expected format: key whitespace value
postmap: warning: access, line 5: duplicate entry: \"user@example.com\"" "$(cat err)"
check "query folds case" OK "$("$PM" -c "$TMP" -q USER@example.com hash:access)"
# A continuation line keeps its leading whitespace; only the newline goes.
check "continuation" "REJECT go  away" "$("$PM" -c "$TMP" -q relay.example access)"
"$PM" -c "$TMP" -q nope access; check "not found exit" 1 $?
"$PM" -c "$TMP" -q x fail:x 2>err; check "table error exit" 2 $?
grep -q "postmap: fatal: table fail:x: query error" err || fail "fatal message: $(cat err)"

"$PM" -c "$TMP" -r access 2>err
check "-r: last wins, quietly" "second:0" "$("$PM" -c "$TMP" -q user@example.com access):$(grep -c duplicate err)"
"$PM" -c "$TMP" -w access 2>err
check "-w: first wins, quietly" "OK:0" "$("$PM" -c "$TMP" -q user@example.com access):$(grep -c duplicate err)"
"$PM" -c "$TMP" -f access 2>/dev/null
"$PM" -c "$TMP" -f -q user@EXAMPLE.com access; check "-f: lookups are exact" 1 $?
check "-f keeps case" OK "$("$PM" -c "$TMP" -f -q User@Example.COM access)"

# -N / -n: the NUL byte in the file.
printf 'k v\n' >nul
"$PM" -c "$TMP" -n nul && "$PM" -c "$TMP" -N -q k nul; check "-N reader on -n file" 1 $?
check "default reader on -n file" v "$("$PM" -c "$TMP" -q k nul)"
"$PM" -c "$TMP" -N nul && check "-N file" v "$("$PM" -c "$TMP" -N -q k nul)"

# -i, -d, -s, -q -.
"$PM" -c "$TMP" -w access
printf 'new@example.com NEW\n' | "$PM" -c "$TMP" -i access
check "-i adds" NEW "$("$PM" -c "$TMP" -q new@example.com access)"
"$PM" -c "$TMP" -d new@example.com access; check "-d found" 0 $?
"$PM" -c "$TMP" -d new@example.com access; check "-d again" 1 $?
check "-s dump" "relay.example	REJECT go  away
user@example.com	OK" "$("$PM" -c "$TMP" -s access | sort)"
check "-q -" "relay.example	REJECT go  away" "$(printf 'zzz\nrelay.example x\n' | "$PM" -c "$TMP" -q - access)"

# The same logical lines in every file-based table type.
printf 'multi.example  554 5.7.1 multi word\n  continued value\n' >multi
check "texthash continuation" "554 5.7.1 multi word  continued value" \
    "$("$PM" -c "$TMP" -q multi.example texthash:multi)"
printf '/^multi/ 554 5.7.1 multi word\n  continued value\n' >multi.re
check "regexp continuation" "554 5.7.1 multi word  continued value" \
    "$("$PM" -c "$TMP" -q multi.example regexp:multi.re)"
check "pcre continuation" "554 5.7.1 multi word  continued value" \
    "$("$PM" -c "$TMP" -q multi.example pcre:multi.re)"
printf '10.0.0.0/8 REJECT a\n\tb\n' >multi.cidr
check "cidr continuation" "REJECT a	b" "$("$PM" -c "$TMP" -q 10.9.9.9 cidr:multi.cidr)"

# postalias -s and -q - print "key:<TAB>value", as Postfix does.
PA=$BIN/postalias
printf 'tomcat: hadoop\nstaff: a,\n  b\n' >aliases
"$PA" -c "$TMP" aliases
# (and the "@" entry Postfix's postalias adds for sendmail)
check "postalias -s" "@:	@
staff:	a,  b
tomcat:	hadoop" "$("$PA" -c "$TMP" -s aliases | sort)"
check "postalias -q -" "tomcat:	hadoop" "$(printf 'nobody\ntomcat\n' | "$PA" -c "$TMP" -q - aliases)"

# btree via default_database_type from main.cf and via -o.
printf 'a b\n' >bt
echo "default_database_type = btree" >"$TMP/main.cf"
"$PM" -c "$TMP" bt && check "btree via main.cf" b "$("$PM" -c "$TMP" -q a btree:bt)"
: >"$TMP/main.cf"
printf 'a c\n' >bt
"$PM" -c "$TMP" -o default_database_type=btree bt && check "btree via -o" c "$("$PM" -c "$TMP" -q a btree:bt)"

# Pattern tables answer -q directly.
printf '/^(.*)@example\\.com$/ local:$1\n' >re
check "pcre -q" local:joe "$("$PM" -c "$TMP" -q joe@example.com pcre:re)"
check "regexp -q" local:joe "$("$PM" -c "$TMP" -q joe@example.com regexp:re)"
printf '10.0.0.0/8 inside\n' >cidr
check "cidr -q" inside "$("$PM" -c "$TMP" -q 10.1.2.3 cidr:cidr)"

# A failed rebuild (unreadable source) keeps the old table.
mv access access.src && mkdir access
"$PM" -c "$TMP" access 2>/dev/null && fail "building from a directory succeeded"
check "old db survives" OK "$("$PM" -c "$TMP" -q user@example.com access)"

# Usage errors.
"$PM" -c "$TMP" -Z access 2>/dev/null; check "bad option exit" 1 $?

if [ "$FAILS" != 0 ]; then echo "$FAILS failure(s)"; exit 1; fi
echo "all postmap checks passed"
