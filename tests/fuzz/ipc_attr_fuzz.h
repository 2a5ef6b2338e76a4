// ipc_attr_fuzz.h - fuzz target for the attribute-record decoder.
//
// Summary
//   fuzz_ipc_attrs() decodes bytes as one attribute record, whole and
//   byte by byte, and checks invariants that must hold for every input: both
//   ways give the same verdict and the same error text, and a record that
//   decodes re-encodes to exactly the input (the format is canonical). The
//   replay test in tests/lib/ipc runs it over tests/fuzz/ipc_attr_corpus;
//   built with -DMAILROOM_LIBFUZZER it is also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/ipc_attr_fuzz.cc lib/ipc/attr.cc lib/log/log.cc lib/util/strings.cc lib/util/fs.cc -o ipc_attr_fuzz
//   ./ipc_attr_fuzz -max_len=4096 CORPUS_COPY tests/fuzz/ipc_attr_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_ipc_attrs(std::string_view bytes);

}  // namespace mailroom::fuzz
