// The built-in functions of the expression language: their typing rules and evaluation.
// Strings are byte strings: len/substr count bytes and upper/lower change ASCII letters only.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>

#include "core/time_zone.hpp"
#include "expr/check.hpp"
#include "tickflow/time.hpp"

namespace tickflow::expr {
namespace {

constexpr int64_t kNanosPerDay = 86400 * kNanosPerSecond;

// The arguments of one call, with the checks every function shares.
struct Call {
  const Ast& ast;
  std::vector<NodePtr>& args;
  TypeErrors& errors;
  // The query's zone (SPEC §17); nullptr for UTC. Calendar functions read local time.
  const date::time_zone* zone;

  Type type(size_t i) const { return args[i]->type(); }
  NodePtr take(size_t i) { return std::move(args[i]); }
  // Reports "name() needs <expected> as argument i+1, found <type>"; returns false.
  bool reject(size_t i, std::string_view expected) {
    const Ast& arg = *ast.children[i];
    std::string position = args.size() > 1 ? " as argument " + std::to_string(i + 1) : "";
    errors.error(arg.start, 1,
                 ast.text + "() needs " + std::string(expected) + position + ", found " +
                     std::string(type_name(type(i))));
    return false;
  }
  bool want(size_t i, Type t) { return type(i) == t || reject(i, type_name(t)); }
  bool want_number(size_t i) { return is_number(type(i)) || reject(i, "a number"); }
};

struct FunctionSpec {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  std::string_view signature;  // shown when the argument count is wrong
  NodePtr (*build)(Call&);
};

// ------------------------------------------------------------ math

template <class F>
NodePtr math1(Call& c, F f) {
  if (!c.want_number(0)) return nullptr;
  if (c.type(0) == Type::Int) {
    return map1<double, int64_t>(Type::Double, c.take(0),
                                 [f](int64_t v) { return f(static_cast<double>(v)); });
  }
  return map1<double, double>(Type::Double, c.take(0), f);
}

NodePtr build_abs(Call& c) {
  const Type t = c.type(0);
  if (t == Type::Double)
    return map1<double, double>(t, c.take(0), [](double v) { return std::fabs(v); });
  if (t == Type::Int || t == Type::Duration) {
    // Wraps like every int operation: abs(INT64_MIN) is INT64_MIN.
    return map1<int64_t, int64_t>(t, c.take(0), [](int64_t v) {
      return v < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(v)) : v;
    });
  }
  c.reject(0, "a number or a duration");
  return nullptr;
}

NodePtr build_pow(Call& c) {
  bool ok = c.want_number(0);
  ok = c.want_number(1) && ok;
  if (!ok) return nullptr;
  NodePtr a = promote_to_double(c.take(0));
  NodePtr b = promote_to_double(c.take(1));
  return map2<double, double, double>(Type::Double, std::move(a), std::move(b),
                                      [](double x, double y) { return std::pow(x, y); });
}

template <class F>
NodePtr floor_or_ceil(Call& c, F f) {
  if (!c.want_number(0)) return nullptr;
  if (c.type(0) == Type::Int) return c.take(0);  // already whole
  return map1<double, double>(Type::Double, c.take(0), f);
}

int64_t power_of_ten(int64_t exponent) {
  int64_t p = 1;
  for (int64_t i = 0; i < exponent && p <= std::numeric_limits<int64_t>::max() / 10; ++i) p *= 10;
  return p;
}

NodePtr build_round(Call& c) {
  if (!c.want_number(0)) return nullptr;
  if (c.args.size() == 2 && !c.want(1, Type::Int)) return nullptr;
  if (c.type(0) == Type::Int) {
    if (c.args.size() == 1) return c.take(0);
    // Negative digits round to tens, hundreds, ...: round(1250, -2) = 1300.
    return map2<int64_t, int64_t, int64_t>(
        Type::Int, c.take(0), c.take(1), [](int64_t x, int64_t d) {
          if (d >= 0) return x;
          if (d < -18) return int64_t{0};
          const int64_t p = power_of_ten(-d);
          int64_t q = x / p, r = x % p;
          if (r >= 0 ? r >= p - r : -r >= p + r) q += x < 0 ? -1 : 1;
          return static_cast<int64_t>(static_cast<uint64_t>(q) * static_cast<uint64_t>(p));
        });
  }
  // std::round rounds half away from zero.
  if (c.args.size() == 1)
    return map1<double, double>(Type::Double, c.take(0), [](double v) { return std::round(v); });
  return map2<double, double, int64_t>(Type::Double, c.take(0), c.take(1), [](double x, int64_t d) {
    const double scale = std::pow(10.0, static_cast<double>(d));
    const double scaled = x * scale;
    if (!std::isfinite(scaled) || scale == 0) return x;
    return std::round(scaled) / scale;
  });
}

NodePtr build_min_max(Call& c, bool is_max) {
  bool all_numbers = true, any_double = false;
  for (size_t i = 0; i < c.args.size(); ++i) {
    all_numbers &= is_number(c.type(i));
    any_double |= c.type(i) == Type::Double;
  }
  if (all_numbers) {
    if (any_double) {
      for (auto& a : c.args) a = promote_to_double(std::move(a));
    }
    return make_min_max(std::move(c.args), is_max);
  }
  const Type first = c.type(0);
  if (first == Type::Bool) return c.reject(0, "numbers, strings, times or durations"), nullptr;
  bool ok = true;
  for (size_t i = 1; i < c.args.size(); ++i) {
    if (c.type(i) != first) ok = c.reject(i, std::string(type_name(first)) + " like argument 1");
  }
  return ok ? make_min_max(std::move(c.args), is_max) : nullptr;
}

NodePtr build_isnan(Call& c) {
  if (!c.want_number(0)) return nullptr;
  if (c.type(0) == Type::Int)
    return map1<uint8_t, int64_t>(Type::Bool, c.take(0), [](int64_t) { return false; });
  return map1<uint8_t, double>(Type::Bool, c.take(0), [](double v) { return std::isnan(v); });
}

NodePtr build_if(Call& c) {
  bool ok = c.want(0, Type::Bool);
  const Type a = c.type(1), b = c.type(2);
  if (is_number(a) && is_number(b) && a != b) {
    c.args[1] = promote_to_double(c.take(1));
    c.args[2] = promote_to_double(c.take(2));
  } else if (a != b) {
    ok = c.reject(2, std::string(type_name(a)) + " like argument 2");
  }
  return ok ? make_if(c.take(0), c.take(1), c.take(2)) : nullptr;
}

// ------------------------------------------------------------ conversions

// The double's value truncated toward zero, saturating at the int range; NaN gives 0.
int64_t double_to_int(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (v <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_int_text(int64_t& out, const std::string& text) {
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

bool parse_double_text(double& out, const std::string& text) {
  std::string_view s = trim(text);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

NodePtr build_int(Call& c) {
  switch (c.type(0)) {
    case Type::Int:
      return c.take(0);
    case Type::Double:
      return map1<int64_t, double>(Type::Int, c.take(0), double_to_int);
    case Type::Bool:
      return map1<int64_t, uint8_t>(Type::Int, c.take(0), [](uint8_t v) { return int64_t{v}; });
    case Type::String:
      return try_map<int64_t, std::string>(
          Type::Int, parse_int_text,
          [](const std::string& s) { return "int(): " + quoted(s) + " is not an integer"; },
          c.take(0));
    default:  // time and duration: their nanoseconds
      return map1<int64_t, int64_t>(Type::Int, c.take(0), [](int64_t v) { return v; });
  }
}

NodePtr build_double(Call& c) {
  switch (c.type(0)) {
    case Type::Double:
      return c.take(0);
    case Type::Bool:
      return map1<double, uint8_t>(Type::Double, c.take(0), [](uint8_t v) { return double(v); });
    case Type::String:
      return try_map<double, std::string>(
          Type::Double, parse_double_text,
          [](const std::string& s) { return "double(): " + quoted(s) + " is not a number"; },
          c.take(0));
    default:  // int; time and duration give their nanoseconds
      return map1<double, int64_t>(Type::Double, c.take(0), [](int64_t v) { return double(v); });
  }
}

NodePtr build_string(Call& c) {
  NodePtr a = c.take(0);
  switch (a->type()) {
    case Type::String:
      return a;
    case Type::Int:
      return map1<std::string, int64_t>(Type::String, std::move(a),
                                        [](int64_t v) { return std::to_string(v); });
    case Type::Double:
      // The same text as CSV output: shortest round-trip form, nan, inf, -inf.
      return map1<std::string, double>(Type::String, std::move(a), [](double v) {
        return std::isnan(v) ? std::string("nan") : fmt::format("{}", v);
      });
    case Type::Bool:
      return map1<std::string, uint8_t>(
          Type::String, std::move(a), [](uint8_t v) { return std::string(v ? "true" : "false"); });
    case Type::Time:
      return map1<std::string, int64_t>(Type::String, std::move(a),
                                        [](int64_t v) { return format_time(v); });
    case Type::Duration:
      return map1<std::string, int64_t>(Type::String, std::move(a), format_duration);
  }
  return nullptr;
}

NodePtr build_time(Call& c) {
  switch (c.type(0)) {
    case Type::Time:
      return c.take(0);
    case Type::Int:
      return map1<int64_t, int64_t>(Type::Time, c.take(0), [](int64_t v) { return v; });
    case Type::String: {
      // A time written without an offset is wall-clock time in the query's zone.
      const date::time_zone* zone = c.zone;
      return try_map<int64_t, std::string>(
          Type::Time,
          [zone](int64_t& out, const std::string& s) {
            auto t = parse_time_in_zone(s, zone);
            if (t) out = *t;
            return t.has_value();
          },
          [](const std::string& s) {
            const std::string hint = time_range_hint(s);
            return "time(): " + quoted(s) + " is not a time" +
                   (hint.empty() ? " (expected e.g. '2024-01-02 09:30:00')" : hint);
          },
          c.take(0));
    }
    default:
      c.reject(0, "a string, an int (nanoseconds) or a time");
      return nullptr;
  }
}

NodePtr build_duration(Call& c) {
  switch (c.type(0)) {
    case Type::Duration:
      return c.take(0);
    case Type::Int:
      return map1<int64_t, int64_t>(Type::Duration, c.take(0), [](int64_t v) { return v; });
    case Type::String:
      return try_map<int64_t, std::string>(
          Type::Duration,
          [](int64_t& out, const std::string& s) {
            auto d = parse_duration(trim(s));
            if (d) out = *d;
            return d.has_value();
          },
          [](const std::string& s) {
            return "duration(): " + quoted(s) + " is not a duration (expected e.g. '250ms')";
          },
          c.take(0));
    default:
      c.reject(0, "a string, an int (nanoseconds) or a duration");
      return nullptr;
  }
}

// ------------------------------------------------------------ strings

char ascii_upper(char ch) {
  return ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch;
}
char ascii_lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch;
}

NodePtr build_len(Call& c) {
  if (!c.want(0, Type::String)) return nullptr;
  return map1<int64_t, std::string>(
      Type::Int, c.take(0), [](const std::string& s) { return static_cast<int64_t>(s.size()); });
}

template <char (*Convert)(char)>
NodePtr change_case(Call& c) {
  if (!c.want(0, Type::String)) return nullptr;
  return map1<std::string, std::string>(Type::String, c.take(0), [](const std::string& s) {
    std::string out(s);
    for (char& ch : out) ch = Convert(ch);
    return out;
  });
}

// substr(s, start[, n]): 0-based; a negative start counts from the end; the range is
// clipped to the string, so no combination of arguments is an error.
std::string substring(const std::string& s, int64_t start, int64_t count) {
  const int64_t size = static_cast<int64_t>(s.size());
  if (start < 0) start = std::max<int64_t>(0, size + start);
  if (start >= size || count <= 0) return {};
  return s.substr(static_cast<size_t>(start), static_cast<size_t>(std::min(count, size - start)));
}

NodePtr build_substr(Call& c) {
  bool ok = c.want(0, Type::String);
  ok = c.want(1, Type::Int) && ok;
  if (c.args.size() == 3) ok = c.want(2, Type::Int) && ok;
  if (!ok) return nullptr;
  if (c.args.size() == 2) {
    return map2<std::string, std::string, int64_t>(
        Type::String, c.take(0), c.take(1), [](const std::string& s, int64_t start) {
          return substring(s, start, std::numeric_limits<int64_t>::max());
        });
  }
  // TryMapNode is the one node of any arity; this use of it never fails.
  auto always = [](std::string& out, const std::string& s, int64_t start, int64_t n) {
    out = substring(s, start, n);
    return true;
  };
  auto never = [](const std::string&, int64_t, int64_t) { return std::string(); };
  return try_map<std::string, std::string, int64_t, int64_t>(Type::String, always, never, c.take(0),
                                                             c.take(1), c.take(2));
}

template <bool (*Test)(const std::string&, const std::string&)>
NodePtr string_test(Call& c) {
  bool ok = c.want(0, Type::String);
  ok = c.want(1, Type::String) && ok;
  if (!ok) return nullptr;
  return map2<uint8_t, std::string, std::string>(Type::Bool, c.take(0), c.take(1), Test);
}

bool contains(const std::string& s, const std::string& t) {
  return s.find(t) != std::string::npos;
}
bool starts_with(const std::string& s, const std::string& t) {
  return s.starts_with(t);
}
bool ends_with(const std::string& s, const std::string& t) {
  return s.ends_with(t);
}

// ------------------------------------------------------------ time

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

enum class TimePart { Year, Month, Day, Hour, Minute, Second };

constexpr int64_t kSecondsPerDay = 86400;

// Seconds since the epoch of `t`'s wall-clock time in `zone` (UTC when null). Whole
// seconds cannot overflow: the offset is at most a day and int64 nanoseconds span only
// ±292 years of seconds.
int64_t local_seconds_of(int64_t t, const date::time_zone* zone) {
  const int64_t seconds = floor_div(t, kNanosPerSecond);
  return zone ? seconds + utc_offset_seconds(*zone, seconds) : seconds;
}

// The UTC instant in nanoseconds of local second `local_seconds`, or false when it does
// not fit int64 nanoseconds.
bool local_seconds_to_time(int64_t local_seconds, const date::time_zone* zone, int64_t& out) {
  const int64_t seconds = zone ? local_to_utc_seconds(*zone, local_seconds) : local_seconds;
  return !__builtin_mul_overflow(seconds, kNanosPerSecond, &out);
}

template <TimePart Part>
NodePtr time_part(Call& c) {
  if (!c.want(0, Type::Time)) return nullptr;
  const date::time_zone* zone = c.zone;
  return map1<int64_t, int64_t>(Type::Int, c.take(0), [zone](int64_t t) -> int64_t {
    const int64_t local = local_seconds_of(t, zone);
    const int64_t days = floor_div(local, kSecondsPerDay);
    const int64_t seconds_of_day = local - days * kSecondsPerDay;
    if constexpr (Part == TimePart::Hour) return seconds_of_day / 3600;
    if constexpr (Part == TimePart::Minute) return seconds_of_day / 60 % 60;
    if constexpr (Part == TimePart::Second) return seconds_of_day % 60;
    int64_t year;
    unsigned month, day;
    civil_from_days(days, year, month, day);
    if constexpr (Part == TimePart::Year) return year;
    if constexpr (Part == TimePart::Month) return month;
    return day;
  });
}

// The start of `t`'s local day: local midnight, or where a DST gap that swallows
// midnight ends.
bool local_midnight(int64_t t, const date::time_zone* zone, int64_t& out) {
  const int64_t day = floor_div(local_seconds_of(t, zone), kSecondsPerDay);
  return local_seconds_to_time(day * kSecondsPerDay, zone, out);
}

NodePtr build_date(Call& c) {
  if (!c.want(0, Type::Time)) return nullptr;
  const date::time_zone* zone = c.zone;
  // Only the first day before 1677-09-22 has a midnight int64 nanoseconds cannot hold.
  return try_map<int64_t, int64_t>(
      Type::Time, [zone](int64_t& out, int64_t t) { return local_midnight(t, zone, out); },
      [](int64_t t) {
        return "date(" + format_time(t) + "): its midnight is before 1677-09-21, the earliest time";
      },
      c.take(0));
}

// floor_time in a zone: a duration of a day or more floors the local wall-clock time
// (whole local days for 1d, counted from 1970-01-01 local), then maps it back to UTC;
// shorter durations floor the UTC instant, so 1h bins stay 60 minutes long at DST
// changes (zones with whole-hour offsets give the same bins either way).
bool floor_time_in_zone(int64_t t, int64_t d, const date::time_zone* zone, int64_t& out) {
  if (d <= 0) return false;
  if (!zone || d < kNanosPerDay) return !__builtin_mul_overflow(floor_div(t, d), d, &out);
  const __int128 local =
      static_cast<__int128>(t) +
      static_cast<__int128>(local_seconds_of(t, zone) - floor_div(t, kNanosPerSecond)) *
          kNanosPerSecond;
  __int128 floored = local / d * d;
  if (floored > local) floored -= d;  // division truncates toward zero
  // The floor is a whole number of local seconds when d is whole seconds; otherwise
  // round down to one (sub-second parts of multi-day durations are meaningless).
  __int128 floored_seconds = floored / kNanosPerSecond;
  if (floored_seconds * kNanosPerSecond > floored) floored_seconds -= 1;
  if (floored_seconds < std::numeric_limits<int64_t>::min() / 2 ||
      floored_seconds > std::numeric_limits<int64_t>::max() / 2) {
    return false;
  }
  return local_seconds_to_time(static_cast<int64_t>(floored_seconds), zone, out);
}

NodePtr build_floor_time(Call& c) {
  bool ok = c.want(0, Type::Time);
  ok = c.want(1, Type::Duration) && ok;
  if (!ok) return nullptr;
  if (c.args[1]->is_constant()) {
    const int64_t d = std::get<int64_t>(static_cast<const ConstantNode&>(*c.args[1]).value().value);
    if (d <= 0) {
      c.errors.error(c.ast.children[1]->start, c.ast.children[1]->length,
                     "floor_time(): the duration must be positive, found " + format_duration(d));
      return nullptr;
    }
  }
  const date::time_zone* zone = c.zone;
  return try_map<int64_t, int64_t, int64_t>(
      Type::Time,
      [zone](int64_t& out, int64_t t, int64_t d) { return floor_time_in_zone(t, d, zone, out); },
      [](int64_t t, int64_t d) {
        if (d > 0) {
          return "floor_time(" + format_time(t) + ", " + format_duration(d) +
                 "): the result is before 1677-09-21, the earliest time";
        }
        return "floor_time(): the duration must be positive, found " + format_duration(d);
      },
      c.take(0), c.take(1));
}

NodePtr build_seconds(Call& c) {
  if (!c.want(0, Type::Duration)) return nullptr;
  return map1<double, int64_t>(Type::Double, c.take(0),
                               [](int64_t d) { return static_cast<double>(d) / 1e9; });
}

NodePtr build_nanos(Call& c) {
  if (c.type(0) != Type::Duration && c.type(0) != Type::Time) {
    c.reject(0, "a duration or a time");
    return nullptr;
  }
  return map1<int64_t, int64_t>(Type::Int, c.take(0), [](int64_t v) { return v; });
}

// No upper limit on the argument count (min and max).
constexpr size_t kMany = std::numeric_limits<size_t>::max();

const std::vector<FunctionSpec>& functions() {
  static const std::vector<FunctionSpec> table = {
      {"abs", 1, 1, "abs(x)", build_abs},
      {"sqrt", 1, 1, "sqrt(x)",
       [](Call& c) { return math1(c, [](double v) { return std::sqrt(v); }); }},
      {"exp", 1, 1, "exp(x)",
       [](Call& c) { return math1(c, [](double v) { return std::exp(v); }); }},
      {"log", 1, 1, "log(x)",
       [](Call& c) { return math1(c, [](double v) { return std::log(v); }); }},
      {"log10", 1, 1, "log10(x)",
       [](Call& c) { return math1(c, [](double v) { return std::log10(v); }); }},
      {"pow", 2, 2, "pow(x, y)", build_pow},
      {"floor", 1, 1, "floor(x)",
       [](Call& c) { return floor_or_ceil(c, [](double v) { return std::floor(v); }); }},
      {"ceil", 1, 1, "ceil(x)",
       [](Call& c) { return floor_or_ceil(c, [](double v) { return std::ceil(v); }); }},
      {"round", 1, 2, "round(x[, digits])", build_round},
      {"min", 2, kMany, "min(a, b, ...)", [](Call& c) { return build_min_max(c, false); }},
      {"max", 2, kMany, "max(a, b, ...)", [](Call& c) { return build_min_max(c, true); }},
      {"isnan", 1, 1, "isnan(x)", build_isnan},
      {"if", 3, 3, "if(cond, a, b)", build_if},
      {"int", 1, 1, "int(x)", build_int},
      {"double", 1, 1, "double(x)", build_double},
      {"string", 1, 1, "string(x)", build_string},
      {"time", 1, 1, "time(x)", build_time},
      {"duration", 1, 1, "duration(x)", build_duration},
      {"len", 1, 1, "len(s)", build_len},
      {"upper", 1, 1, "upper(s)", change_case<ascii_upper>},
      {"lower", 1, 1, "lower(s)", change_case<ascii_lower>},
      {"substr", 2, 3, "substr(s, start[, n])", build_substr},
      {"contains", 2, 2, "contains(s, part)", string_test<contains>},
      {"starts_with", 2, 2, "starts_with(s, prefix)", string_test<starts_with>},
      {"ends_with", 2, 2, "ends_with(s, suffix)", string_test<ends_with>},
      {"year", 1, 1, "year(t)", time_part<TimePart::Year>},
      {"month", 1, 1, "month(t)", time_part<TimePart::Month>},
      {"day", 1, 1, "day(t)", time_part<TimePart::Day>},
      {"hour", 1, 1, "hour(t)", time_part<TimePart::Hour>},
      {"minute", 1, 1, "minute(t)", time_part<TimePart::Minute>},
      {"second", 1, 1, "second(t)", time_part<TimePart::Second>},
      {"date", 1, 1, "date(t)", build_date},
      {"floor_time", 2, 2, "floor_time(t, d)", build_floor_time},
      {"seconds", 1, 1, "seconds(d)", build_seconds},
      {"nanos", 1, 1, "nanos(d)", build_nanos},
  };
  return table;
}

const FunctionSpec* find_function(std::string_view name) {
  for (const auto& f : functions()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

bool is_function(std::string_view name) {
  return find_function(name) != nullptr;
}

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& f : functions()) names.emplace_back(f.name);
  std::sort(names.begin(), names.end());
  return names;
}

NodePtr build_call(const Ast& ast, std::vector<NodePtr> args, TypeErrors& errors,
                   const date::time_zone* zone) {
  const FunctionSpec* spec = find_function(ast.text);
  if (args.size() < spec->min_args || args.size() > spec->max_args) {
    const std::string count =
        spec->min_args == spec->max_args ? std::to_string(spec->min_args)
        : spec->max_args == kMany
            ? "at least " + std::to_string(spec->min_args)
            : std::to_string(spec->min_args) + " or " + std::to_string(spec->max_args);
    errors.error_at(ast, ast.text + "() takes " + count + " argument" + (count == "1" ? "" : "s") +
                             ", found " + std::to_string(args.size()) + " (" +
                             std::string(spec->signature) + ")");
    return nullptr;
  }
  Call call{ast, args, errors, zone};
  return spec->build(call);
}

}  // namespace tickflow::expr
