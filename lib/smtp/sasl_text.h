// sasl_text.h - the Cyrus SASL words the SMTP server and client share.
//
// Summary
//   parse_sasl_security_options() reads smtpd_sasl_security_options and
//   smtp_sasl_security_options ("noanonymous, noplaintext") into SASL_SEC_*
//   bits; sasl_status_text() gives a libsasl2 status the words Postfix
//   reports it with.
#pragma once

#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::smtp {

// "noanonymous, noplaintext" -> SASL_SEC_* bits; "" -> 0.
Result<unsigned> parse_sasl_security_options(std::string_view list);

// The words of a Cyrus status, as Postfix reports them.
std::string sasl_status_text(int status);

}  // namespace mailroom::smtp
