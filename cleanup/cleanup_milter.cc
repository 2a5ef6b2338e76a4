// cleanup_milter.cc - see cleanup_milter.h.
#include "cleanup/cleanup_milter.h"

namespace mailroom::cleanup {

CleanupMilter::CleanupMilter(event::Loop& loop, std::shared_ptr<const milter::MilterConfig> config,
                             std::string myhostname, std::string queue_id, std::string spool_dir)
    : config_(std::move(config)), myhostname_(std::move(myhostname)), queue_id_(std::move(queue_id)),
      msg_(std::move(spool_dir)) {
    list_ = std::make_unique<milter::MilterList>(loop, config_,
                                                 [this](std::string_view name) { return macro(name); });
}

std::optional<std::string> CleanupMilter::macro(std::string_view name) const {
    std::string n(name);
    if (n.size() > 2 && n.front() == '{' && n.back() == '}') n = n.substr(1, n.size() - 2);
    if (n == "j") return myhostname_;
    if (n == "v") return config_->macro_v;
    if (n == "daemon_name") return config_->daemon_name;
    if (n == "_") return std::string("localhost [127.0.0.1]");
    if (n == "client_addr") return std::string("127.0.0.1");
    if (n == "client_name") return std::string("localhost");
    if (n == "i") return queue_id_;
    if (n == "mail_addr") return sender_;
    if (n == "rcpt_addr") return current_rcpt_;
    if (n == "mail_mailer") return std::string("local");
    return std::nullopt;
}

void CleanupMilter::run(std::function<void(milter::Verdict)> done) {
    sender_ = msg_.sender();
    rcpts_ = msg_.recipients();
    if (!rcpts_.empty()) first_rcpt_ = rcpts_.front();
    auto stop = [done](const milter::Verdict& v) {
        if (v.ok()) return false;
        done(v);
        return true;
    };
    list_->connect(milter::ConnectInfo{"localhost", "127.0.0.1", 0}, [this, done, stop](milter::Verdict v) {
        if (stop(v)) return;
        list_->helo("localhost", [this, done, stop](milter::Verdict v) {
            if (stop(v)) return;
            list_->mail({"<" + sender_ + ">"}, [this, done, stop](milter::Verdict v) {
                if (stop(v)) return;
                step(0, done);
            });
        });
    });
}

// RCPT for each recipient, then DATA and the message. A milter's reject of
// one recipient rejects the message (there is nobody to tell).
void CleanupMilter::step(std::size_t rcpt, std::function<void(milter::Verdict)> done) {
    if (rcpt < rcpts_.size()) {
        current_rcpt_ = rcpts_[rcpt];
        list_->rcpt({"<" + current_rcpt_ + ">"}, [this, rcpt, done](milter::Verdict v) {
            if (!v.ok()) return done(v);
            step(rcpt + 1, done);
        });
        return;
    }
    list_->data([this, done](milter::Verdict v) {
        if (!v.ok()) return done(v);
        list_->message(msg_, [this, done](milter::Verdict v) {
            list_->quit();
            done(v);
        });
    });
}

}  // namespace mailroom::cleanup
