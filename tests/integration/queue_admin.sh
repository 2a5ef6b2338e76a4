#!/bin/bash
# queue_admin.sh - postqueue, postsuper and postcat on a real queue.
#
# The instance starts without qmgr, so submitted mail waits in incoming/.
# postcat -q shows what sendmail and cleanup wrote (Received: with the
# submitting uid, added Message-ID/Date, qualified From with the -F name,
# no Bcc); postsuper -h puts mail on hold, which
# postqueue -p marks with "!"; postsuper -d deletes; after a reload that
# adds qmgr, postsuper -H releases the held message and it is delivered.
# postsuper -r sends a message through pickup and cleanup again.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/queue_common.sh"
mr_enter_netns "$@"
QS_NO_QMGR=1 qs_setup
"$MR" -c "$CONF" start || mr_fail "start failed"
PQ() { MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" "$@"; }
PS() { "$MAILROOM_BIN/postsuper" -c "$CONF" "$@"; }
PC() { "$MAILROOM_BIN/postcat" -c "$CONF" "$@"; }

printf 'To: keep@remote.test\nBcc: hidden@remote.test\nSubject: held one\n\nbody one\n' |
    qs_send -t -f alice -F 'Alice Example' || mr_fail "sendmail 1 failed"
printf 'Subject: doomed\n\nbody two\n' | qs_send -f alice doomed@remote.test || mr_fail "sendmail 2 failed"
mr_wait_for "two messages in incoming" sh -c "[ \$(find '$Q/incoming' -type f -name '[0-9A-F]*' | wc -l) -eq 2 ]"
ID1=$(grep -F 'uid=' "$T/maillog" | head -n 1 | sed -n 's/.*\]: \([0-9A-F]*\): .*/\1/p')
ID2=$(grep -F 'uid=' "$T/maillog" | sed -n '2s/.*\]: \([0-9A-F]*\): .*/\1/p')
[ -n "$ID1" ] && [ -n "$ID2" ] || mr_fail "no queue IDs"

# postcat -q: envelope, then the content cleanup wrote.
PC -q "$ID1" >"$T/cat1" || mr_fail "postcat failed"
grep -qx "\*\*\* ENVELOPE RECORDS incoming/$ID1 \*\*\*" "$T/cat1" || mr_fail "postcat banner"
grep -qx "sender: alice@mx.example.test" "$T/cat1" || mr_fail "postcat sender"
grep -qx "recipient: keep@remote.test" "$T/cat1" || mr_fail "postcat recipient"
grep -qx "recipient: hidden@remote.test" "$T/cat1" || mr_fail "postcat Bcc recipient in the envelope"
grep -qx "Subject: held one" "$T/cat1" || mr_fail "postcat subject"
grep -Eqx "Received: by mx\.example\.test \(mailroom, from userid $(id -u)\)" "$T/cat1" || mr_fail "Received header"
grep -Eqx "	id [0-9A-F]+; [A-Z][a-z]{2}, .*" "$T/cat1" || mr_fail "Received header id line"
grep -qx "From: Alice Example <alice@mx.example.test>" "$T/cat1" || mr_fail "From with full name, qualified"
grep -Eqx "Message-ID: <[0-9]{14}\.$ID1@mx\.example\.test>" "$T/cat1" || mr_fail "added Message-ID"
grep -Eqx "Date: [A-Z][a-z]{2}, [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4} \(.*\)" "$T/cat1" ||
    mr_fail "added Date"
grep -qi "^Bcc:" "$T/cat1" && mr_fail "Bcc header kept"
grep -qx "body one" "$T/cat1" || mr_fail "postcat body"
PC -q NOSUCHID0 2>/dev/null && mr_fail "postcat of a missing ID succeeded"

# postsuper -h: both on hold; postqueue -p shows them with "!".
PS -h ALL 2>"$T/err" || mr_fail "postsuper -h failed"
grep -q "postsuper: Placed on hold: 2 messages" "$T/err" || mr_fail "hold count: $(cat "$T/err")"
[ -f "$Q/hold/$ID1" ] && [ -f "$Q/hold/$ID2" ] || mr_fail "not in hold/"
grep -q "$ID1: placed on hold" "$T/maillog" || mr_fail "hold not logged"
PQ -p >"$T/mailq"
head -n 1 "$T/mailq" | grep -qx -- "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------" ||
    mr_fail "mailq header: $(head -n 1 "$T/mailq")"
grep -Eq "^$ID1! +[0-9]+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8}  alice@mx\.example\.test\$" "$T/mailq" ||
    mr_fail "held entry in mailq: $(cat "$T/mailq")"
grep -Eq "^ {41}keep@remote\.test\$" "$T/mailq" || mr_fail "recipient line in mailq"
tail -n 1 "$T/mailq" | grep -Eqx -- "-- [0-9]+ Kbytes in 2 Requests\." || mr_fail "mailq summary"
"$MAILROOM_BIN/mailq" -C "$CONF" | cmp -s - "$T/mailq" || mr_fail "mailq differs from postqueue -p"
PQ -j | grep -c '"queue_name": "hold"' | grep -qx 2 || mr_fail "postqueue -j"
# A user who cannot read the queue (as root the queue belongs to
# mail_owner): the same listing through the showq daemon. The group stands
# in for the set-gid bit postqueue gets when installed.
if [ "$(id -u)" -eq 0 ] && id daemon >/dev/null 2>&1; then
    SG=$(sed -n 's/^setgid_group = //p' "$CONF/main.cf")
    AS_USER=(setpriv --reuid=daemon --regid=daemon --groups="$(getent group "$SG" | cut -d: -f3)" --)
    "${AS_USER[@]}" test -r "$Q/hold" && mr_fail "the test user can read the queue itself"
    "${AS_USER[@]}" env MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p >"$T/mailq_showq" 2>"$T/err" ||
        mr_fail "postqueue -p through showq: $(cat "$T/err")"
    cmp -s "$T/mailq" "$T/mailq_showq" || mr_fail "showq listing differs: $(diff "$T/mailq" "$T/mailq_showq")"
    "${AS_USER[@]}" env MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -j >"$T/json_showq" 2>"$T/err" ||
        mr_fail "postqueue -j through showq: $(cat "$T/err")"
    PQ -j | cmp -s - "$T/json_showq" || mr_fail "showq JSON differs"
    # Without the group there is no way in, and postqueue says so.
    setpriv --reuid=daemon --regid=daemon --clear-groups -- env MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -p \
        >/dev/null 2>"$T/err" && mr_fail "postqueue -p without access succeeded"
    grep -q "Cannot list the mail queue - mail system is down" "$T/err" || mr_fail "no-access error: $(cat "$T/err")"
fi

# postsuper -d: one gone.
PS -d "$ID2" 2>"$T/err" || mr_fail "postsuper -d failed"
grep -q "postsuper: Deleted: 1 message" "$T/err" || mr_fail "delete count"
[ ! -e "$Q/hold/$ID2" ] || mr_fail "$ID2 still there"
grep -q "mailroom/postsuper\[[0-9]*\]: $ID2: removed" "$T/maillog" || mr_fail "delete not logged"

# postsuper -r: a message goes back through pickup and cleanup (new ID).
printf 'Subject: again\n\nx\n' | qs_send -f alice later@remote.test || mr_fail "sendmail 3 failed"
mr_wait_for "third message in incoming" sh -c "[ \$(find '$Q/incoming' -type f -name '[0-9A-F]*' | wc -l) -eq 1 ]"
ID3=$(find "$Q/incoming" -type f -name '[0-9A-F]*' -printf '%f\n')
PS -r "$ID3" 2>"$T/err" || mr_fail "postsuper -r failed"
grep -q "postsuper: Requeued: 1 message" "$T/err" || mr_fail "requeue count"
mr_wait_for "requeued message back in incoming" sh -c "[ \$(grep -c 'uid=' '$T/maillog') -eq 4 ] && [ \$(find '$Q/incoming' -type f -name '[0-9A-F]*' | wc -l) -eq 1 ]"
[ ! -e "$Q/incoming/$ID3" ] || mr_fail "old copy left after requeue"
PS -s || mr_fail "postsuper -s failed"

# Add qmgr, release the held message: it is delivered.
echo "qmgr      unix  n       -       n       300     1       qmgr" >>"$CONF/master.cf"
"$MR" -c "$CONF" reload || mr_fail "reload failed"
mr_wait_for "qmgr listener" test -S "$Q/public/qmgr"
# master starts qmgr when it is first woken: a flush makes it scan the
# queue, which delivers the requeued message; the held one must still be
# waiting after that scan.
MAIL_CONFIG="$CONF" "$MAILROOM_BIN/postqueue" -f || mr_fail "postqueue -f failed"
mr_wait_for "requeued message delivered" grep -q "to=<later@remote.test>, .*status=sent" "$T/maillog"
grep -q "$ID1: to=" "$T/maillog" && mr_fail "held mail was delivered"
PS -H "$ID1" 2>"$T/err" || mr_fail "postsuper -H failed"
grep -q "postsuper: Released from hold: 1 message" "$T/err" || mr_fail "release count"
mr_wait_for "released message delivered" grep -q "$ID1: removed" "$T/maillog"
grep -q "$ID1: to=<hidden@remote.test>, relay=none, .*status=sent (discarded)" "$T/maillog" || mr_fail "Bcc recipient"
mr_wait_for "queue empty" sh -c "[ \"\$(MAIL_CONFIG='$CONF' '$MAILROOM_BIN/postqueue' -p)\" = 'Mail queue is empty' ]"

"$MR" -c "$CONF" stop || mr_fail "stop failed"
echo "PASS"
