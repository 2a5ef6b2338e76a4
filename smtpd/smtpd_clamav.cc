// smtpd_clamav.cc - the built-in virus scan: its parameters, the scanning
// sink and the verdict at end of DATA; see smtpd_clamav.h.
#include "smtpd/smtpd_clamav.h"

#include "lib/config/param_read.h"
#include "lib/util/strings.h"
#include "lib/log/log.h"
#include "smtpd/smtpd_session_impl.h"

namespace mailroom::smtpd {

using queue::RecordType;

Result<ClamavConfig> ClamavConfig::from_config(const config::Config& cfg) {
    ClamavConfig c;
    std::string socket;
    if (auto st = config::read_param(cfg, "smtpd_clamav_socket", &socket); !st) return st.error();
    if (!socket.empty()) {
        auto ep = clamav::parse_endpoint(socket);
        if (!ep) return make_error("smtpd_clamav_socket: " + ep.error().message);
        c.endpoint = *ep;
    }
    std::string action;
    if (auto st = config::read_param(cfg, "smtpd_clamav_action", &action); !st) return st.error();
    action = util::lowercase(action);  // as main.cf validation reads enum values
    if (action == "reject") c.action = Action::kReject;
    else if (action == "hold") c.action = Action::kHold;
    else if (action == "discard") c.action = Action::kDiscard;
    else return make_error("invalid smtpd_clamav_action value: \"" + action + "\"");
    std::string failure;
    if (auto st = config::read_param(cfg, "smtpd_clamav_failure_action", &failure); !st) return st.error();
    failure = util::lowercase(failure);
    if (failure == "tempfail") c.failure = Failure::kTempfail;
    else if (failure == "accept") c.failure = Failure::kAccept;
    else return make_error("invalid smtpd_clamav_failure_action value: \"" + failure + "\"");
    int timeout_s = 30;
    if (auto st = config::read_time_param(cfg, "smtpd_clamav_timeout", &timeout_s); !st) return st.error();
    c.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s) * 1000);
    if (auto st = config::read_param(cfg, "smtpd_clamav_max_length", &c.max_length); !st) return st.error();
    return c;
}

// The cleanup sink, with every content line also streamed to clamd. The
// scan starts with the content (DATA or the first BDAT), so a transaction
// that never gets there costs clamd nothing.
class ClamavSink : public MessageSink {
public:
    ClamavSink(event::Loop& loop, const ClamavConfig& cfg, std::unique_ptr<MessageSink> inner)
        : loop_(loop), cfg_(cfg), inner_(std::move(inner)) {}

    const std::string& queue_id() const override { return inner_->queue_id(); }

    Status send(RecordType type, std::string_view payload) override {
        if (type == RecordType::kContentStart && !scan_) {
            in_content_ = true;
            scan_ = clamav::InstreamScan::start(loop_, *cfg_.endpoint,
                                                {.timeout = cfg_.timeout, .max_length = cfg_.max_length});
            scan_->on_drained([this] { drained(); });
        } else if (type == RecordType::kExtractedStart) {
            in_content_ = false;
        } else if (in_content_ && (type == RecordType::kNormal || type == RecordType::kContinued)) {
            scan_->write(payload);
            size_ += payload.size();
            if (type == RecordType::kNormal) {
                scan_->write("\r\n");
                size_ += 2;
            }
        }
        return inner_->send(type, payload);
    }

    std::size_t unsent() const override { return inner_->unsent() + (scan_ ? scan_->unsent() : 0); }
    void on_drained(std::function<void()> handler) override {
        on_drained_ = std::move(handler);
        inner_->on_drained([this] { drained(); });
    }
    void finish(Finished done) override { inner_->finish(std::move(done)); }
    std::optional<Reply> final_reply() const override { return inner_->final_reply(); }

    // Ends the stream; `done` gets clamd's verdict (or why there is none).
    void verdict(clamav::InstreamScan::Done done) {
        if (!scan_) {
            loop_.defer([done = std::move(done)] { done(make_error("no message content")); });
            return;
        }
        scan_->finish(std::move(done));
    }
    std::uint64_t size() const { return size_; }
    std::uint64_t scanned() const { return scan_ ? scan_->length() : 0; }
    bool truncated() const { return scan_ && scan_->truncated(); }

private:
    void drained() {
        // The session checks unsent() again at its next line.
        if (on_drained_) on_drained_();
    }

    event::Loop& loop_;
    const ClamavConfig& cfg_;
    std::unique_ptr<MessageSink> inner_;
    std::unique_ptr<clamav::InstreamScan> scan_;
    bool in_content_ = false;
    std::uint64_t size_ = 0;
    std::function<void()> on_drained_;
};

std::shared_ptr<MessageSink> Session::clamav_wrap(std::unique_ptr<MessageSink> sink) {
    clamav_.reset();
    if (!cfg_.clamav.endpoint) return std::shared_ptr<MessageSink>(std::move(sink));
    clamav_ = std::make_shared<ClamavSink>(server_.loop(), cfg_.clamav, std::move(sink));
    return clamav_;
}

void Session::clamav_verdict(std::function<void(const Reply&, bool)> done) {
    std::weak_ptr<ClamavSink> weak = clamav_;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    clamav_->verdict([this, alive, weak, done](Result<clamav::Verdict> v) {
        std::shared_ptr<ClamavSink> scan = weak.lock();
        if (alive.expired() || finished_ || !scan) return;
        busy_ = false;
        clamav_.reset();
        const std::string id = s_.queue_id.empty() ? std::string("NOQUEUE") : s_.queue_id;
        const ClamavConfig& cc = cfg_.clamav;
        std::string scanned = "scanned=" + std::to_string(scan->scanned());
        if (scan->truncated()) scanned += " of " + std::to_string(scan->size());
        auto resume = [this] {
            check_error_limit();
            pump();
        };
        if (v && v->kind == clamav::Verdict::Kind::kClean) {
            log::info("%s: clamav: clean, %s", id.c_str(), scanned.c_str());
            return finish_message(done);
        }
        if (v && v->kind == clamav::Verdict::Kind::kInfected) {
            static const char* const kWhat[] = {"clamav-reject", "clamav-hold", "clamav-discard"};
            Reply reject = make_reply(554, "5.7.1", "Virus found: " + v->virus);
            std::string text = cc.action == ClamavConfig::Action::kReject ? reject.text() : "Virus found: " + v->virus;
            std::string line = id + ": " + kWhat[static_cast<int>(cc.action)] + ": END-OF-MESSAGE from " +
                               namaddr() + ": " + text + ";";
            if (std::string suffix = envelope_log_suffix(); !suffix.empty()) line += " " + suffix;
            line += ", " + scanned;
            log::info("%s", log::log_printable(line).c_str());
            switch (cc.action) {
                case ClamavConfig::Action::kReject:
                    abort_message();
                    done(reject, false);
                    return resume();
                case ClamavConfig::Action::kDiscard:
                    abort_message();
                    done(replies::queued(s_.queue_id), true);
                    return resume();
                case ClamavConfig::Action::kHold:
                    if (!s_.effects.hold) {
                        s_.effects.hold = true;
                        s_.effects.hold_reason = "Virus found: " + v->virus;
                    }
                    return finish_message(done);
            }
        }
        // No verdict: clamd down, slow, closing early, or answering ERROR.
        std::string why = v ? v->text : v.error().message;
        bool accept = cc.failure == ClamavConfig::Failure::kAccept;
        log::warn("%s: clamav %s: %s; action=%s, %s", id.c_str(), cc.endpoint->text().c_str(),
                  log::log_printable(why).c_str(), accept ? "accept" : "tempfail", scanned.c_str());
        if (accept) return finish_message(done);
        abort_message();
        done(make_reply(451, "4.3.0", "Error: virus scanner unavailable"), false);
        resume();
    });
}

}  // namespace mailroom::smtpd
