// sendmail_opts.h - the sendmail command line (pure).
//
// Summary
//   parse_sendmail_args() understands the Sendmail options Postfix's
//   sendmail(1) does that matter here: -t (recipients from headers), -i /
//   -oi (a lone "." is not the end), -f / -r sender, -F full name, -N dsn
//   notify, -V envid, -R full|hdrs (DSN RET), -bp (mailq), -bi
//   (newaliases), -bm (the default), -bs (SMTP on standard input and
//   output, sendmail_smtp.h),
//   -q (flush the queue), -C / -c config directory, -v. Options that only
//   tuned Sendmail (-B, -h, -oX, -odX, -U, -L) are accepted and ignored.
//   Anything else, including the -b modes that are not implemented (-bd,
//   -bv, ...), is an error that names the option. Invoked as
//   "mailq" the mode is -bp.
#pragma once

#include <string>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::sendmail {

enum class Mode { kDeliver, kMailq, kNewaliases, kFlush, kSmtp };

struct SendmailOptions {
    Mode mode = Mode::kDeliver;
    bool extract_recipients = false;  // -t
    bool ignore_dots = false;         // -i, -oi
    std::string sender;               // -f/-r; "" = not given
    bool sender_given = false;        // -f "" (null sender) counts
    std::string full_name;            // -F
    std::string dsn_notify;           // -N, normalised ("SUCCESS,FAILURE" / "NEVER")
    std::string envid;                // -V
    std::string dsn_ret;              // -R, normalised ("FULL" / "HDRS"); "" = not given
    std::string config_dir;           // -C / -c
    int verbose = 0;
    std::vector<std::string> recipients;
};

// argv[0] names the program (basename "mailq" selects -bp).
Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& argv);

// "success,delay" -> "SUCCESS,DELAY"; "never" -> "NEVER"; errors for
// anything else, for NEVER combined with others, and for repeats.
Result<std::string> normalize_dsn_notify(std::string_view value);

}  // namespace mailroom::sendmail
