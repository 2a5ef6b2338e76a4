// milter_list.h - the milters of one SMTP session (or one local
// submission), driven event by event.
//
// Summary
//   MilterList holds a MilterClient per configured milter and sends each
//   SMTP event to every milter in turn, in the order of smtpd_milters (or
//   non_smtpd_milters): connect(), helo(), mail(), rcpt(), data(),
//   unknown(), then message() for the header, end of header, body and end
//   of message, whose modification replies it applies to the
//   MilterMessage. The first milter that rejects, tempfails or discards
//   decides; the caller gets a Verdict and replies to the SMTP client.
//
// Description
//   A step the milter negotiated away (SMFIP_NO*) is not sent; a step it
//   wants without a reply (SMFIP_NR_*) is sent and not waited for. A
//   milter that accepted the connection (SMFIR_ACCEPT at connect or HELO)
//   gets no more events; one that accepted a message gets no more events
//   of that message; SMFIR_SKIP ends the body for that milter. Each event
//   is preceded by the macros of its stage (the milter's own list from
//   the negotiation, else milter_*_macros) whose values the MacroLookup
//   knows.
//
//   A milter that cannot be reached, times out, breaks the protocol or
//   asks for an action it did not negotiate gets its default_action
//   (milter_default_action): accept drops it for the rest of the session,
//   tempfail and reject answer that event and every later one with
//   "451 4.7.1 Service unavailable - try again later" or "550 5.7.1
//   Command rejected", quarantine puts the message on hold. Each such
//   failure is logged as a warning naming the milter.
//
// Thread safety
//   Loop thread only; callbacks run from the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/event/event_loop.h"
#include "lib/milter/milter_client.h"
#include "lib/milter/milter_config.h"
#include "lib/milter/milter_edit.h"

namespace mailroom::milter {

struct Verdict {
    enum class Kind { kContinue, kReject, kTempfail, kDiscard };
    Kind kind = Kind::kContinue;
    std::string reply;   // reject/tempfail: "550 5.7.1 text"
    std::string milter;  // which milter decided
    bool ok() const { return kind == Kind::kContinue; }
};

// The Postfix reply texts of a bare reject and tempfail.
inline constexpr const char* kRejectReply = "550 5.7.1 Command rejected";
inline constexpr const char* kTempfailReply = "451 4.7.1 Service unavailable - try again later";

// {name} or name -> value; nullopt when the macro has no value now.
using MacroLookup = std::function<std::optional<std::string>(std::string_view name)>;

struct ConnectInfo {
    std::string client_name;  // "unknown" when there is none
    std::string client_addr;  // empty for a local submission
    std::uint16_t client_port = 0;
};

class MilterList {
public:
    using Done = std::function<void(Verdict)>;

    MilterList(event::Loop& loop, std::shared_ptr<const MilterConfig> config, MacroLookup macros);
    ~MilterList();
    MilterList(const MilterList&) = delete;
    MilterList& operator=(const MilterList&) = delete;

    // Connects every milter, negotiates and sends the connect event.
    void connect(const ConnectInfo& info, Done done);
    void helo(const std::string& name, Done done);
    // MAIL FROM / RCPT TO: "<address>" then the ESMTP arguments.
    void mail(std::vector<std::string> args, Done done);
    void rcpt(std::vector<std::string> args, Done done);
    void data(Done done);
    void unknown(const std::string& line, Done done);
    // Header, end of header, body and end of message; applies the edits.
    void message(MilterMessage& msg, Done done);
    // The transaction ended (RSET, a new MAIL, an error): SMFIC_ABORT.
    void abort();
    // The session ended: SMFIC_QUIT.
    void quit();

    bool empty() const { return entries_.empty(); }

    struct Entry;
    struct Run;

private:
    using StepFn = std::function<bool(Entry&, std::string* packets, bool* want_reply, int* timeout_s)>;
    void event(Stage stage, char cmd, std::uint32_t no_flag, std::uint32_t nr_flag, std::string packet, bool in_message,
               Done done);
    void next(std::shared_ptr<Run> run);
    void finish_entry(std::shared_ptr<Run> run, Result<MilterClient::Replies> replies);
    Verdict failure(Entry& e, const std::string& why);
    Verdict default_verdict(Entry& e);
    void hold_for(Entry& e, Run& run);
    std::string macros(Entry& e, Stage stage, char cmd);

    event::Loop& loop_;
    std::shared_ptr<const MilterConfig> config_;
    MacroLookup lookup_;
    std::vector<std::unique_ptr<Entry>> entries_;
    bool in_message_ = false;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mailroom::milter
