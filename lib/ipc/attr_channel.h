// attr_channel.h - attribute-record I/O on the event loop: the peer side of
// every internal protocol an event-loop process speaks (anvil, the
// delivery agents, cleanup's request).
//
// Summary
//   AttrChannel puts attr.h's records on an event::Channel: send() encodes
//   and queues one record, on_record runs for every record the peer sends,
//   on_close once when the conversation ends (end of input, a socket error,
//   a timeout or a malformed record, with the reason). The protocol
//   announcement is a record like any other (protocol.h:
//   make_announcement(), check_announcement()).
//
//     auto ch = ipc::AttrChannel::create(loop, std::move(fd), {.read_timeout = 10s});
//     ch->on_record([&](ipc::AttrList r) { ... });
//     ch->on_close([&](ipc::AttrChannel::Close kind, const std::string& why) { ... });
//     ch->send(ipc::make_announcement(ipc::kAnvilProtocol));
//
// Description
//   Dropping the AttrChannel is safe also from inside on_record or
//   on_close: no handler runs after that, and the Channel underneath is
//   freed after the callback (event::Channel's deferred delete). Records
//   are bounded by the decoder (kMaxRecordBytes). pause()/resume() stop
//   and restart reading (a peer that does not read its replies is not
//   served more); resume() delivers records already buffered.
//
// Thread safety
//   Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "lib/event/channel.h"
#include "lib/ipc/attr.h"
#include "lib/util/result.h"
#include "lib/util/unique_fd.h"

namespace mailroom::ipc {

class AttrChannel {
public:
    // Why the conversation ended.
    enum class Close { kEof, kError, kTimeout, kMalformed };

    // On a borrowed descriptor (a server::Connection keeps it) or an owned
    // one. nullptr when the channel cannot be made.
    static std::unique_ptr<AttrChannel> create(event::Loop& loop, int fd, event::ChannelOptions options = {});
    static std::unique_ptr<AttrChannel> create(event::Loop& loop, util::UniqueFd fd,
                                               event::ChannelOptions options = {});
    explicit AttrChannel(event::Channel::Ptr channel);
    ~AttrChannel();
    AttrChannel(const AttrChannel&) = delete;
    AttrChannel& operator=(const AttrChannel&) = delete;

    void on_record(std::function<void(AttrList)> handler) { on_record_ = std::move(handler); }
    void on_close(std::function<void(Close, const std::string& reason)> handler) { on_close_ = std::move(handler); }
    // Runs when everything sent has been written.
    void on_drained(std::function<void()> handler);

    // Queues one record; an encoding error is returned (nothing is sent).
    Status send(const AttrList& record);
    std::size_t output_size() const { return channel_->output_size(); }

    void pause() { channel_->pause_reading(); }
    void resume() { channel_->resume_reading(); }
    event::Channel& channel() { return *channel_; }

private:
    void on_input();
    void closed(Close kind, const std::string& reason);

    event::Channel::Ptr channel_;
    AttrDecoder decoder_;
    std::function<void(AttrList)> on_record_;
    std::function<void(Close, const std::string&)> on_close_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool closed_ = false;
};

}  // namespace mailroom::ipc
