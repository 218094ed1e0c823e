// Typing rules and evaluation of the operators (SPEC §3).
//
// Integer arithmetic wraps around on overflow (two's complement), like the hardware
// and like numpy's int64: it is done on uint64_t, where wrapping is defined.
#include <cmath>
#include <limits>

#include "expr/check.hpp"
#include "tickflow/time.hpp"

namespace tickflow::expr {

std::string type_pair(Type a, Type b) {
  return std::string(type_name(a)) + " and " + std::string(type_name(b));
}

namespace {

int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Calls f.template operator()<A, B>() with A, B = int64_t or double per operand type.
template <class F>
NodePtr with_numbers(Type a, Type b, F&& f) {
  if (a == Type::Int) {
    return b == Type::Int ? f.template operator()<int64_t, int64_t>()
                          : f.template operator()<int64_t, double>();
  }
  return b == Type::Int ? f.template operator()<double, int64_t>()
                        : f.template operator()<double, double>();
}

// A double-valued operation on two numbers of any mix of int and double.
template <class Op>
NodePtr double_op(NodePtr l, NodePtr r, Op op) {
  const Type lt = l->type(), rt = r->type();
  return with_numbers(lt, rt, [&]<class A, class B>() {
    return map2<double, A, B>(Type::Double, std::move(l), std::move(r), [op](A a, B b) {
      return op(static_cast<double>(a), static_cast<double>(b));
    });
  });
}

template <class Op>
NodePtr int64_op(Type result, NodePtr l, NodePtr r, Op op) {
  return map2<int64_t, int64_t, int64_t>(result, std::move(l), std::move(r), op);
}

// Time and duration arithmetic: a result outside int64 nanoseconds (1677-09-21 to
// 2262-04-11, about +-292 years) is a run-time error, never a wrapped-around date.
// `op` is one of the __builtin_*_overflow functions' shape: returns true on overflow.
template <class Op>
NodePtr checked_time_op(Type result, const char* symbol, NodePtr l, NodePtr r, Op overflows) {
  const Type lt = l->type(), rt = r->type();
  auto f = [overflows](int64_t& out, int64_t a, int64_t b) { return !overflows(a, b, &out); };
  auto why = [symbol, lt, rt](int64_t a, int64_t b) {
    auto text = [](Type t, int64_t v) {
      return t == Type::Time       ? format_time(v)
             : t == Type::Duration ? format_duration(v)
                                   : std::to_string(v);
    };
    return "time arithmetic out of range: " + text(lt, a) + " " + symbol + " " + text(rt, b) +
           " is outside the times int64 nanoseconds can hold (1677-09-21 to 2262-04-11)";
  };
  return try_map<int64_t, int64_t, int64_t>(result, f, why, std::move(l), std::move(r));
}

bool add_overflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_add_overflow(a, b, out);
}
bool sub_overflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_sub_overflow(a, b, out);
}
bool mul_overflows(int64_t a, int64_t b, int64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}

NodePtr int_modulo(NodePtr l, NodePtr r) {
  // C++ % truncates, so the result takes the sign of the dividend (SPEC §11).
  auto mod = [](int64_t& out, int64_t a, int64_t b) {
    if (b == 0) return false;
    out = b == -1 ? 0 : a % b;  // INT64_MIN % -1 overflows in hardware
    return true;
  };
  auto why = [](int64_t a, int64_t) { return "integer % by zero (" + std::to_string(a) + " % 0)"; };
  return try_map<int64_t, int64_t, int64_t>(Type::Int, mod, why, std::move(l), std::move(r));
}

NodePtr arithmetic(const std::string& op, NodePtr l, NodePtr r) {
  const Type lt = l->type(), rt = r->type();
  const bool ints = lt == Type::Int && rt == Type::Int;
  const bool numbers = is_number(lt) && is_number(rt);
  if (op == "+") {
    if (ints) return int64_op(Type::Int, std::move(l), std::move(r), wrap_add);
    if (numbers) return double_op(std::move(l), std::move(r), std::plus<double>());
    if (lt == Type::String && rt == Type::String) {
      return map2<std::string, std::string, std::string>(
          Type::String, std::move(l), std::move(r),
          [](const std::string& a, const std::string& b) { return a + b; });
    }
    if ((lt == Type::Time && rt == Type::Duration) || (lt == Type::Duration && rt == Type::Time)) {
      return checked_time_op(Type::Time, "+", std::move(l), std::move(r), add_overflows);
    }
    if (lt == Type::Duration && rt == Type::Duration) {
      return checked_time_op(Type::Duration, "+", std::move(l), std::move(r), add_overflows);
    }
  } else if (op == "-") {
    if (ints) return int64_op(Type::Int, std::move(l), std::move(r), wrap_sub);
    if (numbers) return double_op(std::move(l), std::move(r), std::minus<double>());
    if (lt == Type::Time && rt == Type::Time) {
      return checked_time_op(Type::Duration, "-", std::move(l), std::move(r), sub_overflows);
    }
    if (lt == Type::Time && rt == Type::Duration) {
      return checked_time_op(Type::Time, "-", std::move(l), std::move(r), sub_overflows);
    }
    if (lt == Type::Duration && rt == Type::Duration) {
      return checked_time_op(Type::Duration, "-", std::move(l), std::move(r), sub_overflows);
    }
  } else if (op == "*") {
    if (ints) return int64_op(Type::Int, std::move(l), std::move(r), wrap_mul);
    if (numbers) return double_op(std::move(l), std::move(r), std::multiplies<double>());
    if ((lt == Type::Duration && rt == Type::Int) || (lt == Type::Int && rt == Type::Duration)) {
      return checked_time_op(Type::Duration, "*", std::move(l), std::move(r), mul_overflows);
    }
  } else if (op == "/") {
    if (numbers) return double_op(std::move(l), std::move(r), std::divides<double>());
  } else if (op == "%") {
    if (ints) return int_modulo(std::move(l), std::move(r));
    if (numbers) {
      return double_op(std::move(l), std::move(r),
                       [](double a, double b) { return std::fmod(a, b); });
    }
  }
  return nullptr;
}

std::string arithmetic_expectation(const std::string& op) {
  if (op == "+") return "numbers, two strings, time and duration, or two durations";
  if (op == "-") return "numbers, two times, time and duration, or two durations";
  if (op == "*") return "numbers, or a duration and an int";
  return "numbers";
}

std::string arithmetic_hint(const std::string& op, Type lt, Type rt) {
  if (op == "/" && (lt == Type::Duration || rt == Type::Duration)) {
    return " (seconds(d) or nanos(d) turn a duration into a number)";
  }
  if (op == "*" && ((lt == Type::Duration && rt == Type::Double) ||
                    (lt == Type::Double && rt == Type::Duration))) {
    return " (multiply by an int, or use seconds(d))";
  }
  if (op == "+" && (lt == Type::String || rt == Type::String) && lt != rt) {
    return " (string(x) turns a value into a string)";
  }
  return "";
}

// Whether values of these types may be compared with `op`.
bool comparable(const std::string& op, Type a, Type b) {
  if (is_number(a) && is_number(b)) return true;
  if (a != b) return false;
  if (a == Type::Bool) return op == "==" || op == "!=";
  return true;
}

template <class Cmp>
NodePtr compare_with(NodePtr l, NodePtr r, Cmp cmp) {
  const Type lt = l->type(), rt = r->type();
  if (is_number(lt) && is_number(rt)) {
    // An int compared with a double is compared as a double.
    return with_numbers(lt, rt, [&]<class A, class B>() {
      return map2<uint8_t, A, B>(Type::Bool, std::move(l), std::move(r), cmp);
    });
  }
  return with_value_type(lt, [&]<class T>() {
    return map2<uint8_t, T, T>(Type::Bool, std::move(l), std::move(r), cmp);
  });
}

NodePtr comparison(const std::string& op, NodePtr l, NodePtr r) {
  if (op == "==")
    return compare_with(std::move(l), std::move(r),
                        [](const auto& a, const auto& b) { return a == b; });
  if (op == "!=")
    return compare_with(std::move(l), std::move(r),
                        [](const auto& a, const auto& b) { return a != b; });
  if (op == "<")
    return compare_with(std::move(l), std::move(r),
                        [](const auto& a, const auto& b) { return a < b; });
  if (op == "<=")
    return compare_with(std::move(l), std::move(r),
                        [](const auto& a, const auto& b) { return a <= b; });
  if (op == ">")
    return compare_with(std::move(l), std::move(r),
                        [](const auto& a, const auto& b) { return a > b; });
  return compare_with(std::move(l), std::move(r),
                      [](const auto& a, const auto& b) { return a >= b; });
}

bool is_comparison(const std::string& op) {
  return op == "==" || op == "!=" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

}  // namespace

NodePtr build_unary(const Ast& ast, NodePtr operand, TypeErrors& errors) {
  const Type t = operand->type();
  const std::string op(errors.spelling(ast));
  if (ast.text == "-") {
    if (t == Type::Double) {
      return map1<double, double>(Type::Double, std::move(operand), [](double v) { return -v; });
    }
    if (t == Type::Int || t == Type::Duration) {
      return map1<int64_t, int64_t>(t, std::move(operand),
                                    [](int64_t v) { return wrap_sub(0, v); });
    }
    errors.error_at(
        ast, "operator '-' needs a number or a duration, found " + std::string(type_name(t)));
    return nullptr;
  }
  if (t == Type::Bool) {
    return map1<uint8_t, uint8_t>(Type::Bool, std::move(operand), [](uint8_t v) { return !v; });
  }
  errors.error_at(ast, "operator '" + op + "' needs bool, found " + std::string(type_name(t)));
  return nullptr;
}

NodePtr build_binary(const Ast& ast, NodePtr left, NodePtr right, TypeErrors& errors) {
  const std::string& op = ast.text;
  const std::string spelled(errors.spelling(ast));
  const Type lt = left->type(), rt = right->type();
  if (op == "and" || op == "or") {
    if (lt == Type::Bool && rt == Type::Bool) {
      return op == "and" ? make_and(std::move(left), std::move(right))
                         : make_or(std::move(left), std::move(right));
    }
    errors.error_at(ast,
                    "operator '" + spelled + "' needs bool operands, found " + type_pair(lt, rt));
    return nullptr;
  }
  if (is_comparison(op)) {
    if (comparable(op, lt, rt)) return comparison(op, std::move(left), std::move(right));
    std::string expected = op == "==" || op == "!="
                               ? "two numbers, or two values of the same type"
                               : "two numbers, or two strings, times or durations";
    errors.error_at(
        ast, "operator '" + spelled + "' needs " + expected + ", found " + type_pair(lt, rt));
    return nullptr;
  }
  if (NodePtr node = arithmetic(op, std::move(left), std::move(right))) return node;
  errors.error_at(ast, "operator '" + spelled + "' needs " + arithmetic_expectation(op) +
                           ", found " + type_pair(lt, rt) + arithmetic_hint(op, lt, rt));
  return nullptr;
}

NodePtr build_in(const Ast& ast, std::vector<NodePtr> values, TypeErrors& errors) {
  const Type left = values[0]->type();
  bool any_double = left == Type::Double;
  bool ok = true;
  for (size_t i = 1; i < values.size(); ++i) {
    const Type t = values[i]->type();
    if (!comparable("==", left, t)) {
      errors.error(ast.children[i]->start, 1,
                   "'in' list value has type " + std::string(type_name(t)) +
                       ", which cannot be compared with the " + std::string(type_name(left)) +
                       " on the left");
      ok = false;
    }
    any_double |= t == Type::Double;
  }
  if (!ok) return nullptr;
  if (any_double) {
    for (auto& v : values) v = promote_to_double(std::move(v));
  }
  return make_in(std::move(values), ast.int_value != 0);
}

}  // namespace tickflow::expr
