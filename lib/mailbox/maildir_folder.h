// maildir_folder.h - Maildir++ folders: naming, creation, listing.
//
// Summary
//   A Maildir++ folder is a Maildir stored as a dot-directory directly under
//   the main Maildir: the IMAP folder "Work.Projects" lives in
//   <maildir>/.Work.Projects/{cur,new,tmp} and carries an empty
//   "maildirfolder" marker file. INBOX is the main Maildir itself.
//
// Description
//   Names use '.' as the hierarchy separator on both sides, as Courier and
//   Dovecot's Maildir++ layout do; the mapping adds or strips the leading dot
//   and maps "INBOX" (any case) to the root. Names reach this code in IMAP's
//   modified UTF-7 and are stored as they are. A name is refused when it is
//   empty, has an empty level ("a..b", ".a", "a."), contains '/', or
//   contains a control character; those would escape the Maildir or collide
//   with "." and "..". The folder "INBOX.x" is an ordinary child of INBOX
//   (directory ".INBOX.x"), as in Dovecot with an empty namespace prefix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/mailbox/maildir.h"
#include "lib/util/result.h"

namespace mailroom::mailbox {

inline constexpr char kFolderSeparator = '.';
inline constexpr const char* kMaildirFolderMarker = "maildirfolder";

// "INBOX" -> "" (the root); "Sent" -> ".Sent"; "Work.Projects" ->
// ".Work.Projects". Invalid names are a permanent error.
Result<std::string> folder_to_maildir_name(std::string_view imap_name);

// The reverse: "" -> "INBOX"; ".Work.Projects" -> "Work.Projects".
Result<std::string> maildir_name_to_folder(std::string_view dir_name);

// The folder's directory: <maildir> for INBOX, else <maildir>/<dir name>.
Result<std::string> folder_path(const std::string& maildir, std::string_view imap_name);

// Creates the folder (cur, new, tmp and the maildirfolder marker) under an
// existing or new main Maildir. Creating an existing folder is not an error;
// its missing parts are added. Parent folders are not required (Maildir++
// allows ".a.b" without ".a").
Status create_folder(const std::string& maildir, std::string_view imap_name, const CreateOptions& options = {});

struct FolderInfo {
    std::string name;      // IMAP name, "Work.Projects"
    std::string dir_name;  // ".Work.Projects"
};

// Lists the folders under `maildir` (directories named ".X" with a cur/
// inside), sorted by name. INBOX is not listed.
Result<std::vector<FolderInfo>> list_folders(const std::string& maildir);

}  // namespace mailroom::mailbox
