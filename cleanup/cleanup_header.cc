// cleanup_header.cc - see cleanup_header.h.
#include "cleanup/cleanup_header.h"

#include <array>

#include "lib/submit/address_list.h"
#include "lib/submit/mail_date.h"
#include "lib/util/strings.h"

namespace mailroom::cleanup {


void note_header(std::string_view name, HeaderFlags* flags) {
    if (util::iequals(name, "Message-ID")) flags->message_id = true;
    else if (util::iequals(name, "Date")) flags->date = true;
    else if (util::iequals(name, "From")) flags->from = true;
}

std::string make_message_id(std::time_t when, std::string_view queue_id, std::string_view hostname) {
    struct tm tm {};
    ::gmtime_r(&when, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
    return "<" + std::string(stamp) + "." + std::string(queue_id) + "@" + std::string(hostname) + ">";
}

std::string format_rfc2822_date(std::time_t when) { return submit::mail_date(when); }

std::vector<std::string> missing_headers(const HeaderFlags& flags, const MessageFacts& facts,
                                         std::string* message_id) {
    std::vector<std::string> out;
    if (!flags.message_id) {
        std::string id = make_message_id(facts.arrival, facts.queue_id, facts.myhostname);
        out.push_back("Message-ID: " + id);
        if (message_id) *message_id = id;
    }
    if (!flags.date) out.push_back("Date: " + format_rfc2822_date(facts.arrival));
    if (!flags.from) {
        std::string from = facts.sender.empty() ? submit::qualify_address("MAILER-DAEMON", facts.myorigin)
                                                : facts.sender;
        out.push_back("From: " + from);
    }
    return out;
}

std::string rewrite_header(std::string_view header, std::string_view myorigin) {
    std::string_view name = header_name(header);
    static constexpr std::array<std::string_view, 7> kAddressHeaders = {
        "From", "To", "Cc", "Sender", "Resent-From", "Resent-To", "Resent-Cc"};
    bool wanted = false;
    for (auto h : kAddressHeaders)
        if (util::iequals(name, h)) wanted = true;
    if (!wanted) return std::string(header);
    std::size_t colon = header.find(':');
    return std::string(header.substr(0, colon + 1)) +
           submit::qualify_header_value(header.substr(colon + 1), myorigin);
}

std::string message_id_value(std::string_view header) {
    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) return {};
    std::string v;
    for (char c : header.substr(colon + 1))
        if (c != '\n' && c != '\r') v.push_back(c);
    return std::string(util::trim(v));
}

}  // namespace mailroom::cleanup
