#!/bin/bash
# mailroom_pw.sh - `mailroom pw` as an administrator runs it: the hashes it
# prints verify with other implementations (Python's crypt module over
# libcrypt for the crypt schemes, hashlib for SSHA512), -t checks them,
# and the password may come from standard input.
source "$(dirname "$0")/mr_instance.sh"
mr_require_programs mailroom
mr_require_commands /usr/bin/python3
T=$(mktemp -d /tmp/mr-pw-XXXXXX)
trap 'rm -rf "$T"' EXIT
PASS='<tswcbyy888>'
for scheme in SHA512-CRYPT SHA256-CRYPT MD5-CRYPT BLF-CRYPT; do
    out=$("$MR" pw -s "$scheme" -p "$PASS") || mr_fail "mailroom pw -s $scheme"
    case "$out" in "{$scheme}"*) ;; *) mr_fail "mailroom pw -s $scheme printed: $out" ;; esac
    /usr/bin/python3 -W ignore -c 'import crypt, sys; h = sys.argv[1].split("}", 1)[1]; sys.exit(crypt.crypt(sys.argv[2], h) != h)' \
        "$out" "$PASS" || mr_fail "python crypt does not verify $out"
    [ "$("$MR" pw -t "$out" -p "$PASS")" = "$out (verified)" ] || mr_fail "mailroom pw -t $out"
    "$MR" pw -t "$out" -p wrong 2>"$T/err" && mr_fail "mailroom pw -t accepted a wrong password"
    grep -q "Password mismatch" "$T/err" || mr_fail "mailroom pw -t: $(cat "$T/err")"
done
out=$(printf '%s\n' "$PASS" | "$MR" pw -s SSHA512) || mr_fail "mailroom pw from stdin"
/usr/bin/python3 -c '
import base64, hashlib, sys
raw = base64.b64decode(sys.argv[1][len("{SSHA512}"):])
digest, salt = raw[:64], raw[64:]
sys.exit(not (sys.argv[1].startswith("{SSHA512}") and salt and hashlib.sha512(sys.argv[2].encode() + salt).digest() == digest))
' "$out" "$PASS" || mr_fail "hashlib does not verify $out"
echo "ok"
