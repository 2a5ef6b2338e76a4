// clamd_client.h - scanning a stream with clamd's INSTREAM command, on an
// event loop.
//
// Summary
//   The codec (pure functions): where clamd listens (parse_endpoint:
//   "unix:/run/clamav/clamd.ctl", "inet:127.0.0.1:3310", a bare absolute
//   path), the framing of INSTREAM (each chunk is a 4-byte big-endian
//   length and the bytes; a zero length ends the stream) and the reply
//   ("stream: OK", "stream: NAME FOUND", "... ERROR").
//
//   InstreamScan is one scan on a Loop: start() connects (without
//   blocking the loop) and sends "zINSTREAM\0"; write() takes the data as
//   it arrives and sends it in chunks of at most kChunkSize bytes, so a
//   large message is never held whole; finish() ends the stream and hands
//   `done` the verdict once clamd answers.
//
//     auto scan = clamav::InstreamScan::start(loop, *endpoint, {.timeout = 30s});
//     scan->write(header); scan->write(body);
//     scan->finish([](Result<clamav::Verdict> v) { ... });
//
// Description
//   Only the first max_length bytes are sent (0 = all); truncated() then
//   tells that the rest was not scanned. clamd refuses a stream longer
//   than its StreamMaxLength with "INSTREAM size limit exceeded. ERROR" and
//   closes the connection: that reply (as any reply that arrives early) is
//   kept, later writes are dropped, and finish() reports it as the
//   verdict. An error result means no verdict: connect failure, timeout
//   (connecting, a write clamd does not read, or the wait for the reply),
//   clamd closing without a reply, or a reply that cannot be parsed.
//   Back-pressure: unsent() is what clamd has not read yet; on_drained()
//   runs each time it has read everything, and once when the scan stops
//   sending (a reply, an error), so a writer waiting for room goes on.
//   The `done` callback runs from the loop, once; dropping the scan before
//   (also from inside done) is safe and closes the connection.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/event/channel.h"
#include "lib/event/connector.h"
#include "lib/event/event_loop.h"
#include "lib/util/result.h"

namespace mailroom::clamav {

using Endpoint = event::StreamAddress;

// "unix:PATH", "inet:HOST:PORT" ("inet:[::1]:3310" for IPv6), or an
// absolute path. HOST is a numeric address or "localhost" (127.0.0.1):
// the scan connects from the loop, which must not wait for DNS.
Result<Endpoint> parse_endpoint(std::string_view spec);

// The command that opens a scan (the z form: replies end in a null byte).
inline constexpr std::string_view kInstreamCommand{"zINSTREAM\0", 10};
inline constexpr std::size_t kChunkSize = 64 * 1024;
inline constexpr std::size_t kMaxReply = 1024;  // longer replies are cut

// One INSTREAM chunk: a 4-byte big-endian length, then the bytes.
std::string frame_chunk(std::string_view data);
// The zero-length chunk that ends the stream.
std::string end_of_stream();

struct Verdict {
    enum class Kind { kClean, kInfected, kError };
    Kind kind = Kind::kError;
    std::string virus;  // kInfected: the signature name
    std::string text;   // the reply as clamd sent it (without the terminator)
};

// Parses one reply ("stream: OK", "stream: Eicar-Test-Signature FOUND",
// "INSTREAM size limit exceeded. ERROR"; an optional "N: " session prefix
// is skipped). An error for anything else.
Result<Verdict> parse_reply(std::string_view reply);

struct ScanOptions {
    std::chrono::milliseconds timeout{30000};  // connect, each write, the reply
    std::uint64_t max_length = 0;               // bytes sent at most; 0 = all
};

class InstreamScan {
public:
    using Done = std::function<void(Result<Verdict>)>;

    static std::unique_ptr<InstreamScan> start(event::Loop& loop, const Endpoint& endpoint, ScanOptions options);
    ~InstreamScan();
    InstreamScan(const InstreamScan&) = delete;
    InstreamScan& operator=(const InstreamScan&) = delete;

    void write(std::string_view data);
    // Ends the stream; done gets the verdict (from the loop, never at once).
    void finish(Done done);

    std::size_t unsent() const;
    void on_drained(std::function<void()> handler) { on_drained_ = std::move(handler); }
    std::uint64_t length() const { return sent_; }  // bytes sent for scanning
    bool truncated() const { return truncated_; }
    bool failed() const { return failed_ || have_reply_; }  // nothing more is sent

private:
    InstreamScan(event::Loop& loop, ScanOptions options);
    void connected(util::UniqueFd fd);
    void fail(const std::string& why);
    void flush_chunk();
    void on_event(event::Channel::Event ev, const std::string& reason);
    void read_reply(bool eof);
    void stopped();
    void maybe_done();
    void arm_timer();

    event::Loop& loop_;
    ScanOptions options_;
    std::unique_ptr<event::Connector> connector_;
    event::Timer timer_;
    event::Channel::Ptr channel_;
    std::string pending_;     // bytes not framed yet
    std::string before_;      // framed bytes queued before the connection is up
    std::uint64_t sent_ = 0;  // bytes taken for scanning
    bool truncated_ = false;
    bool finishing_ = false;
    bool failed_ = false;
    std::string error_;
    bool have_reply_ = false;
    std::string reply_;
    Done done_;
    std::function<void()> on_drained_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace mailroom::clamav
