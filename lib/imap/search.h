// search.h - the SEARCH program (RFC 3501 6.4.4, RFC 7162 MODSEQ, RFC 5182 "$").
//
// Summary
//   SearchKey is the AST of a search program: one node per RFC 3501 key
//   (ALL, ANSWERED, BCC, BEFORE, ... UNSEEN), sequence sets (also under
//   UID), NOT, OR, parenthesised lists (kAnd), MODSEQ and "$".
//   build_search() makes the AST from the already-tokenised arguments
//   of SEARCH (after CHARSET, which the caller reads and checks with
//   search_charset_supported()): atoms, strings (quoted or literal) and
//   parenthesised lists, as imapd's command parser produces them.
//
//   SearchEvaluator decides whether one message matches. It takes the
//   message's metadata (MessageMeta) and a lazy accessor for its bytes,
//   called only when a key needs the header or body (BCC, BODY, CC,
//   FROM, HEADER, SENTBEFORE/ON/SINCE, SUBJECT, TEXT, TO) and then at
//   most once per message; flag, size, date and set keys never touch it.
//
// Matching
//   String keys match a substring after decoding and case folding
//   (decode.h): header keys against the RFC 2047-decoded value (address
//   headers: each address's decoded display name and its address);
//   HEADER name "" matches a message that has the field; BODY against
//   the text of every text/* and message/* leaf, transfer-decoded and
//   converted from its charset to UTF-8 (other leaves are matched raw);
//   TEXT against the decoded headers of every part and the body.
//   BEFORE/ON/SINCE compare the day of the internal date, SENT* the day of
//   the Date: header in its own zone (a message without a usable Date:
//   header was sent on 1-Jan-1970, as Dovecot has it). NEW is RECENT and
//   not SEEN; OLD is not RECENT.
//
// Limits
//   The AST is at most kMaxSearchDepth levels deep and kMaxSearchKeys
//   nodes; deeper or bigger programs are refused by build_search().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/imap/sequence_set.h"

namespace mailroom::imap {

inline constexpr int kMaxSearchDepth = 100;
inline constexpr std::size_t kMaxSearchKeys = 10000;

// System flags as bits.
enum : unsigned {
    kFlagSeen = 1u << 0,
    kFlagAnswered = 1u << 1,
    kFlagFlagged = 1u << 2,
    kFlagDeleted = 1u << 3,
    kFlagDraft = 1u << 4,
    kFlagRecent = 1u << 5,
};

// What SEARCH and SORT know about a message without reading it.
struct MessageMeta {
    std::uint32_t seq = 0;
    std::uint32_t uid = 0;
    unsigned flags = 0;                 // kFlag* bits
    std::vector<std::string> keywords;  // as stored; compared case-insensitively
    std::int64_t internal_date = 0;     // UTC seconds
    int internal_tz_min = 0;            // the internal date's zone, minutes east of UTC
    std::uint64_t size = 0;             // RFC822.SIZE
    std::uint64_t modseq = 0;           // CONDSTORE
};

// Tokenised SEARCH (or SORT criteria / THREAD) arguments.
struct SearchArg {
    enum class Kind { kAtom, kString, kList };
    Kind kind = Kind::kAtom;
    std::string text;             // atom or string value
    std::vector<SearchArg> list;  // kList: the list's members

    static SearchArg atom(std::string s) { return {Kind::kAtom, std::move(s), {}}; }
    static SearchArg string(std::string s) { return {Kind::kString, std::move(s), {}}; }
    static SearchArg list_of(std::vector<SearchArg> l) { return {Kind::kList, {}, std::move(l)}; }
};

struct SearchKey {
    enum class Op {
        kAll, kAnswered, kBcc, kBefore, kBody, kCc, kDeleted, kDraft, kFlagged, kFrom,
        kHeader, kKeyword, kLarger, kNew, kNot, kOld, kOn, kOr, kRecent, kSeen,
        kSentBefore, kSentOn, kSentSince, kSince, kSmaller, kSubject, kText, kTo,
        kUid, kUnanswered, kUndeleted, kUndraft, kUnflagged, kUnkeyword, kUnseen,
        kSequence,  // a sequence set (or "$")
        kAnd,       // a parenthesised list, and the top-level program
        kModseq,    // MODSEQ [entry-name entry-type] n
    };
    Op op = Op::kAll;
    std::string header;    // kHeader: field name
    std::string value;     // string argument (kHeader: the value; keyword name)
    std::string folded;    // string keys: value case-folded (decode.h), as matched
    std::int64_t day = 0;  // date keys: days since the epoch
    std::uint64_t number = 0;  // LARGER, SMALLER, MODSEQ
    SequenceSet set;       // kSequence, kUid
    std::vector<SearchKey> children;  // kNot (1), kOr (2), kAnd (n)

    // Whether evaluating this key may need the message bytes.
    bool needs_bytes() const;
    // Whether the program has MODSEQ anywhere (the reply then carries (MODSEQ n)).
    bool has_modseq() const;
};

struct SearchBuild {
    std::optional<SearchKey> key;  // the program (kAnd of the top-level keys)
    std::string error;             // why not, for a BAD reply
};
// From the arguments after "SEARCH" (and after "CHARSET x" if present).
SearchBuild build_search(const std::vector<SearchArg>& args);
// Builds one search key starting at args[*pos]; for SORT/THREAD callers
// that already read their own leading arguments.
SearchBuild build_search_from(const std::vector<SearchArg>& args, std::size_t pos);

// CHARSET names accepted: UTF-8 and US-ASCII (any case), as announced.
bool search_charset_supported(std::string_view charset);

// The mailbox-wide context a program is evaluated in.
struct SearchContext {
    std::uint32_t max_seq = 0;  // "*" in sequence sets
    std::uint32_t max_uid = 0;  // "*" in UID sets
    // The saved result for "$" (RFC 5182), as UIDs; empty when none.
    std::vector<std::uint32_t> saved_uids;
};

// Keeps a reference to `program`, which must outlive the evaluator.
class SearchEvaluator {
public:
    using BytesFn = std::function<std::string_view()>;

    SearchEvaluator(const SearchKey& program, SearchContext context);
    // Whether the message matches. `bytes` is called at most once, and
    // only when a key needs the message text.
    bool matches(const MessageMeta& meta, const BytesFn& bytes);
    // How many messages needed their bytes so far (for tests and stats).
    std::uint64_t bytes_loaded() const { return loaded_; }

private:
    struct Cache;
    bool eval(const SearchKey& k, const MessageMeta& m, Cache& c);
    bool text_match(const SearchKey& k, Cache& c);
    bool note_bytes(const SearchKey& k);  // fills needs_bytes_ for k's subtree
    bool needs_bytes(const SearchKey& k) const { return needs_bytes_.at(&k); }

    const SearchKey& program_;
    SearchContext ctx_;
    std::unordered_map<const SearchKey*, bool> needs_bytes_;  // needs_bytes() of every node, once
    std::uint64_t loaded_ = 0;
};

// Convenience: evaluate over a mailbox. `bytes_of(i)` gives message i's
// bytes (index into metas). Returns the matching indexes, ascending.
std::vector<std::size_t> search_messages(const SearchKey& program, const SearchContext& context,
                                         const std::vector<MessageMeta>& metas,
                                         const std::function<std::string_view(std::size_t)>& bytes_of);

}  // namespace mailroom::imap
