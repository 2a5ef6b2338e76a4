// milter_codec.h - the Sendmail milter protocol (version 6, as Postfix
// speaks it): packets, commands, replies and option negotiation.
//
// Summary
//   A pure codec, no I/O. encode_*() build the packets the MTA sends
//   (SMFIC_*), PacketReader cuts a byte stream from a milter into packets,
//   parse_reply() turns one packet into a Reply (SMFIR_*), and
//   parse_optneg() reads the milter's answer to the option negotiation,
//   including the macro lists a version 6 milter asks for (SETSYMLIST).
//
// Description
//   A packet is a 4-byte length in network order (counting the command
//   byte and the data), the command byte, then the data. Strings in the
//   data end in a NUL; integers are 4 bytes in network order. Every
//   reader is bounded: a packet longer than kMaxPacket, a string without
//   its NUL or a short integer is an error, never a read past the end.
//
//   Negotiation: the MTA offers a protocol version, the actions it allows
//   (SMFIF_*) and the protocol steps it can leave out or run without a
//   reply (SMFIP_*); the milter answers with the actions it wants and the
//   steps it does not want (or wants without a reply: the NR_* bits).
//
// Thread safety
//   Functions only; a PacketReader belongs to one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/result.h"

namespace mailroom::milter {

// Commands, MTA -> milter.
inline constexpr char kCmdAbort = 'A';
inline constexpr char kCmdBody = 'B';
inline constexpr char kCmdConnect = 'C';
inline constexpr char kCmdMacro = 'D';
inline constexpr char kCmdBodyEob = 'E';
inline constexpr char kCmdHelo = 'H';
inline constexpr char kCmdQuitNc = 'K';
inline constexpr char kCmdHeader = 'L';
inline constexpr char kCmdMail = 'M';
inline constexpr char kCmdEoh = 'N';
inline constexpr char kCmdOptneg = 'O';
inline constexpr char kCmdQuit = 'Q';
inline constexpr char kCmdRcpt = 'R';
inline constexpr char kCmdData = 'T';
inline constexpr char kCmdUnknown = 'U';

// Replies, milter -> MTA.
inline constexpr char kRepAddRcpt = '+';
inline constexpr char kRepDelRcpt = '-';
inline constexpr char kRepAddRcptPar = '2';
inline constexpr char kRepShutdown = '4';
inline constexpr char kRepAccept = 'a';
inline constexpr char kRepReplBody = 'b';
inline constexpr char kRepContinue = 'c';
inline constexpr char kRepDiscard = 'd';
inline constexpr char kRepChgFrom = 'e';
inline constexpr char kRepConnFail = 'f';
inline constexpr char kRepAddHeader = 'h';
inline constexpr char kRepInsHeader = 'i';
inline constexpr char kRepSetSymList = 'l';
inline constexpr char kRepChgHeader = 'm';
inline constexpr char kRepProgress = 'p';
inline constexpr char kRepQuarantine = 'q';
inline constexpr char kRepReject = 'r';
inline constexpr char kRepSkip = 's';
inline constexpr char kRepTempfail = 't';
inline constexpr char kRepReplyCode = 'y';
inline constexpr char kRepOptneg = 'O';

// Actions (SMFIF_*).
inline constexpr std::uint32_t kActAddHeaders = 0x01;
inline constexpr std::uint32_t kActChangeBody = 0x02;
inline constexpr std::uint32_t kActAddRcpt = 0x04;
inline constexpr std::uint32_t kActDelRcpt = 0x08;
inline constexpr std::uint32_t kActChangeHeaders = 0x10;
inline constexpr std::uint32_t kActQuarantine = 0x20;
inline constexpr std::uint32_t kActChangeFrom = 0x40;
inline constexpr std::uint32_t kActAddRcptPar = 0x80;
inline constexpr std::uint32_t kActSetSymList = 0x100;
inline constexpr std::uint32_t kActAll = 0x1ff;

// Protocol steps (SMFIP_*).
inline constexpr std::uint32_t kProtoNoConnect = 0x1;
inline constexpr std::uint32_t kProtoNoHelo = 0x2;
inline constexpr std::uint32_t kProtoNoMail = 0x4;
inline constexpr std::uint32_t kProtoNoRcpt = 0x8;
inline constexpr std::uint32_t kProtoNoBody = 0x10;
inline constexpr std::uint32_t kProtoNoHeaders = 0x20;
inline constexpr std::uint32_t kProtoNoEoh = 0x40;
inline constexpr std::uint32_t kProtoNrHeader = 0x80;
inline constexpr std::uint32_t kProtoNoUnknown = 0x100;
inline constexpr std::uint32_t kProtoNoData = 0x200;
inline constexpr std::uint32_t kProtoSkip = 0x400;
inline constexpr std::uint32_t kProtoRcptRej = 0x800;
inline constexpr std::uint32_t kProtoNrConnect = 0x1000;
inline constexpr std::uint32_t kProtoNrHelo = 0x2000;
inline constexpr std::uint32_t kProtoNrMail = 0x4000;
inline constexpr std::uint32_t kProtoNrRcpt = 0x8000;
inline constexpr std::uint32_t kProtoNrData = 0x10000;
inline constexpr std::uint32_t kProtoNrUnknown = 0x20000;
inline constexpr std::uint32_t kProtoNrEoh = 0x40000;
inline constexpr std::uint32_t kProtoNrBody = 0x80000;
inline constexpr std::uint32_t kProtoHeaderLeadingSpace = 0x100000;
inline constexpr std::uint32_t kProtoMds256k = 0x10000000;
inline constexpr std::uint32_t kProtoMds1m = 0x20000000;

// The largest packet accepted from a milter (1 MB of body plus room).
inline constexpr std::size_t kMaxPacket = (1u << 20) + 1024;
// Body chunks sent to a milter (MILTER_CHUNK_SIZE).
inline constexpr std::size_t kBodyChunk = 65535;

// The macro stages of SETSYMLIST (SMFIM_*).
enum class Stage : std::uint32_t {
    kConnect = 0,
    kHelo = 1,
    kMail = 2,
    kRcpt = 3,
    kData = 4,
    kEom = 5,
    kEoh = 6,
    kUnknown = 7,  // not a SETSYMLIST stage: milter_unknown_command_macros
};
inline constexpr std::size_t kStages = 8;

struct Packet {
    char command = 0;
    std::string data;
};

// The wire form of one packet.
std::string encode_packet(char command, std::string_view data);

// Builders (each returns the whole packet).
std::string encode_optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol);
// family: '4', '6', 'U' (UNIX socket) or 'U'nknown connections as Postfix
// sends them; port in host order.
std::string encode_connect(std::string_view hostname, char family, std::uint16_t port, std::string_view address);
std::string encode_helo(std::string_view name);
// MAIL/RCPT: the address in <> then each ESMTP argument.
std::string encode_args(char command, const std::vector<std::string>& args);
std::string encode_header(std::string_view name, std::string_view value);
std::string encode_macros(char command, const std::vector<std::pair<std::string, std::string>>& macros);
std::string encode_unknown(std::string_view line);

// Cuts packets out of a byte stream.
class PacketReader {
public:
    void feed(std::string_view bytes) { buffer_.append(bytes); }
    // A packet, nullopt when more bytes are needed, or an error (the stream
    // is then unusable).
    Result<std::optional<Packet>> next();
    std::size_t buffered() const { return buffer_.size() - pos_; }

private:
    std::string buffer_;
    std::size_t pos_ = 0;
};

// What the milter answered to a command or at end of message.
struct Reply {
    char type = 0;               // a kRep* value
    std::string text;            // REPLYCODE: "550 5.7.1 text"; QUARANTINE: reason
    std::string name, value;     // headers; CHGFROM/ADDRCPT_PAR: address and args
    std::uint32_t index = 0;     // INSHEADER, CHGHEADER
    std::string body;            // REPLBODY chunk
};
Result<Reply> parse_reply(const Packet& packet);

// True for replies that end a command (accept, continue, reject, ...);
// false for modification requests and progress at end of message.
bool final_reply(char type);

struct Negotiated {
    std::uint32_t version = 0;
    std::uint32_t actions = 0;
    std::uint32_t protocol = 0;
    // Stages whose macro list the milter set (SMFIR_SETSYMLIST in OPTNEG).
    std::map<Stage, std::string> macros;
};
// The milter's OPTNEG reply, checked against what was offered: a version
// above ours, or actions or steps we did not offer, are errors.
Result<Negotiated> parse_optneg(const Packet& packet, std::uint32_t offered_version, std::uint32_t offered_actions,
                                std::uint32_t offered_protocol);

// The protocol steps the MTA offers for a protocol version (Postfix's
// masks: 2 knows the first seven, 3 adds the unknown command, 4 DATA,
// 6 everything).
std::uint32_t offered_protocol(std::uint32_t version);

// A three-digit reply code and text from REPLYCODE, checked as Postfix
// checks it: 4xx or 5xx, a space or '-' after the code.
bool valid_reply_code(std::string_view text);

}  // namespace mailroom::milter
