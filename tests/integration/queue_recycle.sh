#!/bin/bash
# queue_recycle.sh - finished queue files are recycled and reused intact.
#
# Messages alternately long (1500 body lines) and short (3 lines) go one
# after the other to a virtual Maildir user, until cleanup has reused a file
# qmgr put into recycle/ (recycle/ then holds fewer files than messages were
# delivered; at least 6 messages). Every message must arrive whole, with
# nothing of the longer message whose file it reused; every queue ID in the
# log differs; recycle/ holds files afterwards. mailroom stop and start
# empty recycle/.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
mr_require_programs virtual qmgr cleanup pickup master mailroom sendmail postdrop postsuper
dl_setup
dl_vmail r.test
echo "u@r.test  u/Maildir/" >"$T/vmailbox"
echo "queue_file_recycle_limit = 100" >>"$CONF/main.cf"
"$MR" -c "$CONF" start || mr_fail "start failed"
[ -d "$Q/recycle" ] || mr_fail "no recycle/ directory"
[ "$(stat -c %a "$Q/recycle")" = 700 ] || mr_fail "recycle/ mode $(stat -c %a "$Q/recycle")"

lines_of() { if [ $(($1 % 2)) -eq 1 ]; then echo 1500; else echo 3; fi; }
pooled() { find "$Q/recycle" -type f | wc -l; }

n=0
while :; do
    n=$((n + 1))
    [ $n -le 60 ] || mr_fail "no queue file was reused after 60 messages"
    {
        printf 'Subject: recycle %d\n\n' "$n"
        for j in $(seq 1 "$(lines_of $n)"); do printf 'message %d line %d of the body\n' "$n" "$j"; done
    } | dl_send -f sender@example.test u@r.test || mr_fail "sendmail $n"
    mr_wait_for "message $n removed" sh -c "[ \$(grep -c ': removed\$' '$T/maillog') -ge $n ]"
    [ $n -ge 6 ] && [ "$(pooled)" -lt $n ] && break
done
echo "a queue file was reused by message $n or earlier; recycle/ holds $(pooled)"
[ "$(pooled)" -ge 1 ] || mr_fail "recycle/ is empty"

# Every message arrived whole.
M="$VBASE/u/Maildir/new"
[ "$(find "$M" -type f | wc -l)" -eq $n ] || mr_fail "$(find "$M" -type f | wc -l) messages in the Maildir, want $n"
for i in $(seq 1 $n); do
    f=$(grep -l "^Subject: recycle $i\$" "$M"/*) || mr_fail "message $i missing"
    [ "$(echo "$f" | wc -l)" -eq 1 ] || mr_fail "message $i delivered more than once"
    body=$(sed '1,/^$/d' "$f")
    want=$(for j in $(seq 1 "$(lines_of $i)"); do printf 'message %d line %d of the body\n' "$i" "$j"; done)
    [ "$body" = "$want" ] || mr_fail "message $i: body differs: $(diff <(echo "$want") <(echo "$body") | head -5)"
done

# Every message had its own queue ID.
ids=$(sed -n 's/.*mailroom\/qmgr\[[0-9]*\]: \([0-9A-F]*\): removed$/\1/p' "$T/maillog")
[ "$(echo "$ids" | sort -u | wc -l)" -eq $n ] || mr_fail "queue IDs repeat: $(echo "$ids" | sort | uniq -d)"
grep -q "status=deferred\|corrupt" "$T/maillog" && mr_fail "unexpected: $(grep "status=deferred\|corrupt" "$T/maillog" | head -3)"

# mailroom start empties the pool.
"$MR" -c "$CONF" stop || mr_fail "stop failed"
"$MR" -c "$CONF" start || mr_fail "second start failed"
[ "$(pooled)" -eq 0 ] || mr_fail "start left $(pooled) files in recycle/"
"$MR" -c "$CONF" stop || mr_fail "second stop failed"
echo "PASS"
