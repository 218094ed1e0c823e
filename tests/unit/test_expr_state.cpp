// Container methods of state variables in expressions (SPEC §6): has, value and size of
// tick_set, tick_list and tick_deque, their defaults, and every compile-time error.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "expr/ast.hpp"
#include "test_expr_support.hpp"
#include "tickflow/state.hpp"

using namespace expr_test;

namespace {

// SEEN: tick_set key [ID] {ID int, PX double, TAG string, OK bool}
// LEVELS: tick_set key [VENUE, PX] {VENUE string, PX double, QTY int}
// RECENT: tick_deque {PX double, N int}, max_size 3
// ALL: tick_list {PX double, T time}
// TOTAL: int scalar, init 40
struct StateFixture {
  std::vector<StateVariable> vars;
  std::unique_ptr<StateStore> store;
  SchemaPtr schema = test_schema();

  StateFixture() {
    auto add = [&](std::string name, StateKind kind) -> StateVariable& {
      StateVariable v;
      v.name = std::move(name);
      v.id = vars.size();
      v.kind = kind;
      vars.push_back(std::move(v));
      return vars.back();
    };
    StateVariable& seen = add("SEEN", StateKind::TickSet);
    seen.fields = make_schema(
        {{"ID", Type::Int}, {"PX", Type::Double}, {"TAG", Type::String}, {"OK", Type::Bool}});
    seen.key = {0};
    StateVariable& levels = add("LEVELS", StateKind::TickSet);
    levels.fields =
        make_schema({{"VENUE", Type::String}, {"PX", Type::Double}, {"QTY", Type::Int}});
    levels.key = {0, 1};
    StateVariable& recent = add("RECENT", StateKind::TickDeque);
    recent.fields = make_schema({{"PX", Type::Double}, {"N", Type::Int}});
    recent.max_size = 3;
    StateVariable& all = add("ALL", StateKind::TickList);
    all.fields = make_schema({{"PX", Type::Double}, {"T", Type::Time}});
    StateVariable& total = add("TOTAL", StateKind::Scalar);
    total.type = Type::Int;
    total.init = int64_t{40};
    store = std::make_unique<StateStore>(vars);
  }

  TickContainer& container(const std::string& name) {
    size_t id = vars.size();
    for (const auto& v : vars) {
      if (v.name == name) id = v.id;
    }
    REQUIRE_MESSAGE(id < vars.size(), name);
    return store->tick_container(id);
  }

  ExprContext context() const {
    ExprContext cx = test_context(schema.get());
    const std::vector<StateVariable>* variables = &vars;
    cx.state = [variables](std::string_view name) -> std::optional<StateRef> {
      for (const auto& v : *variables) {
        if (v.name == name) return StateRef{v.type, v.id, &v};
      }
      return std::nullopt;
    };
    for (const auto& v : vars) cx.state_names.push_back(v.name);
    return cx;
  }

  CompiledExprPtr compile(const std::string& text) const {
    ExprContext cx = context();
    auto compiled = compile_ok(text, &cx);
    CHECK(compiled->uses_state());
    CHECK_FALSE(compiled->is_constant());
    return compiled;
  }

  Column eval(const std::string& text, const Batch& batch) const {
    auto compiled = compile(text);
    auto state = compiled->make_state();
    Column out(Type::Int);
    compiled->evaluate(batch, *state, out, EvalInfo{"", store.get()});
    CHECK(out.size() == batch.size());
    return out;
  }

  std::vector<Diagnostic> errors(const std::string& text) const {
    ExprContext cx = context();
    return compile_errors(text, &cx);
  }

  // The single error of `text`: its message, and its column (the text starts at column 10).
  std::string error(const std::string& text, int* column = nullptr) const {
    auto errs = errors(text);
    REQUIRE_MESSAGE(errs.size() == 1, text);
    if (column) *column = errs[0].location.column;
    return errs[0].message;
  }

  void fill() {
    container("SEEN").insert({int64_t{1}, 10.5, std::string("a"), true});
    container("SEEN").insert({int64_t{3}, 30.5, std::string("c"), false});
    container("LEVELS").insert({std::string("X"), 1.0, int64_t{100}});
    container("LEVELS").insert({std::string("Y"), 2.0, int64_t{200}});
    for (int64_t i = 1; i <= 5; ++i) container("RECENT").insert({i * 1.5, i});
    container("ALL").insert({7.0, int64_t{1'000}});
    container("ALL").insert({8.0, int64_t{2'000}});
  }
};

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return false;
    if (!std::isnan(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("expr state: tick_set has() per tick") {
  StateFixture f;
  f.fill();
  Batch b = sizes_batch({1, 2, 3});
  CHECK(f.eval("state.SEEN.has(SIZE)", b).bools() == std::vector<uint8_t>{1, 0, 1});
  CHECK(f.eval("state.SEEN.has(SIZE - 1)", b).bools() == std::vector<uint8_t>{0, 1, 0});
  CHECK(f.eval("not state.SEEN.has(SIZE)", b).bools() == std::vector<uint8_t>{0, 1, 0});
  // A constant key: one lookup, the same for every tick (but not folded).
  CHECK(f.eval("state.SEEN.has(3)", b).bools() == std::vector<uint8_t>{1, 1, 1});
  CHECK(f.eval("state.SEEN.has(2)", b).bools() == std::vector<uint8_t>{0, 0, 0});
  CHECK(f.compile("state.SEEN.has(1)")->type() == Type::Bool);
}

TEST_CASE("expr state: tick_set value() gives the field or the type's default") {
  StateFixture f;
  f.fill();
  Batch b = sizes_batch({1, 2, 3});
  CHECK(same(f.eval("state.SEEN.value('PX', SIZE)", b).doubles(), {10.5, NAN, 30.5}));
  CHECK(f.eval("state.SEEN.value('TAG', SIZE)", b).strings() ==
        std::vector<std::string>{"a", "", "c"});
  CHECK(f.eval("state.SEEN.value('OK', SIZE)", b).bools() == std::vector<uint8_t>{1, 0, 0});
  CHECK(f.eval("state.SEEN.value('ID', SIZE)", b).ints() == std::vector<int64_t>{1, 0, 3});
  CHECK(f.compile("state.SEEN.value('TAG', 1)")->type() == Type::String);
  CHECK(f.eval("if(state.SEEN.has(SIZE), state.SEEN.value('PX', SIZE) * 2, -1.0)", b).doubles() ==
        std::vector<double>{21.0, -1.0, 61.0});
  CHECK(f.eval("state.SEEN.value('TAG', SIZE) + '!'", b).strings() ==
        std::vector<std::string>{"a!", "!", "c!"});
}

TEST_CASE("expr state: several key fields, and an int for a double key field") {
  StateFixture f;
  f.fill();
  Batch b = sizes_batch({1, 2, 3});
  CHECK(f.eval("state.LEVELS.has('Y', SIZE)", b).bools() == std::vector<uint8_t>{0, 1, 0});
  CHECK(f.eval("state.LEVELS.has('X', PRICE)", b).bools() == std::vector<uint8_t>{1, 0, 0});
  CHECK(f.eval("state.LEVELS.value('QTY', 'X', SIZE)", b).ints() ==
        std::vector<int64_t>{100, 0, 0});
  CHECK(f.eval("state.LEVELS.value('QTY', if(SIZE == 1, 'X', 'Y'), SIZE)", b).ints() ==
        std::vector<int64_t>{100, 200, 0});
  CHECK(f.eval("state.LEVELS.value('VENUE', 'Y', 2)", b).strings() ==
        std::vector<std::string>{"Y", "Y", "Y"});
}

TEST_CASE("expr state: tick_deque and tick_list value() by index") {
  StateFixture f;
  f.fill();  // RECENT keeps the last 3 of 1.5, 3.0, 4.5, 6.0, 7.5
  Batch b = sizes_batch({1, 2, 3});
  CHECK(f.eval("state.RECENT.value('PX', 0)", b).doubles() == std::vector<double>{4.5, 4.5, 4.5});
  CHECK(f.eval("state.RECENT.value('PX', -1)", b).doubles() == std::vector<double>{7.5, 7.5, 7.5});
  CHECK(f.eval("state.RECENT.value('N', -3)", b).ints() == std::vector<int64_t>{3, 3, 3});
  CHECK(f.eval("state.RECENT.value('N', 2)", b).ints() == std::vector<int64_t>{5, 5, 5});
  // Out of range either way: the type's default.
  CHECK(same(f.eval("state.RECENT.value('PX', -4)", b).doubles(), {NAN, NAN, NAN}));
  CHECK(f.eval("state.RECENT.value('N', 3)", b).ints() == std::vector<int64_t>{0, 0, 0});
  // A per-tick index: SIZE - 2 is -1, 0, 1.
  CHECK(f.eval("state.RECENT.value('PX', SIZE - 2)", b).doubles() ==
        std::vector<double>{7.5, 4.5, 6.0});
  CHECK(f.eval("state.ALL.value('T', -1)", b).ints() == std::vector<int64_t>{2'000, 2'000, 2'000});
  CHECK(f.compile("state.ALL.value('T', 0)")->type() == Type::Time);
  CHECK(f.eval("state.ALL.value('T', SIZE - 1) - TIMESTAMP", b).ints() ==
        std::vector<int64_t>{1'000 - 1'000, 2'000 - 1'001, 0 - 1'002});
}

TEST_CASE("expr state: size() of every container kind") {
  StateFixture f;
  Batch b = sizes_batch({1, 2});
  CHECK(f.eval("state.SEEN.size()", b).ints() == std::vector<int64_t>{0, 0});
  CHECK(f.eval("state.RECENT.size() + SIZE", b).ints() == std::vector<int64_t>{1, 2});
  f.fill();
  CHECK(f.eval("state.SEEN.size()", b).ints() == std::vector<int64_t>{2, 2});
  CHECK(f.eval("state.LEVELS.size()", b).ints() == std::vector<int64_t>{2, 2});
  CHECK(f.eval("state.RECENT.size()", b).ints() == std::vector<int64_t>{3, 3});
  CHECK(f.eval("state.ALL.size()", b).ints() == std::vector<int64_t>{2, 2});
  CHECK(f.compile("state.ALL.size()")->type() == Type::Int);
}

TEST_CASE("expr state: methods read the container when evaluated, never folded") {
  StateFixture f;
  auto has = f.compile("state.SEEN.has(3)");
  auto size = f.compile("state.SEEN.size() * 10");
  auto value = f.compile("state.RECENT.value('PX', -1)");
  auto es = has->make_state();
  auto ss = size->make_state();
  auto vs = value->make_state();
  Batch b = sizes_batch({1});
  Column out(Type::Int);
  const EvalInfo info{"", f.store.get()};
  has->evaluate(b, *es, out, info);
  CHECK(out.bools() == std::vector<uint8_t>{0});
  size->evaluate(b, *ss, out, info);
  CHECK(out.ints() == std::vector<int64_t>{0});
  value->evaluate(b, *vs, out, info);
  CHECK(std::isnan(out.doubles()[0]));
  f.fill();
  has->evaluate(b, *es, out, info);
  CHECK(out.bools() == std::vector<uint8_t>{1});
  size->evaluate(b, *ss, out, info);
  CHECK(out.ints() == std::vector<int64_t>{20});
  value->evaluate(b, *vs, out, info);
  CHECK(out.doubles() == std::vector<double>{7.5});
  f.container("SEEN").erase({int64_t{3}});
  has->evaluate(b, *es, out, info);
  CHECK(out.bools() == std::vector<uint8_t>{0});
}

TEST_CASE("expr state: scalars still read through the StateStore") {
  StateFixture f;
  Batch b = sizes_batch({1, 2});
  CHECK(f.eval("state.TOTAL + SIZE", b).ints() == std::vector<int64_t>{41, 42});
  f.fill();
  CHECK(f.eval("state.TOTAL + state.SEEN.size()", b).ints() == std::vector<int64_t>{42, 42});
}

TEST_CASE("expr state: a missing reader or container is a run-time error") {
  StateFixture f;
  auto compiled = f.compile("state.SEEN.has(SIZE)");
  auto state = compiled->make_state();
  Batch b = sizes_batch({1});
  Column out(Type::Int);
  CHECK_THROWS_AS(compiled->evaluate(b, *state, out, EvalInfo{"", nullptr}), RuntimeError);
  struct NoContainers : StateReader {
    void read(size_t, const Batch&, size_t rows, Column& out) const override { out.resize(rows); }
  } reader;
  try {
    compiled->evaluate(b, *state, out, EvalInfo{"", &reader});
    FAIL("expected a RuntimeError");
  } catch (const RuntimeError& e) {
    CHECK(e.message().find("'SEEN'") != std::string::npos);
  }
}

TEST_CASE("expr state: the parser reads state.NAME.method(args)") {
  tickflow::expr::SyntaxError error;
  auto ast = tickflow::expr::parse_expression("1 + state.SEEN.value('PX', ID)", error);
  REQUIRE(ast);
  const auto& call = *ast->children[1];
  CHECK(call.kind == tickflow::expr::AstKind::StateMethod);
  CHECK(call.text == "SEEN");
  CHECK(call.method == "value");
  CHECK(call.start == 4);
  CHECK(call.offset == 10);
  CHECK(call.method_offset == 15);
  CHECK(call.method_length == 5);
  REQUIRE(call.children.size() == 2);
  CHECK(call.children[0]->text == "PX");
  CHECK(call.children[1]->text == "ID");

  auto syntax = [](const std::string& text) {
    tickflow::expr::SyntaxError e;
    CHECK_FALSE(tickflow::expr::parse_expression(text, e));
    return e.message;
  };
  CHECK(syntax("state.SEEN.") ==
        "expected a method name after 'state.SEEN.' (has, value or size), found end of expression");
  CHECK(syntax("state.SEEN.size") ==
        "expected '(' after 'state.SEEN.size', found end of expression");
  CHECK(syntax("state.SEEN.has(1") ==
        "expected ',' or ')' in the arguments of has(), found end of expression");
}

TEST_CASE("expr state: a method result takes lags like any value") {
  StateFixture f;
  f.fill();
  auto compiled = f.compile("state.SEEN.has(SIZE)[-1]");
  auto state = compiled->make_state();
  Column out(Type::Int);
  compiled->evaluate(sizes_batch({1, 2, 3}), *state, out, EvalInfo{"", f.store.get()});
  CHECK(out.bools() == std::vector<uint8_t>{0, 1, 0});
}

TEST_CASE("expr state: errors are located, with did-you-mean") {
  StateFixture f;
  int column = 0;
  // The expression starts at column 10 of q.yaml line 3.
  CHECK(f.error("state.SEEN + 1", &column) ==
        "state.SEEN is a tick_set; use state.SEEN.has(...), .value(...) or .size()");
  CHECK(column == 10 + 6);
  CHECK(f.error("1 + state.RECENT", &column) ==
        "state.RECENT is a tick_deque; use state.RECENT.value(...) or .size()");
  CHECK(column == 10 + 10);
  CHECK(f.error("state.SEEN.hass(1)", &column) ==
        "unknown method 'hass' of state.SEEN (did you mean 'has'?)");
  CHECK(column == 10 + 11);
  CHECK(f.error("state.ALL.sise()") == "unknown method 'sise' of state.ALL (did you mean 'size'?)");
  CHECK(f.error("state.SEEN.frobnicate()") ==
        "unknown method 'frobnicate' of state.SEEN (a tick_set has has(), value(), find() and "
        "size())");
  CHECK(f.error("state.ALL.frobnicate()") ==
        "unknown method 'frobnicate' of state.ALL (a tick_list has value() and size())");
  CHECK(f.error("state.RECENT.has(1)", &column) ==
        "has() needs a tick_set; state.RECENT is a tick_deque (use state.RECENT.value('FIELD', "
        "i) or state.RECENT.size())");
  CHECK(column == 10 + 13);
  CHECK(f.error("state.TOTAL.size()", &column) ==
        "state.TOTAL is a scalar (int), not a container: it has no method 'size' (read it as "
        "state.TOTAL)");
  CHECK(column == 10 + 12);
  CHECK(f.error("state.SEEM.has(1)", &column) ==
        "unknown state variable 'state.SEEM' (did you mean 'SEEN'?)");
  CHECK(column == 10 + 6);

  auto errs = f.errors("state.SEEN.hass(1)");
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].snippet[0] == "  state.SEEN.hass(1)");
  CHECK(errs[0].snippet[1] == "             ^~~~");
}

TEST_CASE("expr state: argument counts") {
  StateFixture f;
  int column = 0;
  CHECK(f.error("state.SEEN.size(1)", &column) ==
        "size() takes no arguments, found 1 (state.SEEN.size())");
  CHECK(column == 10 + 11);
  CHECK(f.error("state.SEEN.has()") == "has() takes 1 argument, found 0 (state.SEEN.has(ID))");
  CHECK(f.error("state.LEVELS.has('X')") ==
        "has() takes 2 arguments, found 1 (state.LEVELS.has(VENUE, PX))");
  CHECK(f.error("state.SEEN.value('PX')") ==
        "value() takes 2 arguments, found 1 (state.SEEN.value('FIELD', ID))");
  CHECK(f.error("state.LEVELS.value('QTY', 'X')") ==
        "value() takes 3 arguments, found 2 (state.LEVELS.value('FIELD', VENUE, PX))");
  CHECK(f.error("state.RECENT.value('PX', 1, 2)") ==
        "value() takes 2 arguments, found 3 (state.RECENT.value('FIELD', index))");
  CHECK(f.error("state.ALL.value()") ==
        "value() takes 2 arguments, found 0 (state.ALL.value('FIELD', index))");
}

TEST_CASE("expr state: argument types and field names") {
  StateFixture f;
  int column = 0;
  CHECK(f.error("state.SEEN.has(NAME)", &column) ==
        "has() needs int for the key field ID, found string");
  CHECK(column == 10 + 15);
  CHECK(f.error("state.SEEN.has(PRICE)") == "has() needs int for the key field ID, found double");
  CHECK(f.error("state.SEEN.value('PX', 1.5)", &column) ==
        "value() needs int for the key field ID as argument 2, found double");
  CHECK(column == 10 + 23);
  CHECK(f.error("state.LEVELS.has(1, 2)") ==
        "has() needs string for the key field VENUE as argument 1, found int");
  CHECK(f.error("state.LEVELS.has('X', NAME)") ==
        "has() needs double for the key field PX as argument 2, found string");
  CHECK(f.error("state.RECENT.value('PX', 1.0)", &column) ==
        "value() needs an int index as argument 2, found double");
  CHECK(column == 10 + 25);
  CHECK(f.error("state.SEEN.value('PY', 1)", &column) ==
        "state.SEEN has no field 'PY' (did you mean 'PX'?)");
  CHECK(column == 10 + 17);
  CHECK(f.error("state.RECENT.value('QQQQQ', 1)") ==
        "state.RECENT has no field 'QQQQQ' (its fields: PX, N)");
  CHECK(f.error("state.SEEN.value(PX, 1)", &column) ==
        "value() needs a field name in quotes as argument 1 (write 'PX')");
  CHECK(column == 10 + 17);
  CHECK(f.error("state.SEEN.value(1, 1)") ==
        "value() needs a field name in quotes as argument 1 (state.SEEN has fields ID, PX, TAG, "
        "OK)");
  CHECK(f.error("state.SEEN.value('P' + 'X', 1)") ==
        "value() needs a field name in quotes as argument 1 (state.SEEN has fields ID, PX, TAG, "
        "OK)");
}

TEST_CASE("expr state: independent errors are all reported") {
  StateFixture f;
  auto errs = f.errors("state.SEEN.has(PRCE) or state.ALL.hass(SIZ) or state.RECENT.size() > 'a'");
  REQUIRE(errs.size() == 4);
  CHECK(errs[0].message.starts_with("unknown field 'PRCE'"));
  CHECK(errs[1].message.starts_with("unknown method 'hass'"));
  CHECK(errs[2].message.starts_with("unknown field 'SIZ'"));
  CHECK(errs[3].message.starts_with("operator '>' needs"));
  // Without state: in the query.
  CHECK(error_of("state.SEEN.has(1)") ==
        "unknown state variable 'state.SEEN' (the query declares no state:)");
}
