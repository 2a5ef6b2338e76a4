// placeholder.cc - temporary bodies for the functions not written yet.
#include "lib/imap/decode.h"
#include "lib/imap/fetch_structure.h"
#include "lib/imap/imap_date.h"
#include "lib/imap/message_part.h"
#include "lib/imap/search.h"
#include "lib/imap/section.h"
#include "lib/imap/sort_thread.h"

namespace mailroom::imap {

bool MessagePart::is_message() const { return false; }
const std::string* MessagePart::param(std::string_view) const { return nullptr; }
ParsedMessage parse_message(std::string_view bytes) {
    ParsedMessage m;
    m.bytes = bytes;
    m.root = std::make_unique<MessagePart>();
    return m;
}
std::uint64_t crlf_size(std::string_view s) { return s.size(); }
std::string to_crlf(std::string_view s) { return std::string(s); }
std::vector<HeaderField> parse_header_fields(std::string_view) { return {}; }
std::optional<std::string> header_value(std::string_view, std::string_view) { return std::nullopt; }
std::vector<std::string> header_values(std::string_view, std::string_view) { return {}; }
Params parse_params(std::string_view) { return {}; }

std::string imap_envelope(std::string_view) { return "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"; }
std::string imap_bodystructure(std::string_view, bool) {
    return "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
}
std::string imap_envelope_of_header(std::string_view h) { return imap_envelope(h); }
std::string imap_bodystructure_of(const ParsedMessage& m, bool e) { return imap_bodystructure(m.bytes, e); }
std::vector<Address> parse_address_list(std::string_view) { return {}; }

std::string Section::to_string() const { return ""; }
std::optional<Section> parse_section(std::string_view) { return Section{}; }
std::optional<Partial> parse_partial(std::string_view) { return std::nullopt; }
std::string apply_partial(std::string_view d, const Partial&) { return std::string(d); }
std::string extract_section(std::string_view m, const Section&) { return std::string(m); }
std::string extract_section_of(const ParsedMessage& m, const Section&) { return std::string(m.bytes); }
BinaryResult extract_binary(std::string_view, const Section&) { return {}; }
BinaryResult extract_binary_of(const ParsedMessage&, const Section&) { return {}; }
const MessagePart* find_part(const ParsedMessage&, const std::vector<std::uint32_t>&) { return nullptr; }

std::string decode_header_value(std::string_view raw) { return std::string(raw); }
std::string decode_base64(std::string_view t) { return std::string(t); }
std::string decode_qp(std::string_view t) { return std::string(t); }
std::string decode_body(std::string_view b, std::string_view, bool* known) {
    if (known) *known = true;
    return std::string(b);
}
std::optional<std::string> to_utf8(std::string_view t, std::string_view) { return std::string(t); }
std::string utf8_or_latin1(std::string_view t) { return std::string(t); }
bool is_valid_utf8(std::string_view) { return true; }
std::string fold_case(std::string_view s) { return std::string(s); }
bool contains_folded(std::string_view h, std::string_view n) { return h.find(n) != std::string_view::npos; }

std::optional<std::int64_t> parse_search_date(std::string_view) { return std::nullopt; }
std::optional<ZonedTime> parse_rfc5322_date(std::string_view) { return std::nullopt; }
std::int64_t day_of(std::int64_t utc, int) { return utc / 86400; }
std::int64_t days_from_civil(int, unsigned, unsigned) { return 0; }

bool SearchKey::needs_bytes() const { return false; }
bool SearchKey::has_modseq() const { return false; }
SearchBuild build_search(const std::vector<SearchArg>&) { return {SearchKey{}, ""}; }
SearchBuild build_search_from(const std::vector<SearchArg>&, std::size_t) { return {SearchKey{}, ""}; }
bool search_charset_supported(std::string_view) { return true; }
struct SearchEvaluator::Cache {};
SearchEvaluator::SearchEvaluator(const SearchKey& program, SearchContext context)
    : program_(program), ctx_(std::move(context)) {}
bool SearchEvaluator::matches(const MessageMeta&, const BytesFn&) { return true; }
bool SearchEvaluator::eval(const SearchKey&, const MessageMeta&, Cache&) { return true; }
bool SearchEvaluator::text_match(const SearchKey&, Cache&) { return true; }
std::vector<std::size_t> search_messages(const SearchKey&, const SearchContext&, const std::vector<MessageMeta>& metas,
                                         const std::function<std::string_view(std::size_t)>&) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < metas.size(); ++i) out.push_back(i);
    return out;
}

BaseSubject base_subject(std::string_view s) { return {std::string(s), false}; }
SortKeys sort_keys_of(std::string_view, const MessageMeta&) { return {}; }
std::optional<std::vector<SortCriterion>> parse_sort_criteria(const SearchArg&) { return std::nullopt; }
std::vector<std::size_t> sort_messages(const std::vector<SortCriterion>&, const std::vector<SortItem>& items) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < items.size(); ++i) out.push_back(i);
    return out;
}
std::optional<ThreadAlgorithm> parse_thread_algorithm(std::string_view) { return std::nullopt; }
std::string thread_messages(ThreadAlgorithm, const std::vector<SortItem>&, bool) { return ""; }

}  // namespace mailroom::imap
