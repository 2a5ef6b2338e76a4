// attr_channel.cc - see attr_channel.h.
#include "lib/ipc/attr_channel.h"

namespace mailroom::ipc {

std::unique_ptr<AttrChannel> AttrChannel::create(event::Loop& loop, int fd, event::ChannelOptions options) {
    auto ch = event::Channel::create(loop, fd, options);
    if (!ch) return nullptr;
    return std::make_unique<AttrChannel>(std::move(ch));
}

std::unique_ptr<AttrChannel> AttrChannel::create(event::Loop& loop, util::UniqueFd fd,
                                                 event::ChannelOptions options) {
    auto ch = event::Channel::create(loop, std::move(fd), options);
    if (!ch) return nullptr;
    return std::make_unique<AttrChannel>(std::move(ch));
}

AttrChannel::AttrChannel(event::Channel::Ptr channel) : channel_(std::move(channel)) {
    channel_->on_input([this] { on_input(); });
    channel_->on_event([this](event::Channel::Event ev, const std::string& reason) {
        switch (ev) {
            case event::Channel::Event::kEof: return closed(Close::kEof, reason);
            case event::Channel::Event::kTimeout: return closed(Close::kTimeout, reason);
            default: return closed(Close::kError, reason);
        }
    });
}

AttrChannel::~AttrChannel() = default;

void AttrChannel::on_drained(std::function<void()> handler) { channel_->on_drained(std::move(handler)); }

Status AttrChannel::send(const AttrList& record) {
    auto bytes = encode_record(record);
    if (!bytes) return bytes.error();
    channel_->write(*bytes);
    return ok_status();
}

void AttrChannel::on_input() {
    std::weak_ptr<bool> alive = alive_;
    while (!closed_ && channel_->reading()) {
        // One record at a time: a handler may pause reading or drop us.
        std::string data = channel_->peek(16 * 1024);
        if (data.empty()) return;
        std::size_t used = 0;
        auto step = decoder_.feed(data, &used);
        channel_->consume(used);
        if (step == AttrDecoder::Step::kError) return closed(Close::kMalformed, decoder_.error().message);
        if (step == AttrDecoder::Step::kNeedMore) continue;
        auto handler = on_record_;
        if (handler) handler(decoder_.take());
        if (alive.expired()) return;
    }
}

void AttrChannel::closed(Close kind, const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    channel_->pause_reading();
    auto handler = on_close_;
    if (handler) handler(kind, reason);
}

}  // namespace mailroom::ipc
