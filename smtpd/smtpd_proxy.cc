// smtpd_proxy.cc - the before-queue proxy: its parameters, the ProxySink
// that speaks SMTP to the proxy, and the session's recipient and
// end-of-message steps with it; see smtpd_proxy.h.
#include "smtpd/smtpd_proxy.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "lib/config/param_read.h"
#include "lib/util/strings.h"
#include "lib/log/log.h"
#include "lib/smtp/smtp_client_text.h"
#include "lib/smtp/smtp_command.h"
#include "smtpd/smtpd_session_impl.h"

namespace mailroom::smtpd {

using queue::RecordType;

namespace {
constexpr std::size_t kMaxProxyLine = 4096;
const std::string kNoQueue = "NOQUEUE";
}  // namespace

Result<ProxyConfig> ProxyConfig::from_config(const config::Config& cfg) {
    ProxyConfig c;
    std::string filter;
    if (auto st = config::read_param(cfg, "smtpd_proxy_filter", &filter); !st) return st.error();
    if (!filter.empty()) {
        auto a = event::parse_stream_address(filter, true);
        if (!a) return make_error("smtpd_proxy_filter: " + a.error().message);
        c.address = *a;
    }
    int timeout_s = 100;
    if (auto st = config::read_time_param(cfg, "smtpd_proxy_timeout", &timeout_s); !st) return st.error();
    c.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s) * 1000);
    if (auto st = config::read_param(cfg, "smtpd_proxy_ehlo", &c.ehlo); !st) return st.error();
    if (c.ehlo.empty()) {
        if (auto st = config::read_param(cfg, "myhostname", &c.ehlo); !st) return st.error();
    }
    auto options = cfg.get_list("smtpd_proxy_options");
    if (!options) return options.error();
    for (const auto& o : *options)
        if (!util::iequals(o, "speed_adjust")) return make_error("invalid smtpd_proxy_options value: \"" + o + "\"");
    return c;
}

// One transaction with the proxy. Commands go out one at a time, each after
// the reply to the one before; content between DATA's 354 and the final
// dot goes out as it arrives.
class ProxySink : public MessageSink {
public:
    using ReplyFn = std::function<void(const Reply&)>;

    ProxySink(event::Loop& loop, const ProxyConfig& cfg) : loop_(loop), cfg_(cfg) {}
    ~ProxySink() override {
        if (channel_) loop_.release_later(std::move(channel_));
    }

    // Connects, reads the greeting, says EHLO; then `opened`.
    static void open(event::Loop& loop, const ProxyConfig& cfg, SinkOpened opened) {
        auto sink = std::make_unique<ProxySink>(loop, cfg);
        ProxySink* raw = sink.get();
        raw->opened_ = std::move(opened);
        raw->self_ = std::move(sink);
        raw->connector_ = event::Connector::start(loop, *cfg.address, cfg.timeout, [raw](Result<util::UniqueFd> fd) {
            raw->connector_.reset();
            if (!fd) return raw->open_failed("connect: " + fd.error().message);
            raw->channel_ = event::Channel::create(raw->loop_, std::move(*fd),
                                                   {.max_line = kMaxProxyLine, .write_timeout = raw->cfg_.timeout});
            if (!raw->channel_) return raw->open_failed("out of memory");
            raw->channel_->on_input([raw] { raw->read_replies(); });
            raw->channel_->on_drained([raw] { raw->drained(); });
            raw->channel_->on_event([raw](event::Channel::Event ev, const std::string& why) {
                raw->broken(ev == event::Channel::Event::kTimeout ? "timeout"
                            : ev == event::Channel::Event::kEof  ? "lost connection"
                                                                  : why);
            });
            raw->expect(Kind::kGreeting);
        });
    }

    const std::string& queue_id() const override { return kNoQueue; }

    // MAIL FROM's SIZE= and SMTPUTF8, which the record stream does not carry.
    void set_mail_params(std::optional<std::uint64_t> size, bool smtputf8) {
        size_ = size;
        smtputf8_ = smtputf8;
    }

    Status send(RecordType type, std::string_view payload) override {
        if (dead_) return ok_status();
        switch (type) {
            // MAIL FROM waits for the envelope records that follow the
            // sender (RET, ENVID): it goes at the first recipient.
            case RecordType::kAttribute: note_attribute(payload); break;
            case RecordType::kSender: sender_ = std::string(payload); break;
            case RecordType::kDsnRet: ret_ = std::string(payload); break;
            case RecordType::kDsnEnvid: envid_ = std::string(payload); break;
            case RecordType::kDsnOrcpt: orcpt_ = std::string(payload); break;
            case RecordType::kDsnNotify: notify_ = std::string(payload); break;
            case RecordType::kRecipient: {
                send_mail();
                if (!payload.empty()) payload.remove_prefix(1);  // the pending mark
                rcpt_waiters_.emplace_back();
                std::string cmd = "RCPT TO:<" + std::string(payload) + ">";
                if (announced("DSN")) {
                    if (!notify_.empty()) cmd += " NOTIFY=" + notify_;
                    if (auto semi = orcpt_.find(';'); semi != std::string::npos)
                        cmd += " ORCPT=" + orcpt_.substr(0, semi + 1) + smtp::xtext_encode(orcpt_.substr(semi + 1));
                }
                orcpt_.clear();
                notify_.clear();
                queue(cmd + "\r\n", Kind::kRcpt);
                break;
            }
            case RecordType::kContentStart:
                send_mail();
                queue("DATA\r\n", Kind::kData);
                break;
            case RecordType::kNormal:
            case RecordType::kContinued: {
                std::string line;
                if (line_start_ && !payload.empty() && payload.front() == '.') line = ".";
                line.append(payload);
                line_start_ = type == RecordType::kNormal;
                if (line_start_) line += "\r\n";
                queue(line, Kind::kContent);
                break;
            }
            default: break;  // attributes, DSN records, the end: not for the proxy
        }
        return ok_status();
    }

    std::size_t unsent() const override {
        std::size_t n = 0;
        for (const auto& item : out_) n += item.bytes.size();
        return n + (channel_ ? channel_->output_size() : 0);
    }
    void on_drained(std::function<void()> handler) override { on_drained_ = std::move(handler); }
    void finish(Finished done) override {
        loop_.defer([done = std::move(done)] { done(make_error("a proxied message has no queue file")); });
    }

    // The proxy's reply to DATA (354, or its refusal).
    void data_reply(ReplyFn fn) {
        if (dead_) return later(std::move(fn), failure_);
        data_waiter_ = std::move(fn);
    }
    // The proxy's reply to the recipient sent last.
    void rcpt_reply(ReplyFn fn) {
        if (dead_ || rcpt_waiters_.empty()) return later(std::move(fn), failure_);
        rcpt_waiters_.back() = std::move(fn);
    }
    // Sends the final dot; `fn` gets the proxy's reply to it.
    void end(ReplyFn fn) {
        if (dead_) return later(std::move(fn), failure_);
        if (!line_start_) queue("\r\n", Kind::kContent);
        end_waiter_ = std::move(fn);
        queue(".\r\n", Kind::kDot);
    }
    std::string where() const { return cfg_.address->text(); }

private:
    enum class Kind { kGreeting, kEhlo, kXforward, kMail, kRcpt, kData, kContent, kDot, kQuit };

    bool announced(std::string_view keyword) const { return smtp::find_ehlo_keyword(ehlo_, keyword) != nullptr; }

    // The client facts smtpd writes as envelope attributes, for XFORWARD,
    // and the body type for BODY=.
    void note_attribute(std::string_view payload) {
        auto eq = payload.find('=');
        if (eq == std::string_view::npos) return;
        std::string_view name = payload.substr(0, eq);
        std::string value(payload.substr(eq + 1));
        if (name == queue::kAttrClientName) client_name_ = value;
        else if (name == queue::kAttrClientAddress) client_addr_ = value;
        else if (name == queue::kAttrHeloName) helo_ = value;
        else if (name == queue::kAttrProtocolName) proto_ = value;
        else if (name == queue::kAttrEncoding) body_ = value;
    }

    // XFORWARD (when announced: the attributes the proxy named), then MAIL
    // FROM with the ESMTP parameters the proxy announced, as Postfix.
    void send_mail() {
        if (mail_sent_ || !sender_) return;
        mail_sent_ = true;
        if (const auto* xf = smtp::find_ehlo_keyword(ehlo_, "XFORWARD")) {
            std::string cmd = "XFORWARD";
            auto add = [&](const char* name, const std::string& value) {
                bool wanted = false;
                for (const auto& p : xf->params) wanted = wanted || util::iequals(p, name);
                if (!wanted) return;
                std::string word = std::string(name) + "=" + (value.empty() ? "[UNAVAILABLE]" : smtp::xtext_encode(value));
                // Commands of at most 512 bytes (RFC 5321 4.5.3.1.4).
                if (cmd != "XFORWARD" && cmd.size() + 1 + word.size() + 2 > 512) {
                    queue(cmd + "\r\n", Kind::kXforward);
                    cmd = "XFORWARD";
                }
                cmd += " " + word;
            };
            add("NAME", client_name_ == "unknown" ? std::string() : client_name_);
            add("ADDR", client_addr_);
            add("PROTO", proto_);
            add("HELO", helo_);
            if (cmd != "XFORWARD") queue(cmd + "\r\n", Kind::kXforward);
        }
        std::string cmd = "MAIL FROM:<" + *sender_ + ">";
        if (size_ && announced("SIZE")) cmd += " SIZE=" + std::to_string(*size_);
        if (!body_.empty() && announced("8BITMIME")) cmd += body_ == queue::kEncoding8Bit ? " BODY=8BITMIME" : " BODY=7BIT";
        if (smtputf8_ && announced("SMTPUTF8")) cmd += " SMTPUTF8";
        if (announced("DSN")) {
            if (!ret_.empty()) cmd += " RET=" + ret_;
            if (!envid_.empty()) cmd += " ENVID=" + smtp::xtext_encode(envid_);
        }
        queue(cmd + "\r\n", Kind::kMail);
    }
    struct Item {
        std::string bytes;
        Kind kind;
    };

    void later(ReplyFn fn, Reply r) {
        std::weak_ptr<int> alive = alive_;
        loop_.defer([alive, fn = std::move(fn), r = std::move(r)] {
            if (!alive.expired() && fn) fn(r);
        });
    }

    void queue(std::string bytes, Kind kind) {
        if (kind == Kind::kContent && !out_.empty() && out_.back().kind == Kind::kContent)
            out_.back().bytes += bytes;
        else
            out_.push_back({std::move(bytes), kind});
        pump();
    }

    void pump() {
        while (!waiting_ && !dead_ && channel_ && !out_.empty()) {
            Item item = std::move(out_.front());
            out_.pop_front();
            channel_->write(item.bytes);
            if (item.kind != Kind::kContent) expect(item.kind);
        }
    }

    void expect(Kind kind) {
        waiting_ = true;
        waiting_for_ = kind;
        if (timer_.empty()) timer_ = event::Timer(loop_, [this] { broken("timeout"); });
        timer_.start(cfg_.timeout);
    }

    void drained() {
        // The session checks unsent() again at its next line.
        if (on_drained_) on_drained_();
    }

    void read_replies() {
        event::Channel::Line line;
        while (channel_ && channel_->read_line(&line)) {
            if (!line.complete) return broken("reply line too long");
            auto done = reader_.feed(line.text);
            if (!done) return broken(done.error().message);
            if (!*done) continue;
            if (!waiting_) return broken("unexpected reply");
            waiting_ = false;
            timer_.cancel();
            on_reply(waiting_for_, reader_.take());
            pump();
        }
    }

    void on_reply(Kind kind, const Reply& r) {
        bool ok = r.code >= 200 && r.code < 300;
        switch (kind) {
            case Kind::kGreeting:
                if (!ok) return open_failed("greeting: " + r.text());
                channel_->write("EHLO " + cfg_.ehlo + "\r\n");
                return expect(Kind::kEhlo);
            case Kind::kEhlo: {
                if (!ok) return open_failed("EHLO: " + r.text());
                ehlo_ = smtp::parse_ehlo_keywords(r.lines);
                // From the loop: the session may drop the sink at once.
                timer_.cancel();
                auto box = std::make_shared<std::unique_ptr<ProxySink>>(std::move(self_));
                loop_.defer([opened = std::move(opened_), box] {
                    opened(std::unique_ptr<MessageSink>(std::move(*box)));
                });
                opened_ = nullptr;
                return;
            }
            case Kind::kXforward:
                if (!ok) return broken("XFORWARD: " + r.text());
                return;
            case Kind::kMail:
                if (!ok) return stop(r);
                return;
            case Kind::kRcpt: {
                ReplyFn fn = std::move(rcpt_waiters_.front());
                rcpt_waiters_.pop_front();
                if (fn) later(std::move(fn), r);
                return;
            }
            case Kind::kData: {
                ReplyFn fn = std::move(data_waiter_);
                data_waiter_ = nullptr;
                if (fn) later(std::move(fn), r);
                if (r.code != 354) return stop(r);
                return;
            }
            case Kind::kDot: {
                ReplyFn fn = std::move(end_waiter_);
                end_waiter_ = nullptr;
                channel_->write("QUIT\r\n");
                waiting_ = true;  // the QUIT reply is not waited for
                waiting_for_ = Kind::kQuit;
                dead_ = true;
                failure_ = smtp::replies::queue_write_error();
                if (fn) later(std::move(fn), r);
                return;
            }
            case Kind::kContent:
            case Kind::kQuit: return;
        }
    }

    // The proxy refused the transaction (MAIL, DATA): every later answer
    // the session waits for is this reply.
    void stop(const Reply& r) {
        dead_ = true;
        failure_ = r;
        out_.clear();
        flush_waiters();
        // A session waiting for room goes on (its later lines are dropped).
        std::weak_ptr<int> alive = alive_;
        loop_.defer([this, alive] {
            if (!alive.expired()) drained();
        });
    }

    void broken(const std::string& why) {
        if (opened_) return open_failed(why);
        if (dead_) return;
        log::warn("proxy %s: %s", where().c_str(), log::log_printable(why).c_str());
        timer_.cancel();
        if (channel_) loop_.release_later(std::move(channel_));
        stop(smtp::replies::queue_write_error());
    }

    void flush_waiters() {
        for (auto& fn : rcpt_waiters_)
            if (fn) later(std::move(fn), failure_);
        rcpt_waiters_.clear();
        if (data_waiter_) later(std::move(data_waiter_), failure_);
        data_waiter_ = nullptr;
        if (end_waiter_) later(std::move(end_waiter_), failure_);
        end_waiter_ = nullptr;
    }

    void open_failed(const std::string& why) {
        auto opened = std::move(opened_);
        opened_ = nullptr;
        timer_.cancel();
        std::unique_ptr<ProxySink> self = std::move(self_);
        if (!opened) return;
        std::string text = "proxy " + where() + ": " + why;
        loop_.defer([opened = std::move(opened), text, self = std::shared_ptr<ProxySink>(std::move(self))] {
            opened(make_error(text));
        });
    }

    event::Loop& loop_;
    const ProxyConfig& cfg_;
    std::unique_ptr<ProxySink> self_;  // owned by itself until opened
    SinkOpened opened_;
    std::unique_ptr<event::Connector> connector_;
    event::Channel::Ptr channel_;
    event::Timer timer_;
    smtp::ReplyReader reader_;
    std::deque<Item> out_;
    bool waiting_ = false;
    Kind waiting_for_ = Kind::kGreeting;
    bool line_start_ = true;
    bool dead_ = false;
    Reply failure_ = smtp::replies::queue_write_error();
    std::deque<ReplyFn> rcpt_waiters_;
    ReplyFn data_waiter_;
    ReplyFn end_waiter_;
    std::vector<smtp::EhloKeyword> ehlo_;  // the proxy's EHLO reply
    // The transaction as the record stream tells it.
    std::optional<std::string> sender_;
    bool mail_sent_ = false;
    std::optional<std::uint64_t> size_;
    bool smtputf8_ = false;
    std::string body_, ret_, envid_, orcpt_, notify_;
    std::string client_name_, client_addr_, helo_, proto_;
    std::function<void()> on_drained_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

SinkOpener proxy_sink_opener(event::Loop& loop, const ProxyConfig& cfg) {
    return [&loop, &cfg](SinkOpened opened) { ProxySink::open(loop, cfg, std::move(opened)); };
}

std::shared_ptr<MessageSink> Session::attach_sink(std::unique_ptr<MessageSink> sink) {
    proxy_ = dynamic_cast<ProxySink*>(sink.get());
    if (proxy_) proxy_->set_mail_params(mail_params_.size, s_.smtputf8);
    return clamav_wrap(std::move(sink));
}

void Session::proxy_recipient(const std::string& address) {
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    proxy_->rcpt_reply([this, alive, address](const Reply& r) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        if (r.code >= 200 && r.code < 300) {
            recipients_.push_back(address);
            s_.rcpt_count = static_cast<unsigned>(recipients_.size());
            count(Verb::kRcpt, true);
            reply(r);
        } else {
            count(Verb::kRcpt, false);
            reply_error(r);
        }
        check_error_limit();
        pump();
    });
}

// DATA with a proxy: the client gets 354 only when the proxy gave it; a
// refusal is the reply to DATA and ends the transaction.
void Session::proxy_data(std::function<void()> go_ahead) {
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    proxy_->data_reply([this, alive, go_ahead = std::move(go_ahead)](const Reply& r) {
        if (alive.expired() || finished_) return;
        busy_ = false;
        if (r.code == 354) {
            go_ahead();
        } else {
            std::string line = "NOQUEUE: proxy-reject: DATA: " + r.text() + ";";
            if (std::string suffix = envelope_log_suffix(); !suffix.empty()) line += " " + suffix;
            log::info("%s", log::log_printable(line).c_str());
            count(Verb::kData, false);
            reset_transaction();
            reply_error(r);
        }
        check_error_limit();
        pump();
    });
}

void Session::proxy_finish(std::function<void(const Reply&, bool)> done) {
    finishing_sink_ = std::move(sink_);
    sink_.reset();
    sink_full_ = false;
    busy_ = true;
    std::weak_ptr<int> alive = alive_;
    proxy_->end([this, alive, done](const Reply& r) {
        if (alive.expired() || finished_) return;
        server_.loop().defer([sink = std::move(finishing_sink_)] {});
        finishing_sink_.reset();
        proxy_ = nullptr;
        busy_ = false;
        bool ok = r.code >= 200 && r.code < 300;
        std::string line = "NOQUEUE: " + std::string(ok ? "proxy-accept" : "proxy-reject") +
                           ": END-OF-MESSAGE: " + r.text() + ";";
        if (std::string suffix = envelope_log_suffix(); !suffix.empty()) line += " " + suffix;
        log::info("%s", log::log_printable(line).c_str());
        done(r, ok);
        check_error_limit();
        pump();
    });
}

}  // namespace mailroom::smtpd
