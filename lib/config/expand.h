// expand.h - $name expansion of parameter values, as Postfix's mac_expand.
//
// Summary
//   expand_value() replaces, recursively:
//     $name  ${name}  $(name)        the value of name ("" when undefined)
//     ${name?value}                  value when $name is non-empty, else ""
//     ${name:value}                  value when $name is empty or undefined
//     ${name?{value1}:{value2}}      value1 when $name is non-empty, else value2
//     ${name?{value}} ${name:{value}} the braced forms of the two above
//     $$                             a single '$'
//   The value parts are themselves expanded. Names are letters, digits and
//   '_' (and '.' or '-' inside braces).
//
// Diagnostics
//   A parameter that refers to itself, directly or through others, is an
//   error naming the chain ("recursive parameter expansion: a -> b -> a").
//   An unbalanced brace or parenthesis is an error naming the value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "lib/util/result.h"

namespace mailroom::config {

// Returns the raw (unexpanded) value of a name, or nullopt when undefined.
using RawLookup = std::function<std::optional<std::string>(std::string_view name)>;

Result<std::string> expand_value(std::string_view value, const RawLookup& lookup);

// Expands the value of parameter `name` (so a self reference is detected).
Result<std::string> expand_param(std::string_view name, const RawLookup& lookup);

}  // namespace mailroom::config
