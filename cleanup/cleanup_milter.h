// cleanup_milter.h - non_smtpd_milters: the milters of mail that did not
// come through smtpd (sendmail, pickup), run by cleanup.
//
// Summary
//   A client that sets kCleanupFlagMilters in its request (pickup, unless
//   its receive_override_options has no_milters) gets its message run
//   through non_smtpd_milters before cleanup writes it: CleanupMilter
//   holds the record stream (lib/milter/milter_edit.h: envelope in
//   memory, content in an unlinked spool file), and once the end record
//   is in, sends the milters every event in turn as Postfix does for
//   local mail: connect from localhost (127.0.0.1), HELO localhost, MAIL,
//   each RCPT, DATA, the header, the body and end of message. The edited
//   stream is then fed to the CleanupMessage as if the client had sent
//   it. A reject or tempfail becomes cleanup status 6 or 7 with the
//   milter's text (pickup bounces or retries), DISCARD keeps nothing,
//   quarantine holds the file.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "lib/event/event_loop.h"
#include "lib/milter/milter_list.h"

namespace mailroom::cleanup {

class CleanupMilter {
public:
    using Out = milter::MilterMessage::Out;

    CleanupMilter(event::Loop& loop, std::shared_ptr<const milter::MilterConfig> config, std::string myhostname,
                  std::string queue_id, std::string spool_dir);

    Status add(queue::RecordType type, std::string_view payload) { return msg_.add(type, payload); }
    bool complete() const { return msg_.complete(); }
    // Runs every event; `done` gets the verdict (from the loop).
    void run(std::function<void(milter::Verdict)> done);
    // After a verdict that lets the message through: the edited stream.
    Status replay(const Out& out) { return msg_.replay(out); }
    const std::string& sender() const { return sender_; }
    const std::string& first_recipient() const { return first_rcpt_; }

private:
    std::optional<std::string> macro(std::string_view name) const;
    void step(std::size_t rcpt, std::function<void(milter::Verdict)> done);

    std::shared_ptr<const milter::MilterConfig> config_;
    std::string myhostname_;
    std::string queue_id_;
    milter::MilterMessage msg_;
    std::unique_ptr<milter::MilterList> list_;
    std::string sender_;
    std::string first_rcpt_;
    std::string current_rcpt_;
    std::vector<std::string> rcpts_;
};

}  // namespace mailroom::cleanup
