#!/bin/bash
# seed_system.sh - the seed's whole mail system end to end, mailroom in
# every role and real parts everywhere else:
#   - a private MariaDB loaded with Extman's schema (extmail_schema.sql)
#     and rows like init.sql's: domains, mailboxes with MD5-crypt
#     passwords and Maildir++ quotas, an alias;
#   - main.cf with the seed's "Virtual Mailbox Settings", "QUOTA Settings"
#     and "CYRUS-SASL" blocks and Extman's mysql_virtual_*.cf map files
#     (legacy table/select_field/where_field keys), paths and uids changed
#     only; syslog_name = postfix;
#   - authd reading the seed's authmysqlrc, Cyrus SASL (libsasl2) with the
#     seed's smtpd.conf (pwcheck_method: authdaemond) on authd's socket,
#     pop3d and imapd reading the same users;
#   - a second instance on 127.0.0.2 taking the relayed message.
# Steps (the numbers of the scenario):
#   1. AUTH LOGIN (the seed's 334 VXNlcm5hbWU6 exchange, swaks) from outside
#      mynetworks: to a virtual user (Maildir) and to an outside domain
#      (relayed to the second instance); the same client unauthenticated
#      gets "454 4.7.1 <...>: Relay access denied";
#   2. a mynetworks client to a local user (mbox) and to the seed's
#      "tomcat: hadoop" alias;
#   3. the virtual user reads the message over POP3 (poplib), deletes it,
#      and maildirsize shrinks; then a second message over IMAP (imaplib:
#      LOGIN, SELECT INBOX, FETCH, STORE \Deleted, EXPUNGE), and
#      maildirsize shrinks again;
#   4. a message over the user's quota bounces with the seed's
#      virtual_maildir_limit_message, and the notice reaches the sender;
#   5. the seed's access tables reject the client IP, the sender domain
#      whitehouse.com and the recipient openstack@ with the seed's replies;
#   6. the seed's maildrop pipe entry (libcourierauth has its socket path
#      compiled in: authd serves it in a private mount namespace, as root
#      or inside a user namespace; without either, the step says it did
#      not run), Debian's maildrop finding the MySQL user
#      through authd, delivering into the user's Maildir;
#   7. every step's Postfix-format log line; Debian's pflogsumm counts
#      received/delivered/deferred/bounced/rejected as the steps add up,
#      and Debian's mailgraph, reading the same log once, records the
#      sent/received/bounced/rejected counts in its RRD (rrdtool fetch).
source "$(dirname "$0")/mr_instance.sh"
source "$(dirname "$0")/delivery_common.sh"
source "$(dirname "$0")/authd_common.sh"
# A private /run that can hold courier's socket path for maildrop (step 6):
# as root a mount namespace, as an ordinary user a user namespace.
AD_USERNS=1 ad_private_run "$@"
mr_enter_netns "$@"
mr_require_programs master smtpd cleanup qmgr pickup bounce local virtual pipe smtp authd pop3d imapd anvil mailroom postmap postalias
mr_require_commands swaks openssl pflogsumm mailgraph rrdtool
[ -x /usr/bin/maildrop ] || mr_fail "maildrop is not installed (scripts/install-deps installs it)"
mr_need_address 127.0.0.2
mr_need_address 127.0.0.3
mr_need_address 127.0.0.4
SEED_RC="$MAILROOM_SRC/tests/data/auth/authmysqlrc.seed"
MSG=$AD_QUOTA_MSG
T0=$(date +%s)

P=$(mr_free_port)    # smtpd (the seed's port 25)
PP=$(mr_free_port)   # pop3d
PI=$(mr_free_port)   # imapd
PB=$(mr_free_port)   # the second instance's smtpd on 127.0.0.2
dl_setup "127.0.0.1:$P inet n - n - - smtpd" \
    "127.0.0.1:$PP inet n - n - - pop3d" \
    "127.0.0.1:$PI inet n - n - - imapd" \
    "authd     unix  -       -       n       -       -       authd" \
    "bounce    unix  -       -       n       -       0       bounce" \
    "defer     unix  -       -       n       -       0       bounce" \
    "trace     unix  -       -       n       -       0       bounce" \
    "smtp      unix  -       -       n       -       -       smtp"
ad_start_mariadb

# The mail account (the seed's vmail, uid 2525 and later 1001): nobody as
# root, where pop3d and imapd run as mail_owner too; the caller otherwise.
if dl_root; then
    VU=nobody
    HU=mrh$$            # the seed's local user hadoop
    dl_user "$HU"
else
    VU=$(id -un)
    HU=$(id -un)
fi
VUID=$(id -u "$VU")
VGID=$(id -g "$VU")
PW='md5-Secret!'
MD5=$(openssl passwd -1 "$PW")
"$AD_CLIENT" --no-defaults -S "$SOCK" -uroot <"$AD_DIR/extmail_schema.sql" || mr_fail "extmail schema"
"$AD_CLIENT" --no-defaults -S "$SOCK" -uroot extmail <<SQL || mr_fail "extmail rows"
INSERT INTO domain (domain, description, maxusers, maxquota, default_quota) VALUES
  ('extmail.org', 'extmail.org', 100, '1048576000', '104857600'),
  ('magedu.com', 'magedu.com', 100, '1048576000', '104857600');
INSERT INTO mailbox (username, uid, password, name, maildir, homedir, quota, domain, uidnumber, gidnumber) VALUES
  ('postmaster@extmail.org', 'postmaster', '$MD5', 'Postmaster', 'extmail.org/postmaster/Maildir/', 'extmail.org/postmaster', '104857600S', 'extmail.org', $VUID, $VGID),
  ('tiny@extmail.org', 'tiny', '$MD5', 'Tiny', 'extmail.org/tiny/Maildir/', 'extmail.org/tiny', '1500S', 'extmail.org', $VUID, $VGID),
  ('jerry@magedu.com', 'jerry', '$MD5', 'Jerry', 'magedu.com/jerry/Maildir/', 'magedu.com/jerry', '104857600S', 'magedu.com', $VUID, $VGID);
INSERT INTO alias (address, goto, domain) VALUES ('support@extmail.org', 'postmaster@extmail.org', 'extmail.org');
INSERT INTO manager (username, password, type, name) VALUES ('root@extmail.org', '$MD5', 'admin', 'root');
SQL

# Extman's map files: legacy keys, the seed's database and account.
ad_write_map "$CONF/mysql_virtual_domains_maps.cf" domain domain domain
ad_write_map "$CONF/mysql_virtual_mailbox_maps.cf" mailbox maildir username
ad_write_map "$CONF/mysql_virtual_alias_maps.cf" alias goto address
ad_write_map "$CONF/mysql_virtual_mailbox_limit_maps.cf" mailbox quota username
ad_write_map "$CONF/mysql_virtual_sender_maps.cf" mailbox username username
chmod 644 "$CONF"/mysql_virtual_*.cf

# The seed's authmysqlrc with this instance's socket, mailbox base and uid.
MB="$T/mailbox"
sed -e "s|^MYSQL_SOCKET .*|MYSQL_SOCKET  $SOCK|" -e "s|/var/mailbox/|$MB/|g" \
    -e "s|'2525'|'$VUID'|g" "$SEED_RC" >"$CONF/authmysqlrc"
chmod 600 "$CONF/authmysqlrc"
mkdir -p "$MB/magedu.com/jerry/Maildir/cur" "$MB/magedu.com/jerry/Maildir/new" "$MB/magedu.com/jerry/Maildir/tmp"
chown -R "$VUID:$VGID" "$MB"

# Cyrus SASL: the seed's smtpd.conf, authdaemond on authd's socket.
mkdir -m 755 "$T/sasl"
printf 'pwcheck_method: authdaemond\nlog_level: 3\nmech_list:PLAIN LOGIN\nauthdaemond_path:%s\n' \
    "$Q/private/authd" >"$T/sasl/smtpd.conf"
chmod 644 "$T/sasl/smtpd.conf"

# The seed's access tables (section 8), client IP 192.168.3.87 -> 127.0.0.4.
printf '127.0.0.4       REJECT\nwhitehouse.com  REJECT\n' >"$CONF/access"
printf 'openstack@      REJECT\n' >"$CONF/recipient"
"$MAILROOM_BIN/postmap" "hash:$CONF/access" "hash:$CONF/recipient" || mr_fail "postmap"
printf 'tomcat:         %s\n' "$HU" >"$CONF/aliases"
"$MAILROOM_BIN/postalias" "hash:$CONF/aliases" || mr_fail "postalias"
printf 'outside.test    smtp:[127.0.0.2]:%s\nmagedu.com      maildrop:\n' "$PB" >"$CONF/transport"
"$MAILROOM_BIN/postmap" "hash:$CONF/transport" || mr_fail "postmap transport"

# main.cf: dl_setup's base (queue in $T, mydestination), then the seed.
sed -i -e 's/^myhostname = .*/myhostname = mail.yuliang.com/' -e 's/^mydomain = .*/mydomain = yuliang.com/' \
    -e 's/^mydestination = .*/mydestination = $myhostname, localhost, yuliang.com/' \
    -e '/^default_transport = /d' "$CONF/main.cf"
cat >>"$CONF/main.cf" <<EOF2
syslog_name = postfix
mynetworks = 127.0.0.1/32
alias_maps = hash:$CONF/aliases
alias_database = hash:$CONF/aliases
transport_maps = hash:$CONF/transport
smtpd_client_restrictions = check_client_access hash:$CONF/access
smtpd_sender_restrictions = check_sender_access hash:$CONF/access
authd_modules = mysql:$CONF/authmysqlrc
auth_failure_delay = 0
mail_location = maildir:~/Maildir
cyrus_sasl_config_path = $T/sasl
############################CYRUS-SASL############################
broken_sasl_auth_clients = yes
smtpd_recipient_restrictions = check_recipient_access hash:$CONF/recipient,permit_mynetworks,permit_sasl_authenticated,reject_invalid_hostname,reject_non_fqdn_hostname,reject_unknown_sender_domain,reject_non_fqdn_sender,reject_non_fqdn_recipient,reject_unknown_recipient_domain,reject_unauth_pipelining,reject_unauth_destination
smtpd_sasl_auth_enable = yes
smtpd_sasl_local_domain = \$myhostname
smtpd_sasl_security_options = noanonymous
smtpd_sasl_path = smtpd
##########################Virtual Mailbox Settings########################
virtual_mailbox_base = $MB
virtual_mailbox_maps = mysql:$CONF/mysql_virtual_mailbox_maps.cf
virtual_mailbox_domains = mysql:$CONF/mysql_virtual_domains_maps.cf
virtual_alias_domains =
virtual_alias_maps = mysql:$CONF/mysql_virtual_alias_maps.cf
virtual_uid_maps = static:$VUID
virtual_gid_maps = static:$VGID
virtual_transport = virtual
maildrop_destination_recipient_limit = 1
maildrop_destination_concurrency_limit = 1
##########################QUOTA Settings########################
message_size_limit = 14336000
EOF2
ad_seed_quota >>"$CONF/main.cf"

# The seed's maildrop pipe entry; Debian's maildrop finds users only at the
# socket path compiled into libcourierauth, served here by a master.cf
# service of that name (in the private mount namespace).
COURIER_SOCK=/run/courier/authdaemon/socket
MAILDROP=""
if { [ -n "${AUTHD_MNTNS:-}" ] && mount -t tmpfs -o mode=755 mr-seed-run /run 2>/dev/null; } ||
    { [ -n "${AD_USERNS_RUN:-}" ] && [ -w /run ]; }; then
    mkdir -p "$(dirname "$COURIER_SOCK")"
    {
        echo "$COURIER_SOCK unix  -       -       n       -       -       authd"
        echo "maildrop  unix  -       n       n       -       -       pipe"
        echo "  flags=DRhu user=$VU argv=/usr/bin/maildrop -d \${recipient}"
    } >>"$CONF/master.cf"
    MAILDROP=yes
fi

# The second instance: mail.outside.test on 127.0.0.2, outside.test's
# mailboxes in its own Maildirs.
B="$T/b"
mkdir -p "$B/etc" "$B/vmail"
chown "$VUID:$VGID" "$B/vmail"
{
    echo "queue_directory = $B/queue"
    echo "data_directory = $B/data"
    echo "daemon_directory = $MAILROOM_BIN"
    echo "command_directory = $MAILROOM_BIN"
    echo "maillog_file = $B/maillog"
    echo "inet_protocols = ipv4"
    echo "smtpd_peername_lookup = no"
    echo "myhostname = mail.outside.test"
    echo "mydestination ="
    echo "virtual_mailbox_domains = outside.test"
    echo "virtual_mailbox_base = $B/vmail"
    echo "virtual_mailbox_maps = texthash:$B/vmailbox"
    echo "virtual_uid_maps = static:$VUID"
    echo "virtual_gid_maps = static:$VGID"
    echo "virtual_minimum_uid = 1"
    if dl_root; then echo "mail_owner = nobody"; echo "setgid_group = nogroup"; fi
} >"$B/etc/main.cf"
echo "bob@outside.test outside.test/bob/" >"$B/vmailbox"
grep -E '^(pickup|cleanup|qmgr|bounce|defer|trace|virtual|discard|error) ' "$CONF/master.cf" >"$B/etc/master.cf"
echo "127.0.0.2:$PB inet n - n - - smtpd" >>"$B/etc/master.cf"
stop_b() { "$MR" -c "$B/etc" stop >/dev/null 2>&1 || true; pkill -KILL -f -- "-c $B/etc" 2>/dev/null || true; }
trap 'stop_b; ad_stop_mariadb; dl_cleanup' EXIT

"$MR" -c "$B/etc" start || mr_fail "start of the second instance failed"
"$MR" -c "$CONF" start || mr_fail "start failed"
mr_wait_for "authd socket" test -S "$Q/private/authd"

# What the steps add up to, for step 7: messages smtpd or pickup took in
# (received; pflogsumm counts their client= and uid= lines), deliveries (delivered), bounces, rejections; mailgraph's
# "sent" is the smtp agent's deliveries, its "received" smtpd's messages.
RECEIVED=0 DELIVERED=0 BOUNCED=0 REJECTED=0 SMTP_SENT=0 SMTPD_RECEIVED=0 MG_BOUNCED=0
log_has() { grep -Eq -- "$1" "$T/maillog"; }
QID='[0-9A-F]+'

smtp_session() {  # source-address then python statements using s (smtplib.SMTP) -> $T/py.out
    local src=$1
    shift
    /usr/bin/python3 - "$P" "$src" "$@" >"$T/py.out" 2>&1 <<'PY'
import smtplib, sys
port, src = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.com", source_address=(src, 0), timeout=30)
def expect(reply, code, text):
    assert reply == (code, text.encode()), (reply, code, text)
for stmt in sys.argv[3:]:
    exec(stmt)
s.quit()
PY
}

# An SMTP session from SRC refused at RCPT with REPLY, and smtpd's
# NOQUEUE line for it.
expect_reject() {  # src sender recipient code text
    local src=$1 from=$2 to=$3 code=$4 text=$5
    smtp_session "$src" 's.ehlo("client.example.com")' "expect(s.mail('$from'), 250, '2.1.0 Ok')" \
        "expect(s.rcpt('$to'), $code, '$text')" || mr_fail "$to from $src: $(cat "$T/py.out")"
    mr_wait_for "smtpd's reject line for $to from $src" grep -qF -- \
        "NOQUEUE: reject: RCPT from unknown[$src]: $code $text; from=<$from> to=<$to> proto=ESMTP helo=<client.example.com>" "$T/maillog"
    REJECTED=$((REJECTED + 1))
}

echo "step 1: authenticated submission from outside mynetworks; relay denied without AUTH"
swaks --server 127.0.0.1 --port "$P" --local-interface 127.0.0.3 --helo client.example.com \
    --auth LOGIN --auth-user postmaster@extmail.org --auth-password "$PW" \
    --from postmaster@extmail.org --to postmaster@extmail.org,bob@outside.test \
    --header "Subject: step 1" --body "authenticated and relayed" >"$T/swaks" 2>&1 || mr_fail "swaks: $(cat "$T/swaks")"
grep -q '<-  *334 VXNlcm5hbWU6' "$T/swaks" && grep -q '<-  *334 UGFzc3dvcmQ6' "$T/swaks" &&
    grep -q '<-  *235 2.7.0 Authentication successful' "$T/swaks" || mr_fail "AUTH LOGIN exchange: $(cat "$T/swaks")"
RECEIVED=$((RECEIVED + 1)) SMTPD_RECEIVED=$((SMTPD_RECEIVED + 1))
dl_wait_log "postfix/smtpd\[[0-9]+\]: $QID: client=unknown\[127\.0\.0\.3\], sasl_method=LOGIN, sasl_username=postmaster@extmail\.org\$"
dl_wait_log "postfix/virtual\[[0-9]+\]: $QID: to=<postmaster@extmail\.org>, relay=virtual, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered to maildir\)\$"
dl_wait_log "postfix/smtp\[[0-9]+\]: $QID: to=<bob@outside\.test>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:$PB, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as [0-9A-F]+\)\$"
DELIVERED=$((DELIVERED + 2)) SMTP_SENT=$((SMTP_SENT + 1))
mr_wait_for "the second instance delivers" grep -Eq "virtual\[[0-9]+\]: $QID: to=<bob@outside\.test>, relay=virtual, .*status=sent \(delivered to maildir\)" "$B/maillog"
grep -rq '^authenticated and relayed' "$B/vmail/outside.test/bob/new" || mr_fail "bob's Maildir on the second instance"
expect_reject 127.0.0.3 abc@qq.com obama@whitehouse.com 454 "4.7.1 <obama@whitehouse.com>: Relay access denied"

echo "step 2: mynetworks client to a local user and to the tomcat alias"
smtp_session 127.0.0.1 "r = s.sendmail('root@yuliang.com', ['$HU@yuliang.com', 'tomcat@yuliang.com'], b'Subject: step 2\\r\\n\\r\\nhow are you?\\r\\n')" \
    'assert r == {}, r' || mr_fail "step 2: $(cat "$T/py.out")"
RECEIVED=$((RECEIVED + 1)) SMTPD_RECEIVED=$((SMTPD_RECEIVED + 1))
dl_wait_log "postfix/local\[[0-9]+\]: $QID: to=<$HU@yuliang\.com>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)\$"
# local logs the alias as Postfix does: the user (the alias value qualified
# with $myorigin, here the default $myhostname), the alias as orig_to
# (delivery_local.sh checks the same).
dl_wait_log "postfix/local\[[0-9]+\]: $QID: to=<$HU@mail\.yuliang\.com>, orig_to=<tomcat@yuliang\.com>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)\$"
grep -q ": $QID: to=<tomcat@" "$T/maillog" && mr_fail "the alias is logged as the recipient"
DELIVERED=$((DELIVERED + 2))
[ "$(grep -c '^how are you?$' "$T/spool/$HU")" -ge 1 ] || mr_fail "no step 2 message in $T/spool/$HU"
grep -q '^X-Original-To: tomcat@yuliang.com$' "$T/spool/$HU" || mr_fail "the alias copy has no X-Original-To: tomcat"

echo "step 3: POP3 read and delete; maildirsize shrinks"
PMD="$MB/extmail.org/postmaster/Maildir"
mds_total() { awk 'NR > 1 { s += $1 } END { print s + 0 }' "$PMD/maildirsize"; }
BEFORE=$(mds_total)
[ "$BEFORE" -gt 0 ] || mr_fail "maildirsize counts nothing: $(cat "$PMD/maildirsize")"
/usr/bin/python3 - "$PP" "$PW" >"$T/pop.out" 2>&1 <<'PY' || mr_fail "POP3: $(cat "$T/pop.out")"
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user("postmaster@extmail.org")
assert p.pass_(sys.argv[2]).startswith(b"+OK"), "login"
count, size = p.stat()
assert count == 1, (count, size)
lines = p.retr(1)[1]
assert b"Subject: step 1" in lines and b"authenticated and relayed" in lines, lines
assert p.dele(1).startswith(b"+OK")
assert p.quit().startswith(b"+OK")
PY
[ -z "$(find "$PMD/new" "$PMD/cur" -type f)" ] || mr_fail "the message is still in the Maildir after DELE"
AFTER=$(mds_total)
[ "$AFTER" -lt "$BEFORE" ] || mr_fail "maildirsize did not shrink ($BEFORE -> $AFTER)"
dl_wait_log "pop3-login: Login: user=<postmaster@extmail\.org>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1"

echo "step 3: IMAP read and delete; maildirsize shrinks"
smtp_session 127.0.0.1 "r = s.sendmail('root@yuliang.com', ['postmaster@extmail.org'], b'Subject: step 3\\r\\n\\r\\nread over IMAP\\r\\n')" \
    'assert r == {}, r' || mr_fail "step 3 message: $(cat "$T/py.out")"
RECEIVED=$((RECEIVED + 1)) SMTPD_RECEIVED=$((SMTPD_RECEIVED + 1))
imap_delivered() {  # step 1's delivery and this one
    [ "$(grep -Ec "postfix/virtual\[[0-9]+\]: $QID: to=<postmaster@extmail\.org>, relay=virtual, .*status=sent \(delivered to maildir\)" "$T/maillog")" -ge 2 ]
}
mr_wait_for "the step 3 message is delivered" imap_delivered
DELIVERED=$((DELIVERED + 1))
BEFORE=$(mds_total)
[ "$BEFORE" -gt "$AFTER" ] || mr_fail "maildirsize does not count the delivery ($AFTER -> $BEFORE)"
/usr/bin/python3 - "$PI" "$PW" >"$T/imap.out" 2>&1 <<'PY' || mr_fail "IMAP: $(cat "$T/imap.out")"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=30)
typ, _ = m.login("postmaster@extmail.org", sys.argv[2])
assert typ == "OK", "login"
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = m.fetch("1", "(RFC822)")
assert typ == "OK", (typ, data)
msg = data[0][1]
assert b"Subject: step 3\r\n" in msg and b"\r\n\r\nread over IMAP\r\n" in msg, msg
typ, data = m.store("1", "+FLAGS", "(\\Deleted)")
assert typ == "OK" and b"\\Deleted" in data[0], (typ, data)
typ, data = m.expunge()
assert typ == "OK" and data == [b"1"], (typ, data)
typ, data = m.select("INBOX")
assert typ == "OK" and data == [b"0"], (typ, data)
assert m.logout()[0] == "BYE"
PY
[ -z "$(find "$PMD/new" "$PMD/cur" -type f)" ] || mr_fail "the message is still in the Maildir after EXPUNGE"
AFTER=$(mds_total)
[ "$AFTER" -lt "$BEFORE" ] || mr_fail "maildirsize did not shrink after EXPUNGE ($BEFORE -> $AFTER)"
dl_wait_log "imap-login: Login: user=<postmaster@extmail\.org>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1"

echo "step 4: over quota"
BODY=$(head -c 700 /dev/zero | tr '\0' 'z')
for n in 1 2; do
    smtp_session 127.0.0.1 "r = s.sendmail('$HU@yuliang.com', ['tiny@extmail.org'], b'Subject: quota $n\\r\\n\\r\\n$BODY\\r\\n')" \
        'assert r == {}, r' || mr_fail "step 4 message $n: $(cat "$T/py.out")"
    RECEIVED=$((RECEIVED + 1)) SMTPD_RECEIVED=$((SMTPD_RECEIVED + 1))
    [ $n = 1 ] && dl_wait_log "postfix/virtual\[[0-9]+\]: $QID: to=<tiny@extmail\.org>, relay=virtual, .*status=sent \(delivered to maildir\)"
done
DELIVERED=$((DELIVERED + 1))
dl_wait_log "postfix/virtual\[[0-9]+\]: $QID: to=<tiny@extmail\.org>, relay=virtual, delay=[0-9.]+, delays=[0-9./]+, dsn=5\.2\.2, status=bounced \($MSG\)\$"
BOUNCED=$((BOUNCED + 1))
# The notice (a message of its own) reaches the sender's mbox.
dl_wait_log "postfix/bounce\[[0-9]+\]: $QID: sender non-delivery notification: $QID\$"
dl_wait_log "postfix/local\[[0-9]+\]: $QID: to=<$HU@yuliang\.com>, relay=local, .*status=sent \(delivered to mailbox\)"
DELIVERED=$((DELIVERED + 1))  # a notice is not received: no smtpd or pickup line
# The reason is wrapped at 78 columns in the notice's text.
grep -q "^Subject: Undelivered Mail Returned to Sender" "$T/spool/$HU" &&
    tr '\n' ' ' <"$T/spool/$HU" | tr -s ' ' | grep -qF "$MSG" ||
    mr_fail "the notice in $HU's mbox lacks the quota text"

echo "step 5: the access tables"
expect_reject 127.0.0.4 abc@qq.com "$HU@yuliang.com" 554 "5.7.1 <unknown[127.0.0.4]>: Client host rejected: Access denied"
expect_reject 127.0.0.1 obama@whitehouse.com "$HU@yuliang.com" 554 "5.7.1 <obama@whitehouse.com>: Sender address rejected: Access denied"
expect_reject 127.0.0.1 root@yuliang.com openstack@yuliang.com 554 "5.7.1 <openstack@yuliang.com>: Recipient address rejected: Access denied"

echo "step 6: the maildrop transport"
if [ -n "$MAILDROP" ]; then
    [ -S "$COURIER_SOCK" ] || mr_fail "no authd socket at $COURIER_SOCK"
    smtp_session 127.0.0.1 "r = s.sendmail('root@yuliang.com', ['jerry@magedu.com'], b'Subject: step 6\\r\\n\\r\\nthrough maildrop\\r\\n')" \
        'assert r == {}, r' || mr_fail "step 6: $(cat "$T/py.out")"
    RECEIVED=$((RECEIVED + 1)) SMTPD_RECEIVED=$((SMTPD_RECEIVED + 1))
    dl_wait_log "postfix/pipe\[[0-9]+\]: $QID: to=<jerry@magedu\.com>, relay=maildrop, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered via maildrop service\)\$"
    DELIVERED=$((DELIVERED + 1))
    F=$(find "$MB/magedu.com/jerry/Maildir/new" -type f | head -n 1)
    [ -n "$F" ] && grep -q '^through maildrop' "$F" || mr_fail "maildrop delivered nothing into jerry's Maildir"
else
    echo "step 6: NOT RUN: Debian's maildrop asks authd at $COURIER_SOCK, compiled into libcourierauth; serving that path needs root or a user namespace with a private /run, and this host allows neither"
fi

# A local submission to an unknown local user: local's bounce (counted by
# mailgraph, unlike virtual's), and its notice back to the sender.
printf 'Subject: nobody home\n\nx\n' | dl_send -f "$HU@yuliang.com" no-such-user@yuliang.com || mr_fail "sendmail"
RECEIVED=$((RECEIVED + 1))
dl_wait_log "postfix/local\[[0-9]+\]: $QID: to=<no-such-user@yuliang\.com>, relay=local, .*dsn=5\.1\.1, status=bounced \(unknown user: \"no-such-user\"\)\$"
BOUNCED=$((BOUNCED + 1)) MG_BOUNCED=$((MG_BOUNCED + 1))
notices_delivered() {  # the step 2 message and two notices
    [ "$(grep -Ec "postfix/local\[[0-9]+\]: $QID: to=<$HU@yuliang\.com>, relay=local, .*status=sent" "$T/maillog")" -ge 3 ]
}
mr_wait_for "the unknown-user notice is delivered" notices_delivered
DELIVERED=$((DELIVERED + 1))
mr_wait_for "queue idle" mr_queue_idle

echo "step 7: pflogsumm and mailgraph over the log"
# mailgraph stores a minute once a later minute has an event: wait for the
# clock to pass the minute of the last line, then one more message whose
# events fall after everything counted above.
last_minute() { tail -n 1 "$T/maillog" | awk '{ print $3 }' | cut -d: -f1,2; }
LAST=$(last_minute)
mr_wait=$MR_WAIT; MR_WAIT=75
minute_passed() { [ "$(date +%H:%M)" != "$LAST" ]; }
mr_wait_for "the next minute" minute_passed
MR_WAIT=$mr_wait
smtp_session 127.0.0.1 "r = s.sendmail('root@yuliang.com', ['$HU@yuliang.com'], b'Subject: last\\r\\n\\r\\nlast\\r\\n')" \
    'assert r == {}, r' || mr_fail "last message: $(cat "$T/py.out")"
dl_wait_log "postfix/local\[[0-9]+\]: $QID: to=<$HU@yuliang\.com>, relay=local, .*status=sent \(delivered to mailbox\)"
mr_wait_for "queue idle" mr_queue_idle
# pflogsumm counts the whole log, the last message too.
pflogsumm "$T/maillog" >"$T/pflogsumm" 2>"$T/pflogsumm.err" || mr_fail "pflogsumm: $(cat "$T/pflogsumm.err")"
pf_count() { awk -v what="$1" '$2 == what && $1 ~ /^[0-9]+$/ { print $1; exit }' "$T/pflogsumm"; }
check_pf() {  # what expected
    [ "$(pf_count "$1")" = "$2" ] || mr_fail "pflogsumm $1: $(pf_count "$1"), expected $2: $(sed -n '/Grand Totals/,/^$/p;/^messages/,/^$/p' "$T/pflogsumm")"
}
check_pf received $((RECEIVED + 1))
check_pf delivered $((DELIVERED + 1))
check_pf deferred 0
check_pf bounced "$BOUNCED"
check_pf rejected "$REJECTED"
# mailgraph: its RRD's data sources, with a one-minute archive besides its
# eight-minute ones, so that the minutes of this run can be read back.
mkdir -p "$T/rrd"
START=$(( (T0 / 60 - 5) * 60 ))
rrdtool create "$T/rrd/mailgraph.rrd" --start "$START" --step 60 \
    DS:sent:ABSOLUTE:120:0:U DS:recv:ABSOLUTE:120:0:U DS:bounced:ABSOLUTE:120:0:U DS:rejected:ABSOLUTE:120:0:U \
    RRA:AVERAGE:0.5:1:600 || mr_fail "rrdtool create"
mailgraph --cat --logfile "$T/maillog" --daemon-rrd="$T/rrd" --no-virus-rrd --no-greylist-rrd >"$T/mailgraph.out" 2>&1 ||
    mr_fail "mailgraph: $(cat "$T/mailgraph.out")"
rrdtool fetch "$T/rrd/mailgraph.rrd" AVERAGE -r 60 -s "$START" -e now >"$T/fetch" || mr_fail "rrdtool fetch"
read -r MG_SENT MG_RECV MG_BOUNCE MG_REJ < <(awk '$1 ~ /:$/ { for (i = 2; i <= 5; i++) if ($i != "-nan" && $i != "nan") s[i] += $i * 60 }
    END { printf "%d %d %d %d\n", s[2] + 0.5, s[3] + 0.5, s[4] + 0.5, s[5] + 0.5 }' "$T/fetch")
[ "$MG_SENT $MG_RECV $MG_BOUNCE $MG_REJ" = "$SMTP_SENT $SMTPD_RECEIVED $MG_BOUNCED $REJECTED" ] ||
    mr_fail "mailgraph sent/received/bounced/rejected: $MG_SENT/$MG_RECV/$MG_BOUNCE/$MG_REJ, expected $SMTP_SENT/$SMTPD_RECEIVED/$MG_BOUNCED/$REJECTED: $(grep -v ' -nan' "$T/fetch" | grep -v ' 0.0000000000e+00 0.0000000000e+00 0.0000000000e+00 0.0000000000e+00$')"
echo "pflogsumm: received $((RECEIVED + 1)) delivered $((DELIVERED + 1)) bounced $BOUNCED rejected $REJECTED; mailgraph: sent $MG_SENT received $MG_RECV bounced $MG_BOUNCE rejected $MG_REJ"
[ -n "$MAILDROP" ] || echo "seed_system: ok, without step 6 (no private /run for courier's socket)"
[ -z "$MAILDROP" ] || echo "seed_system: ok"
