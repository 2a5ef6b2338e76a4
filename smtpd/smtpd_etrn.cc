// smtpd_etrn.cc - ETRN; see smtpd_session.h.
#include "smtpd/smtpd_session_impl.h"


#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "lib/config/param_read.h"
#include "lib/ipc/ipc_socket.h"
#include "lib/log/log.h"
#include "lib/submit/trigger.h"
#include "lib/table/maps.h"
#include "lib/util/base64.h"
#include "lib/util/strings.h"
#include "smtpd/smtpd_dns.h"

namespace mailroom::smtpd {

using queue::RecordType;

void Session::cmd_etrn(const Command& cmd) {
    junk();
    auto fail = [&](const Reply& r) {
        count(Verb::kEtrn, false);
        reply_error(r);
    };
    if (!s_.helo_name) return fail(replies::need_helo());
    if (in_transaction()) return fail(replies::auth_in_transaction());
    if (client_reject_) return fail(*client_reject_);
    std::string domain = cmd.argument;
    if (!domain.empty() && !std::isalnum(static_cast<unsigned char>(domain.front()))) domain.erase(0, 1);
    s_.etrn_domain = domain;
    run_check(&Checker::check_etrn, [this, domain](CheckResult r) {
        s_.etrn_domain.reset();
        if (r.rejected()) {
            count(Verb::kEtrn, false);
            reply_error(r.reply);
            return;
        }
        // The deferred mail of the site (lib/submit/flush.h), off the loop.
        busy_ = true;
        std::weak_ptr<int> alive = alive_;
        auto flush = server_.hooks().flush_site;
        server_.run_io<submit::FlushStatus>(
            [flush, domain] { return flush(domain); },
            [this, alive, domain](submit::FlushStatus st) {
                if (alive.expired() || finished_) return;
                busy_ = false;
                std::string shown = log::log_printable(domain.substr(0, 100));
                switch (st) {
                    case submit::FlushStatus::kOk:
                        count(Verb::kEtrn, true);
                        reply(replies::etrn_started());
                        break;
                    case submit::FlushStatus::kDeny:
                        log::warn("reject: ETRN %s... from %s", shown.c_str(), namaddr().c_str());
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_denied(domain));
                        break;
                    case submit::FlushStatus::kBad:
                        log::warn("bad ETRN %s... from %s", shown.c_str(), namaddr().c_str());
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_unavailable());
                        break;
                    case submit::FlushStatus::kFail:
                        log::warn("unable to talk to fast flush service");
                        count(Verb::kEtrn, false);
                        reply_error(replies::etrn_unavailable());
                        break;
                }
                check_error_limit();
                pump();
            });
    });
}

}  // namespace mailroom::smtpd
