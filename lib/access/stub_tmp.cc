// Placeholder bodies; replaced by the implementation.
#include "lib/access/folder_sync.h"
#include "lib/access/mail_store.h"

namespace mailroom::access {
namespace {
Error ni() { return make_error("not implemented yet"); }
}
FolderLock::~FolderLock() = default;
FolderState::~FolderState() = default;
MailFolder::~MailFolder() = default;
std::uint32_t MailFolder::uid_validity() const { return 0; }
std::uint32_t MailFolder::uid_next() const { return 0; }
std::uint64_t MailFolder::highest_modseq() const { return 0; }
std::optional<std::size_t> MailFolder::find_uid(std::uint32_t) const { return std::nullopt; }
std::size_t MailFolder::recent_count() const { return 0; }
std::size_t MailFolder::unseen_count() const { return 0; }
std::optional<std::size_t> MailFolder::first_unseen() const { return std::nullopt; }
std::vector<std::string> MailFolder::keywords() const { return {}; }
std::vector<std::string> MailFolder::keywords_of(const Message&) const { return {}; }
bool MailFolder::can_add_keyword(std::string_view) const { return false; }
Result<std::vector<FolderChange>> MailFolder::sync() { return ni(); }
Result<StoreResult> MailFolder::store(const std::vector<std::uint32_t>&, StoreMode, std::uint8_t,
                                      const std::vector<std::string>&, std::optional<std::uint64_t>) { return ni(); }
Result<std::vector<FolderChange>> MailFolder::expunge(const std::vector<std::uint32_t>*) { return ni(); }
Result<CopyResult> MailFolder::copy_to(std::string_view, const std::vector<std::uint32_t>&, bool) { return ni(); }
Result<util::UniqueFd> MailFolder::open_message(std::uint32_t) { return ni(); }
Result<std::string> MailFolder::read_message(std::uint32_t) { return ni(); }
Result<std::uint64_t> MailFolder::rfc822_size(std::uint32_t) { return ni(); }
std::optional<std::string> MailFolder::cached(std::uint32_t, CacheField) { return std::nullopt; }
void MailFolder::set_cached(std::uint32_t, CacheField, std::string_view) {}
std::vector<std::uint32_t> MailFolder::vanished_since(std::uint64_t, bool* complete) const { *complete = false; return {}; }
Status MailFolder::flush() { return ok_status(); }
MailStore::~MailStore() = default;
Result<std::unique_ptr<MailStore>> MailStore::open(StoreOptions) { return ni(); }
const std::string& MailStore::maildir() const { return ctx_->maildir; }
Status MailStore::ensure_special_folders() { return ni(); }
Result<std::vector<MailboxInfo>> MailStore::list(bool) { return ni(); }
bool MailStore::exists(std::string_view) const { return false; }
std::uint32_t MailStore::special_use_of(std::string_view) { return 0; }
Result<std::vector<std::string>> MailStore::subscriptions() const { return ni(); }
Status MailStore::subscribe(std::string_view) { return ni(); }
Status MailStore::unsubscribe(std::string_view) { return ni(); }
Status MailStore::create(std::string_view) { return ni(); }
Status MailStore::remove(std::string_view) { return ni(); }
Status MailStore::rename(std::string_view, std::string_view) { return ni(); }
Result<MailboxStatus> MailStore::status(std::string_view) { return ni(); }
Result<std::unique_ptr<MailFolder>> MailStore::open_folder(std::string_view, bool) { return ni(); }
Result<AppendResult> MailStore::append(std::string_view, std::string_view, std::uint8_t, const std::vector<std::string>&, std::time_t) { return ni(); }
Result<QuotaInfo> MailStore::quota() { return ni(); }
std::uint8_t flags_from_info(std::string_view, std::uint32_t*, std::string*) { return 0; }
std::string info_from_flags(std::uint8_t, std::uint32_t, std::string_view) { return {}; }
}  // namespace mailroom::access
