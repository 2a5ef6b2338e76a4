// smtp_reply.h - the SMTP server's replies, with Postfix's exact texts.
//
// Summary
//   A Reply is a code, an optional RFC 3463 enhanced status code and one or
//   more text lines. format() renders it for the wire: "250-" on every line
//   but the last, "250 " on the last, each line ending in CRLF and each
//   carrying the enhanced status code when there is one. The functions in
//   namespace `replies` build every reply the session sends, so that the
//   texts live in one table (the way Postfix's cleanup_strerror.c keeps one
//   status-to-reply table) and tests can check them against Postfix.
//
// Description
//   ehlo_keywords() lists the EHLO extensions in Postfix's order
//   (PIPELINING, SIZE, VRFY, ETRN, STARTTLS, AUTH, AUTH=, ENHANCEDSTATUSCODES,
//   8BITMIME, DSN, SMTPUTF8, CHUNKING), dropping those named in
//   smtpd_discard_ehlo_keywords (case-insensitive; "auth" drops both AUTH
//   lines). ehlo_reply() puts the host name first.
//
// Security
//   Text that may come from a client (an address echoed back) is made
//   printable and each line is cut to keep the reply within RFC 5321's
//   512-byte limit; CR and LF can never reach the wire inside a line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/common_params.h"

namespace mailroom::smtp {

struct Reply {
    int code = 250;
    std::string dsn;                 // "2.1.0"; empty = none
    std::vector<std::string> lines;  // at least one

    // "250-first\r\n250 last\r\n" (with the DSN after each code).
    std::string format() const;
    // The first line without CRLF ("554 5.7.1 <a@b>: ..."), for logging.
    std::string text() const;
    bool temporary() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500; }
};

Reply make_reply(int code, std::string_view dsn, std::string_view text);

// True for an RFC 3463 enhanced status code: class 2, 4 or 5, then two
// dot-separated numbers of one to three digits ("5.7.1").
bool valid_dsn(std::string_view d);
// Parses "554 5.7.1 text" (the DSN part optional) into a Reply; a text
// without a valid 2xx-5xx code becomes "451 4.3.5 Server configuration error".
Reply reply_from_text(std::string_view text);

// Options that decide the EHLO keyword list (main.cf parameter names).
struct EhloOptions {
    std::string myhostname;
    uint64_t message_size_limit = config::message_size_limit_default();  // 0 = no limit ("SIZE" alone)
    bool vrfy = true;                         // !disable_vrfy_command
    bool etrn = true;
    bool starttls = false;                    // TLS offered on this session
    std::vector<std::string> auth_mechanisms;  // empty = no AUTH offered
    bool broken_sasl_auth_clients = false;    // adds "AUTH=..."
    bool dsn = true;
    bool smtputf8 = true;                     // smtputf8_enable
    bool chunking = true;
    std::vector<std::string> discard;         // smtpd_discard_ehlo_keywords
};

std::vector<std::string> ehlo_keywords(const EhloOptions& options);

// Whether smtpd_discard_ehlo_keywords removes `keyword` (case-insensitive).
bool ehlo_discards(const EhloOptions& options, std::string_view keyword);

namespace replies {

Reply greeting(std::string_view banner);             // 220 $smtpd_banner
Reply helo(std::string_view myhostname);             // 250 myhostname
Reply ehlo(const EhloOptions& options);              // 250-myhostname ... 250 LAST
Reply bye();                                         // 221 2.0.0 Bye
Reply ok();                                          // 250 2.0.0 Ok (RSET, NOOP)
Reply mail_ok();                                     // 250 2.1.0 Ok
Reply rcpt_ok();                                     // 250 2.1.5 Ok
Reply data_go_ahead();                               // 354 End data with <CR><LF>.<CR><LF>
Reply queued(std::string_view queue_id);             // 250 2.0.0 Ok: queued as ID
Reply bdat_ok(uint64_t octets);                      // 250 2.0.0 Ok: N bytes
Reply vrfy_ok(std::string_view address);             // 252 2.0.0 address
Reply vrfy_disabled();                               // 502 5.5.1 VRFY command is disabled
Reply need_mail();                                   // 503 5.5.1 Error: need MAIL command
Reply need_rcpt();                                   // 503 5.5.1 Error: need RCPT command
Reply nested_mail();                                 // 503 5.5.1 Error: nested MAIL command
Reply need_helo();                                   // 503 5.5.1 Error: send HELO/EHLO first
Reply no_valid_recipients();                         // 554 5.5.1 Error: no valid recipients
Reply size_exceeded();                               // 552 5.3.4 Message size exceeds fixed limit
Reply insufficient_storage();                        // 452 4.3.1 Insufficient system storage
Reply too_many_recipients();                         // 452 4.5.3 Error: too many recipients
Reply relay_denied(std::string_view recipient, bool temporary);  // 454 4.7.1 / 554 5.7.1
Reply client_rejected(std::string_view client_name, std::string_view client_addr);
Reply sender_rejected(std::string_view sender);      // 554 5.7.1 <a>: Sender address rejected: Access denied
Reply recipient_rejected(std::string_view recipient);
enum class RecipientTable { kLocal, kVirtualMailbox, kVirtualAlias, kRelay };
Reply unknown_user(std::string_view recipient, RecipientTable table);  // 550 5.1.1 ... User unknown in ...
Reply timeout(std::string_view myhostname);          // 421 4.4.2 host Error: timeout exceeded
Reply too_many_errors(std::string_view myhostname);  // 421 4.7.0 host Error: too many errors
Reply bad_syntax();                                  // 500 5.5.2 Error: bad syntax
Reply not_recognized();                              // 502 5.5.2 Error: command not recognized
Reply protocol_sync();                               // 554 5.5.0 Error: SMTP protocol synchronization
Reply server_config_error();                         // 451 4.3.5 Server configuration error
Reply temp_lookup_failure(std::string_view name);    // 451 4.3.0 <name>: Temporary lookup failure
Reply starttls_ready();                              // 220 2.0.0 Ready to start TLS
Reply tls_unavailable();                             // 454 4.7.0 TLS not available due to local problem
Reply tls_already_active();                          // 554 5.5.1 Error: TLS already active
Reply encryption_required();                         // 530 5.7.0 Must issue a STARTTLS command first
Reply auth_ok();                                     // 235 2.7.0 Authentication successful
Reply auth_failed(std::string_view reason);          // 535 5.7.8 Error: authentication failed: reason
Reply auth_already();                                // 503 5.5.1 Error: already authenticated
Reply auth_not_enabled();                            // 503 5.5.1 Error: authentication not enabled
Reply auth_in_transaction();                         // 503 5.5.1 Error: MAIL transaction in progress
Reply auth_needs_encryption();                       // 504 5.5.4 Encryption required for requested authentication mechanism
Reply auth_param_disabled();                         // 503 5.5.4 Error: authentication disabled (MAIL AUTH=)
Reply auth_aborted();                                // 501 5.7.0 Authentication aborted
Reply auth_challenge(std::string_view base64);       // 334 challenge
Reply etrn_started();                                // 250 Queuing started
Reply service_unavailable(std::string_view myhostname);  // 421 4.3.2 host Service currently unavailable
Reply etrn_denied(std::string_view site);           // 459 <site>: service unavailable
Reply etrn_unavailable();                            // 458 Unable to queue messages
Reply not_implemented();                             // 502 5.5.1 Error: command not implemented
Reply dsn_disabled();                                // 501 5.7.1 DSN support is disabled
Reply smtputf8_required();                           // 553 5.6.7 Must declare SMTPUTF8 to send unicode address
Reply bad_utf8();                                    // 500 5.5.2 Error: bad UTF-8 syntax
Reply data_after_bdat();                             // 503 5.5.1 Error: DATA after BDAT
Reply mail_after_bdat();                             // 503 5.5.1 Error: MAIL after BDAT
Reply rcpt_after_bdat();                             // 503 5.5.1 Error: RCPT after BDAT
Reply chunk_too_big();                               // 552 5.3.4 Chunk exceeds message size limit
Reply auth_encryption_required();                    // 504 5.5.4 Encryption required for requested authentication mechanism
Reply auth_temp_failure(std::string_view detail);    // 454 4.7.0 Temporary authentication failure: detail
Reply sasl_response_too_long();                      // 500 5.5.6 SASL response limit exceeded
Reply too_many_connections(std::string_view addr);   // 421 4.7.0 host Error: too many connections from addr
Reply queue_write_error();                           // 451 4.3.0 Error: queue file write error

}  // namespace replies
}  // namespace mailroom::smtp
