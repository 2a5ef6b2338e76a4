// smtpd_protocol.h - the SMTP protocol core (lib/smtp) as smtpd sees it.
//
// The command parser, the reply table and the DATA/BDAT decoder live in
// lib/smtp (namespace mailroom::smtp) so that sendmail -bs and an SMTP
// client share them without linking smtpd. smtpd's own code names them
// unqualified (Reply, replies::ok(), parse_command), as one protocol.
#pragma once

#include "lib/smtp/smtp_command.h"
#include "lib/smtp/smtp_data.h"
#include "lib/smtp/smtp_reply.h"

namespace mailroom::smtpd {
using namespace mailroom::smtp;  // NOLINT(google-build-using-namespace)
}  // namespace mailroom::smtpd
