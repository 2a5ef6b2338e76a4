// mail_location.h - where a user's mail is: Dovecot's mail_location syntax.
//
// Summary
//   parse_mail_location() turns "maildir:~/Maildir",
//   "maildir:/var/mailbox/%d/%n/Maildir" or
//   "mbox:~/mail:INBOX=/var/mail/%u" into a MailLocation for one user,
//   with Dovecot's variables expanded: %u (the login name), %n (its user
//   part), %d (its domain part), %h (the home directory), %% (a percent
//   sign); a leading "~" or "~/" is the home directory. pop3d and imapd
//   call it after authentication when authd's reply has no MAILDIR=;
//   resolve_maildir() makes a relative MAILDIR= one under the home.
//
// Description
//   Pure: no I/O. An unknown format, an unknown variable, a path that needs
//   a home directory the user has not got, or a result that is not an
//   absolute path is an error naming the setting.
//
// Thread safety
//   Reentrant.
#pragma once

#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::access {

enum class MailFormat { kMaildir, kMbox };

struct MailLocation {
    MailFormat format = MailFormat::kMaildir;
    std::string root;   // the Maildir, or the mbox folder directory
    std::string inbox;  // mbox: the INBOX file (INBOX=); empty for Maildir
};

struct MailUser {
    std::string user;  // the login name ("openstack", "hadoop@yuliang.com")
    std::string home;  // may be empty
};

// Expands %u %n %d %h %% and a leading ~ in `text`.
Result<std::string> expand_mail_variables(std::string_view text, const MailUser& user);

Result<MailLocation> parse_mail_location(std::string_view setting, const MailUser& user);

// authd's MAILDIR= as an absolute path: one not starting with '/' is
// relative to the home directory (courier's rule; "./Maildir" too). An
// error when it is relative and there is no absolute home.
Result<std::string> resolve_maildir(std::string_view maildir, std::string_view home);

}  // namespace mailroom::access
