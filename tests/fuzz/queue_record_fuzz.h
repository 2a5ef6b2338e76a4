// queue_record_fuzz.h - fuzz target for the typed-record decoder and segment checker.
//
// Summary
//   fuzz_queue_records() runs bytes through decode_record() and
//   SegmentChecker as a queue file, and checks invariants that must hold
//   for every input: decoding never reads past the input, every decoded
//   record re-encodes to exactly the bytes it came from (the size encoding
//   is canonical), and the incremental RecordStreamDecoder, fed in any
//   chunking, accepts exactly what the whole-buffer pass accepts. The replay test in tests/lib/queue runs it over
//   tests/fuzz/queue_record_corpus; built with -DMAILROOM_LIBFUZZER it is
//   also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/queue_record_fuzz.cc lib/queue/record.cc lib/util/strings.cc -o queue_record_fuzz
//   ./queue_record_fuzz -max_len=4096 CORPUS_COPY tests/fuzz/queue_record_corpus
#pragma once

#include <string>
#include <string_view>

namespace mailroom::fuzz {

struct FuzzVerdict {
    bool valid = false;      // the input is a complete, well-formed record sequence
    std::string error;       // why not, when !valid
    std::string broken;      // an invariant violation: a bug, never expected
};

FuzzVerdict fuzz_queue_records(std::string_view bytes);

}  // namespace mailroom::fuzz
