// fetch_structure.h - FETCH ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2).
//
// Summary
//   imap_envelope() gives the parenthesised ENVELOPE list of a message:
//   date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to,
//   message-id. Header values go out as written (encoded words are not
//   decoded), unfolded; subject and display names as Dovecot writes them
//   for people (white space collapsed, a literal when that changed
//   anything or the text holds '"', '\\' or 8-bit bytes), the other
//   fields as nstrings (a literal only for 8-bit text). Address lists are
//   ((name adl mailbox host) ...) with RFC 822 groups as a
//   (NIL NIL "group" NIL) ... (NIL NIL NIL NIL) pair; sender and reply-to
//   default to from, as the RFC requires.
//
//   imap_bodystructure() gives BODYSTRUCTURE (with extension data) or,
//   with extended=false, BODY: for each leaf type, subtype, parameter
//   list, id, description, encoding, size; text/* adds the line count,
//   message/rfc822 adds the nested envelope, body and line count;
//   extension data of a leaf is md5, disposition, language, location; of
//   a multipart the parameter list, disposition, language, location. The
//   output is Dovecot's where RFC 3501 leaves a choice: type, subtype,
//   parameter names and encoding as written, a text part without a charset
//   parameter gets ("charset" "us-ascii") appended, languages are always
//   a list; see docs/imap-message.md.
//
//   The *_of() variants take a parsed message (message_part.h) so a
//   caller that already parsed it does not parse again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/imap/message_part.h"

namespace mailroom::imap {

std::string imap_envelope(std::string_view message);
std::string imap_bodystructure(std::string_view message, bool extended = true);

// The envelope of the message whose header is `header` (the header block only).
std::string imap_envelope_of_header(std::string_view header);
std::string imap_bodystructure_of(const ParsedMessage& msg, bool extended = true);

// One address of an address-list header, as ENVELOPE reads it. A group
// start has only mailbox (the group name) set with is_group_start; a
// group end has everything empty and is_group_end.
struct Address {
    std::optional<std::string> name;   // display name, as written (encoded words kept)
    std::optional<std::string> adl;    // source route ("@a,@b"), rarely present
    std::optional<std::string> mailbox;
    std::optional<std::string> host;
    bool is_group_start = false;
    bool is_group_end = false;
};
// Parses an address-list value (From, To, Cc, ...). Garbage never
// fails the parse: as Dovecot fills them in, a missing local part is
// "MISSING_MAILBOX" and a missing domain "MISSING_DOMAIN" (a nil host
// would read as a group marker).
std::vector<Address> parse_address_list(std::string_view value);

}  // namespace mailroom::imap
