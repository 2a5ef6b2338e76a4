// sendmail_smtp.h - sendmail -bs: an SMTP dialogue on standard input and
// output.
//
// Summary
//   SmtpDialogue speaks the server side of SMTP (RFC 5321) over a byte
//   stream, as Postfix's smtpd does in stand-alone mode: the client is
//   "localhost[127.0.0.1]", no access restrictions apply, and each
//   accepted message becomes a cleanup stream handed to a MessageSubmitter
//   (postdrop, in main.cc), exactly like sendmail without -bs. Commands go
//   through the shared parser (lib/smtp/smtp_command.h), replies come from
//   the shared table (lib/smtp/smtp_reply.h), DATA lines through the shared
//   decoder (lib/smtp/smtp_data.h): no second parser.
//
// Description
//   HELO, EHLO (PIPELINING, SIZE, VRFY, ENHANCEDSTATUSCODES, 8BITMIME, DSN,
//   SMTPUTF8), MAIL (SIZE, BODY, RET, ENVID, SMTPUTF8), RCPT (NOTIFY,
//   ORCPT), DATA, RSET, NOOP, VRFY (252, or 502 with
//   disable_vrfy_command), QUIT; anything else is "502 5.5.2 Error: command
//   not recognized". The sender is taken as given. The message starts with
//   sendmail's "Received: by HOST (MAIL_NAME, from userid UID)" header and
//   smtpd's "Received: from HELO (localhost [127.0.0.1]) by HOST
//   (MAIL_NAME) with ESMTP id ID" header; ID is the maildrop file's queue
//   ID, which "250 2.0.0 Ok: queued as ID" names. Commands may be
//   pipelined: feed() answers every complete line it was given.
//
// Security
//   Input is bounded: a command line by line_length_limit (longer ones are
//   "500 5.5.2 Error: line too long" and skipped), a DATA line is cut into
//   pieces of that size, a message by message_size_limit ("552 5.3.4
//   Message size exceeds fixed limit"; nothing is queued), recipients by
//   smtpd_recipient_limit, errors by smtpd_hard_error_limit (421).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/common_params.h"
#include "lib/queue/record_format.h"
#include "lib/util/result.h"
#include "lib/smtp/smtp_command.h"
#include "lib/smtp/smtp_data.h"
#include "lib/smtp/smtp_reply.h"

namespace mailroom::sendmail {

// Where accepted messages go: one cleanup stream per message.
class MessageSubmitter {
public:
    virtual ~MessageSubmitter() = default;
    // Starts a message; returns its queue ID.
    virtual Result<std::string> open() = 0;
    virtual Status write(queue::RecordType type, std::string_view payload) = 0;
    // After the E record: ok once the message is safely queued.
    virtual Status commit() = 0;
    // Drops the message being written (nothing is queued).
    virtual void abort() = 0;
};

struct SmtpOptions {
    std::string myhostname = "localhost";
    std::string mail_name = "mailroom";
    std::string banner;                   // smtpd_banner, expanded
    std::uint64_t message_size_limit = config::message_size_limit_default();  // 0 = none
    smtp::ParseOptions parse;            // line_length_limit, strict_rfc821_envelopes
    bool disable_vrfy_command = false;
    std::size_t recipient_limit = 1000;   // smtpd_recipient_limit
    int hard_error_limit = 20;            // smtpd_hard_error_limit
    long uid = 0;                         // for the "from userid" Received header
};

class SmtpDialogue {
public:
    SmtpDialogue(SmtpOptions options, MessageSubmitter* submitter);
    ~SmtpDialogue();

    // "220 banner\r\n".
    std::string greeting() const;
    // Takes input bytes; returns the replies to what is complete.
    std::string feed(std::string_view bytes);
    // The input ended; returns nothing to send (the client is gone).
    void end_of_input();
    // QUIT was answered, or the error limit was reached.
    bool done() const { return done_; }

private:
    std::string process();
    void command(std::string_view line, std::string* out);
    void data_piece(const smtp::LinePiece& piece, std::string* out);
    void reply(const smtp::Reply& r, std::string* out);
    void error(const smtp::Reply& r, std::string* out);
    void reset();
    Status begin_message();
    Status content(std::string_view text, bool line_end);

    SmtpOptions opt_;
    MessageSubmitter* submitter_;
    std::string input_;
    bool done_ = false;
    int errors_ = 0;
    smtp::CommandLines command_lines_;
    std::string helo_;
    std::string protocol_ = "SMTP";
    bool have_sender_ = false;
    std::string sender_;
    smtp::MailParams mail_;
    struct Rcpt {
        std::string address;
        smtp::RcptParams params;
    };
    std::vector<Rcpt> rcpts_;
    bool in_data_ = false;
    smtp::DataDecoder decoder_;
    std::string queue_id_;
    Status message_status_ = ok_status();
    std::uint64_t size_ = 0;
    bool too_big_ = false;
};

}  // namespace mailroom::sendmail
