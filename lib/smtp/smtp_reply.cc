// smtp_reply.cc - see smtp_reply.h.
#include "lib/smtp/smtp_reply.h"

#include <cctype>

#include "lib/util/strings.h"

namespace mailroom::smtp {
namespace {

// Room for "NNN-X.Y.Z " and CRLF inside RFC 5321's 512-byte line.
constexpr size_t kMaxLineText = 512 - 2 - 4 - 10;

std::string sanitize_line(std::string_view s) {
    std::string out;
    out.reserve(s.size() < kMaxLineText ? s.size() : kMaxLineText);
    for (char c : s) {
        if (out.size() >= kMaxLineText) break;
        unsigned char u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
    }
    return out;
}

std::string bracket(std::string_view s) { return "<" + std::string(s) + ">"; }

}  // namespace

bool valid_dsn(std::string_view d) {
    // class "." subject "." detail, class 2/4/5, 1-3 and 1-3 digits.
    if (d.size() < 5 || (d[0] != '2' && d[0] != '4' && d[0] != '5') || d[1] != '.') return false;
    size_t i = 2, n = 0;
    while (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i]))) ++i, ++n;
    if (n < 1 || n > 3 || i >= d.size() || d[i] != '.') return false;
    ++i;
    n = 0;
    while (i < d.size() && std::isdigit(static_cast<unsigned char>(d[i]))) ++i, ++n;
    return n >= 1 && n <= 3 && i == d.size();
}

std::string Reply::format() const {
    std::string out;
    std::vector<std::string> ls = lines.empty() ? std::vector<std::string>{""} : lines;
    for (size_t i = 0; i < ls.size(); ++i) {
        out += std::to_string(code);
        out.push_back(i + 1 < ls.size() ? '-' : ' ');
        if (!dsn.empty()) {
            out += dsn;
            out.push_back(' ');
        }
        out += sanitize_line(ls[i]);
        out += "\r\n";
    }
    return out;
}

std::string Reply::text() const {
    std::string out = std::to_string(code) + " ";
    if (!dsn.empty()) out += dsn + " ";
    if (!lines.empty()) out += sanitize_line(lines.front());
    return out;
}

Reply make_reply(int code, std::string_view dsn, std::string_view text) {
    return Reply{code, std::string(dsn), {std::string(text)}};
}

Reply reply_from_text(std::string_view text) {
    if (text.size() < 3 || !std::isdigit(static_cast<unsigned char>(text[0])) ||
        !std::isdigit(static_cast<unsigned char>(text[1])) || !std::isdigit(static_cast<unsigned char>(text[2])) ||
        text[0] < '2' || text[0] > '5' || (text.size() > 3 && text[3] != ' ')) {
        return replies::server_config_error();
    }
    int code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
    std::string_view rest = text.size() > 4 ? text.substr(4) : std::string_view();
    size_t sp = rest.find(' ');
    std::string_view first = rest.substr(0, sp);
    if (valid_dsn(first)) {
        std::string_view after = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        return make_reply(code, first, after);
    }
    return make_reply(code, "", rest);
}

bool ehlo_discards(const EhloOptions& o, std::string_view keyword) {
    for (const auto& d : o.discard) {
        if (util::iequals(d, keyword)) return true;
    }
    return false;
}

std::vector<std::string> ehlo_keywords(const EhloOptions& o) {
    std::vector<std::string> k;
    auto add = [&](std::string_view mask, std::string line) {
        if (!ehlo_discards(o, mask)) k.push_back(std::move(line));
    };
    add("pipelining", "PIPELINING");
    add("size", o.message_size_limit > 0 ? "SIZE " + std::to_string(o.message_size_limit) : "SIZE");
    if (o.vrfy) add("vrfy", "VRFY");
    if (o.etrn) add("etrn", "ETRN");
    if (o.starttls) add("starttls", "STARTTLS");
    if (!o.auth_mechanisms.empty()) {
        std::string mechs = util::join(o.auth_mechanisms, " ");
        add("auth", "AUTH " + mechs);
        if (o.broken_sasl_auth_clients) add("auth", "AUTH=" + mechs);
    }
    add("enhancedstatuscodes", "ENHANCEDSTATUSCODES");
    add("8bitmime", "8BITMIME");
    if (o.dsn) add("dsn", "DSN");
    if (o.smtputf8) add("smtputf8", "SMTPUTF8");
    if (o.chunking) add("chunking", "CHUNKING");
    return k;
}

namespace replies {

Reply greeting(std::string_view banner) { return make_reply(220, "", banner); }
Reply helo(std::string_view myhostname) { return make_reply(250, "", myhostname); }
Reply ehlo(const EhloOptions& options) {
    Reply r{250, "", {options.myhostname}};
    for (auto& k : ehlo_keywords(options)) r.lines.push_back(std::move(k));
    return r;
}
Reply bye() { return make_reply(221, "2.0.0", "Bye"); }
Reply ok() { return make_reply(250, "2.0.0", "Ok"); }
Reply mail_ok() { return make_reply(250, "2.1.0", "Ok"); }
Reply rcpt_ok() { return make_reply(250, "2.1.5", "Ok"); }
Reply data_go_ahead() { return make_reply(354, "", "End data with <CR><LF>.<CR><LF>"); }
Reply queued(std::string_view queue_id) {
    return make_reply(250, "2.0.0", "Ok: queued as " + std::string(queue_id));
}
Reply bdat_ok(uint64_t octets) { return make_reply(250, "2.0.0", "Ok: " + std::to_string(octets) + " bytes"); }
Reply vrfy_ok(std::string_view address) { return make_reply(252, "2.0.0", address); }
Reply vrfy_disabled() { return make_reply(502, "5.5.1", "VRFY command is disabled"); }
Reply need_mail() { return make_reply(503, "5.5.1", "Error: need MAIL command"); }
Reply need_rcpt() { return make_reply(503, "5.5.1", "Error: need RCPT command"); }
Reply nested_mail() { return make_reply(503, "5.5.1", "Error: nested MAIL command"); }
Reply need_helo() { return make_reply(503, "5.5.1", "Error: send HELO/EHLO first"); }
Reply no_valid_recipients() { return make_reply(554, "5.5.1", "Error: no valid recipients"); }
Reply size_exceeded() { return make_reply(552, "5.3.4", "Message size exceeds fixed limit"); }
Reply insufficient_storage() { return make_reply(452, "4.3.1", "Insufficient system storage"); }
Reply too_many_recipients() { return make_reply(452, "4.5.3", "Error: too many recipients"); }
Reply relay_denied(std::string_view recipient, bool temporary) {
    return make_reply(temporary ? 454 : 554, temporary ? "4.7.1" : "5.7.1",
                      bracket(recipient) + ": Relay access denied");
}
Reply client_rejected(std::string_view client_name, std::string_view client_addr) {
    return make_reply(554, "5.7.1",
                      "<" + std::string(client_name) + "[" + std::string(client_addr) +
                          "]>: Client host rejected: Access denied");
}
Reply sender_rejected(std::string_view sender) {
    return make_reply(554, "5.7.1", bracket(sender) + ": Sender address rejected: Access denied");
}
Reply recipient_rejected(std::string_view recipient) {
    return make_reply(554, "5.7.1", bracket(recipient) + ": Recipient address rejected: Access denied");
}
Reply unknown_user(std::string_view recipient, RecipientTable table) {
    const char* which = "local recipient table";
    switch (table) {
    case RecipientTable::kLocal:
        which = "local recipient table";
        break;
    case RecipientTable::kVirtualMailbox:
        which = "virtual mailbox table";
        break;
    case RecipientTable::kVirtualAlias:
        which = "virtual alias table";
        break;
    case RecipientTable::kRelay:
        which = "relay recipient table";
        break;
    }
    return make_reply(550, "5.1.1",
                      bracket(recipient) + ": Recipient address rejected: User unknown in " + which);
}
Reply timeout(std::string_view myhostname) {
    return make_reply(421, "4.4.2", std::string(myhostname) + " Error: timeout exceeded");
}
Reply too_many_errors(std::string_view myhostname) {
    return make_reply(421, "4.7.0", std::string(myhostname) + " Error: too many errors");
}
Reply bad_syntax() { return make_reply(500, "5.5.2", "Error: bad syntax"); }
Reply not_recognized() { return make_reply(502, "5.5.2", "Error: command not recognized"); }
Reply protocol_sync() { return make_reply(554, "5.5.0", "Error: SMTP protocol synchronization"); }
Reply server_config_error() { return make_reply(451, "4.3.5", "Server configuration error"); }
Reply temp_lookup_failure(std::string_view name) {
    return make_reply(451, "4.3.0", bracket(name) + ": Temporary lookup failure");
}
Reply starttls_ready() { return make_reply(220, "2.0.0", "Ready to start TLS"); }
Reply tls_unavailable() { return make_reply(454, "4.7.0", "TLS not available due to local problem"); }
Reply tls_already_active() { return make_reply(554, "5.5.1", "Error: TLS already active"); }
Reply encryption_required() { return make_reply(530, "5.7.0", "Must issue a STARTTLS command first"); }
Reply auth_ok() { return make_reply(235, "2.7.0", "Authentication successful"); }
Reply auth_failed(std::string_view reason) {
    return make_reply(535, "5.7.8", "Error: authentication failed: " + std::string(reason));
}
Reply auth_already() { return make_reply(503, "5.5.1", "Error: already authenticated"); }
Reply auth_not_enabled() { return make_reply(503, "5.5.1", "Error: authentication not enabled"); }
Reply auth_in_transaction() { return make_reply(503, "5.5.1", "Error: MAIL transaction in progress"); }
Reply auth_needs_encryption() {
    return make_reply(504, "5.5.4", "Encryption required for requested authentication mechanism");
}
Reply auth_param_disabled() { return make_reply(503, "5.5.4", "Error: authentication disabled"); }
Reply auth_aborted() { return make_reply(501, "5.7.0", "Authentication aborted"); }
Reply auth_challenge(std::string_view base64) { return make_reply(334, "", base64); }
Reply etrn_started() { return make_reply(250, "", "Queuing started"); }
Reply service_unavailable(std::string_view myhostname) {
    return make_reply(421, "4.3.2", std::string(myhostname) + " Service currently unavailable");
}

Reply etrn_denied(std::string_view site) { return make_reply(459, "", "<" + std::string(site) + ">: service unavailable"); }
Reply etrn_unavailable() { return make_reply(458, "", "Unable to queue messages"); }
Reply not_implemented() { return make_reply(502, "5.5.1", "Error: command not implemented"); }
Reply dsn_disabled() { return make_reply(501, "5.7.1", "DSN support is disabled"); }
Reply smtputf8_required() { return make_reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address"); }
Reply bad_utf8() { return make_reply(500, "5.5.2", "Error: bad UTF-8 syntax"); }
Reply data_after_bdat() { return make_reply(503, "5.5.1", "Error: DATA after BDAT"); }
Reply mail_after_bdat() { return make_reply(503, "5.5.1", "Error: MAIL after BDAT"); }
Reply rcpt_after_bdat() { return make_reply(503, "5.5.1", "Error: RCPT after BDAT"); }
Reply chunk_too_big() { return make_reply(552, "5.3.4", "Chunk exceeds message size limit"); }
Reply auth_encryption_required() {
    return make_reply(504, "5.5.4", "Encryption required for requested authentication mechanism");
}
Reply auth_temp_failure(std::string_view detail) {
    return make_reply(454, "4.7.0", "Temporary authentication failure: " + std::string(detail));
}
Reply sasl_response_too_long() { return make_reply(500, "5.5.6", "SASL response limit exceeded"); }
Reply too_many_connections(std::string_view addr) {
    return make_reply(421, "4.7.0", "Error: too many connections from " + std::string(addr));
}
Reply queue_write_error() { return make_reply(451, "4.3.0", "Error: queue file write error"); }

}  // namespace replies
}  // namespace mailroom::smtp
