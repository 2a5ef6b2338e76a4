#!/bin/bash
# delivery_local.sh - the local delivery agent end to end.
#
# sendmail -> pickup -> cleanup -> qmgr -> local: the seed's mbox message
# (Return-Path, X-Original-To, Delivered-To), the seed's "tomcat: hadoop"
# alias, |command, /file and :include: aliases, a forward_path file, a
# Maildir through home_mailbox (as root, for a temporary system user whose
# files must end up owned by that user), the Delivered-To loop bounce and
# the unknown-user bounce, with Postfix's log lines.
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
mr_enter_netns "$@"
dl_setup "local2    unix  -       n       n       -       -       local -o home_mailbox=Maildir/"
echo "local3    unix  -       n       n       -       -       local -o mailbox_command=$T/mda.sh" >>"$CONF/master.cf"
echo "local4    unix  -       n       n       -       -       local -o alias_maps=hash:$T/no-such-aliases" >>"$CONF/master.cf"

if dl_root; then
    U1=mrh$$
    U2=mrm$$
    dl_user "$U1"
    dl_user "$U2"
else
    U1=$(id -un)
    U2=""
fi
mkdir -p "$T/files" "$T/forward"
chmod 1777 "$T/files"
cat >"$T/record.sh" <<'SH'
#!/bin/sh
cat > "$OUT_DIR/cmd.$RECIPIENT"
echo "uid=$(id -u) recipient=$RECIPIENT sender=$SENDER local=$LOCAL" >> "$OUT_DIR/cmd.$RECIPIENT"
SH
sed -i "s|\$OUT_DIR|$T/files|g" "$T/record.sh"
cat >"$T/mda.sh" <<SH
#!/bin/sh
cat > "$T/files/mda.\$USER"
echo "uid=\$(id -u) home=\$HOME recipient=\$RECIPIENT extension=\$EXTENSION" >> "$T/files/mda.\$USER"
SH
chmod 755 "$T/record.sh" "$T/mda.sh"
echo "staff-list-member@remote.test" >"$T/staff.list"
echo "$U1" >>"$T/staff.list"
cat >"$T/aliases" <<EOF2
tomcat:   $U1
prog:     "|$T/record.sh"
filecopy: $T/files/copy.mbox
staff:    :include:$T/staff.list
owner-staff: $U1
EOF2
"$MAILROOM_BIN/postalias" "hash:$T/aliases" || mr_fail "postalias"
{
    echo "recipient_delimiter = +"
    echo "alias_maps = hash:$T/aliases"
    echo "forward_path = $T/forward/\$user"
    echo "allow_mail_to_commands = alias, forward, include"
    echo "transport_maps = texthash:$T/transport"
} >>"$CONF/main.cf"
printf 'maildir.example.test local2:\nmda.example.test local3:\nnoalias.example.test local4:\n' >"$T/transport"
# local4's alias database exists at start (start refuses a missing one) and
# goes away afterwards, for case 10.
: >"$T/no-such-aliases"
"$MAILROOM_BIN/postalias" -c "$CONF" "hash:$T/no-such-aliases" || mr_fail "postalias"
"$MR" -c "$CONF" start || mr_fail "start failed"
rm -f "$T/no-such-aliases" "$T/no-such-aliases.db"

# 1. The seed's message: to an unqualified local user, into the spool mbox.
printf 'Subject: seed\n\nhow are you?\nFrom here\n' | dl_send -f hadoop "$U1" || mr_fail "sendmail 1"
dl_wait_log "local\[[0-9]+\]: [0-9A-F]+: to=<$U1@mx\.example\.test>, orig_to=<$U1>, relay=local, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)\$"
MBOX="$T/spool/$U1"
# Postfix's From_ line: two spaces between the sender and the asctime date.
grep -qE "^From hadoop@mx\.example\.test  (Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\$" "$MBOX" ||
    mr_fail "From_ line: $(grep '^From ' "$MBOX" | head -1)"
grep -A3 '^From hadoop' "$MBOX" | tr '\n' '|' | grep -q "Return-Path: <hadoop@mx.example.test>|X-Original-To: $U1|Delivered-To: $U1@mx.example.test|" ||
    mr_fail "delivery headers: $(head -5 "$MBOX")"
grep -q '^>From here$' "$MBOX" || mr_fail "From_ quoting in the mbox"
if dl_root; then
    [ "$(stat -c %U "$MBOX")" = "$U1" ] || mr_fail "mbox owned by $(stat -c %U "$MBOX"), not $U1"
fi

# 2. The seed's alias: tomcat -> the user; tomcat itself gets nothing.
printf 'Subject: check it\n\ncheck it\n' | dl_send -f root tomcat@mx.example.test || mr_fail "sendmail 2"
# Logged as Postfix's local logs it: the user, with the alias as orig_to.
dl_wait_log "local\[[0-9]+\]: [0-9A-F]+: to=<$U1@mx\.example\.test>, orig_to=<tomcat@mx\.example\.test>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)\$"
grep -q ': to=<tomcat@' "$T/maillog" && mr_fail "the alias is logged as the recipient"
grep -q "^X-Original-To: tomcat@mx.example.test$" "$MBOX" || mr_fail "alias: X-Original-To"
# Delivered-To names the recipient before the alias (Postfix's local).
[ "$(grep -c "^Delivered-To: $U1@mx.example.test$" "$MBOX")" -eq 1 ] || mr_fail "alias: Delivered-To of the first message"
grep -A3 '^From root' "$MBOX" | tr '\n' '|' | grep -q "X-Original-To: tomcat@mx.example.test|Delivered-To: tomcat@mx.example.test|" ||
    mr_fail "alias: Delivered-To: $(grep -A3 '^From root' "$MBOX")"

# 3. |command and /file aliases (root-owned aliases: default_privs).
printf 'Subject: prog\n\nto a command\n' | dl_send -f alice prog@example.test || mr_fail "sendmail 3"
dl_wait_log "to=<prog@example\.test>, relay=local, .*status=sent \(delivered to command: $T/record\.sh\)"
OUT="$T/files/cmd.prog@example.test"
grep -q "^Delivered-To: prog@example.test$" "$OUT" || mr_fail "command input"
grep -q "^to a command$" "$OUT" || mr_fail "command body"
if dl_root; then
    grep -q "^uid=$(id -u nobody) recipient=prog@example.test sender=alice@mx.example.test local=prog$" "$OUT" ||
        mr_fail "command environment or privileges: $(tail -1 "$OUT")"
fi
printf 'Subject: file\n\nto a file\n' | dl_send -f alice filecopy || mr_fail "sendmail 4"
dl_wait_log "to=<filecopy@mx\.example\.test>, orig_to=<filecopy>, relay=local, .*status=sent \(delivered to file: $T/files/copy\.mbox\)"
grep -q "^to a file$" "$T/files/copy.mbox" || mr_fail "file delivery"

# 4. :include: with an owner- alias: the local member gets it, the remote
#    one is forwarded through cleanup with owner-staff as the sender.
printf 'Subject: staff\n\nfor the staff\n' | dl_send -f alice staff || mr_fail "sendmail 5"
dl_wait_log "to=<$U1@mx\.example\.test>, orig_to=<staff>, relay=local, .*status=sent \(delivered to mailbox\)\$"
dl_wait_log "to=<staff@mx\.example\.test>, orig_to=<staff>, relay=local, .*status=sent \(forwarded as [0-9A-F]+\)\$"
dl_wait_log "from=<owner-staff@mx\.example\.test>, size=[0-9]+, nrcpt=1"
dl_wait_log "discard\[[0-9]+\]: [0-9A-F]+: to=<staff-list-member@remote\.test>, relay=none, .*status=sent"
grep -q "^for the staff$" "$MBOX" || mr_fail "include member"

# 5. forward_path: the file sends the user's mail to prog and keeps a copy.
if dl_root; then F=$U2; else F=$U1; fi
printf '\\%s, prog\n' "$F" >"$T/forward/$F"
chmod 644 "$T/forward/$F"
dl_root && chown "$F:" "$T/forward/$F"
printf 'Subject: fwd\n\nforwarded\n' | dl_send -f alice "$F" || mr_fail "sendmail 6"
dl_wait_log "to=<$F@mx\.example\.test>, orig_to=<$F>, relay=local, .*status=sent \(delivered to mailbox\)\$"
dl_wait_log "to=<prog@mx\.example\.test>, orig_to=<$F>, relay=local, .*status=sent \(delivered to command: $T/record\.sh\)\$"
mr_wait_for "forwarded copy" grep -q "^forwarded$" "$T/files/cmd.prog@mx.example.test"
grep -q '^forwarded$' "$T/spool/$F" || mr_fail "\\user in .forward: the mailbox copy"
# A group- or world-writable forward file is ignored with a warning.
chmod 666 "$T/forward/$F"
printf 'Subject: fwd2\n\nunsafe forward\n' | dl_send -f alice "$F" || mr_fail "sendmail 6b"
dl_wait_log "warning: file $T/forward/$F is group or world writable"
mr_wait_for "mailbox copy despite the unsafe .forward" grep -q '^unsafe forward$' "$T/spool/$F"
grep -q '^unsafe forward$' "$T/files/cmd.prog@mx.example.test" && mr_fail "unsafe .forward was obeyed"
rm -f "$T/forward/$F"

# 6. Maildir through home_mailbox = Maildir/ (local2), as the user.
if dl_root; then
    printf 'Subject: maildir\n\nin a maildir\n' | dl_send -f alice "$U2@maildir.example.test" || mr_fail "sendmail 7"
    dl_wait_log "local\[[0-9]+\]: [0-9A-F]+: to=<$U2@maildir\.example\.test>, relay=local2, .*status=sent \(delivered to maildir\)"
    FILE=$(find "$T/home/$U2/Maildir/new" -type f | head -n 1)
    [ -n "$FILE" ] || mr_fail "no file in Maildir/new"
    grep -q "^Delivered-To: $U2@maildir.example.test$" "$FILE" || mr_fail "maildir headers"
    [ "$(stat -c %U "$FILE")" = "$U2" ] || mr_fail "maildir file owned by $(stat -c %U "$FILE")"
    [ "$(stat -c %U "$T/home/$U2/Maildir")" = "$U2" ] || mr_fail "Maildir directory owner"
    [ -z "$(ls -A "$T/home/$U2/Maildir/tmp")" ] || mr_fail "file left in Maildir/tmp"
else
    echo "note: not root; skipping the Maildir-as-another-user part"
fi

# 7. mailbox_command (local3), as the user, data in the environment.
printf 'Subject: mda\n\nthrough the mda\n' | dl_send -f alice "$U1+box@mda.example.test" || mr_fail "sendmail mda"
dl_wait_log "to=<$U1\+box@mda\.example\.test>, relay=local3, .*status=sent \(delivered to command: $T/mda\.sh\)"
MDA="$T/files/mda.$U1"
grep -q "^From alice@mx.example.test " "$MDA" || mr_fail "mailbox_command input lacks the From_ line"
grep -q "^Delivered-To: $U1+box@mda.example.test$" "$MDA" || mr_fail "mailbox_command input headers"
grep -q "^through the mda$" "$MDA" || mr_fail "mailbox_command body"
grep -q "^uid=$(id -u "$U1") home=$(getent passwd "$U1" | cut -d: -f6) recipient=$U1+box@mda.example.test extension=box$" "$MDA" ||
    mr_fail "mailbox_command environment: $(tail -n 1 "$MDA")"

# 8. A message that already went through this mailbox bounces.
printf 'Delivered-To: %s@mx.example.test\nSubject: loop\n\nx\n' "$U1" | dl_send -f alice "$U1" || mr_fail "sendmail 8"
dl_wait_log "to=<$U1@mx\.example\.test>, orig_to=<$U1>, relay=local, .*dsn=5\.4\.6, status=bounced \(mail forwarding loop for $U1@mx\.example\.test\)"

# 9. Unknown users bounce.
printf 'Subject: nobody\n\nx\n' | dl_send -f alice no-such-user-$$ || mr_fail "sendmail 9"
dl_wait_log "to=<no-such-user-$$@mx\.example\.test>, .*dsn=5\.1\.1, status=bounced \(unknown user: \"no-such-user-$$\"\)"

# 10. A missing alias database defers, as in Postfix.
printf 'Subject: noalias\n\nx\n' | dl_send -f alice "$U1@noalias.example.test" || mr_fail "sendmail noalias"
dl_wait_log "to=<$U1@noalias\.example\.test>, relay=local4, .*dsn=4\.3\.0, status=deferred \(alias database unavailable\)"
grep -q "warning: hash:$T/no-such-aliases is unavailable" "$T/maillog" || mr_fail "no warning about the missing alias database"
ND=$(grep -F "to=<$U1@noalias.example.test>" "$T/maillog" | sed -n 's/.*\]: \([0-9A-F]*\): to=.*/\1/p' | head -n 1)
mr_wait_for "deferred message deleted" sh -c "'$MAILROOM_BIN/postsuper' -c '$CONF' -d $ND >/dev/null 2>&1; grep -q '$ND: removed' '$T/maillog'"

mr_wait_for "queue empty" sh -c "[ -z \"\$(find '$Q/incoming' '$Q/active' '$Q/deferred' -type f)\" ]"
echo "delivery_local: ok"
