// Lag and lead across batch boundaries, the lookahead protocol, run-time errors with
// guards, and state reads.
#include <doctest/doctest.h>

#include <numeric>

#include "test_expr_support.hpp"

using namespace expr_test;

namespace {

std::vector<int64_t> iota_sizes(size_t n) {
  std::vector<int64_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int64_t>(i * 7 % 13) - 3;
  return v;
}

// Evaluates `text` over `all` split into batches of `batch_size`, the way an EP
// without lookahead does.
std::vector<int64_t> eval_in_batches(const std::string& text, const Batch& all, size_t batch_size) {
  auto compiled = compile_ok(text);
  auto state = compiled->make_state();
  std::vector<int64_t> result;
  for (size_t begin = 0; begin < all.size(); begin += batch_size) {
    Batch part = all.slice(begin, std::min(all.size(), begin + batch_size));
    Column out(Type::Int);
    compiled->evaluate(part, *state, out, {});
    result.insert(result.end(), out.ints().begin(), out.ints().end());
  }
  return result;
}

// Evaluates with lookahead the way an EP holding max_lead() ticks does: keep the last
// max_lead ticks of every batch, prepend them to the next one, flush at the end.
std::vector<int64_t> eval_with_lookahead(const std::string& text, const Batch& all,
                                         size_t batch_size) {
  auto compiled = compile_ok(text);
  const size_t lead = compiled->max_lead();
  auto state = compiled->make_state();
  std::vector<int64_t> result;
  Batch held(all.schema);
  auto run = [&](size_t rows) {
    Column out(Type::Int);
    compiled->evaluate(held, rows, *state, out, {});
    REQUIRE(out.size() == rows);
    result.insert(result.end(), out.ints().begin(), out.ints().end());
    held = held.slice(rows, held.size());
  };
  for (size_t begin = 0; begin < all.size(); begin += batch_size) {
    held.append_rows(all, begin, std::min(all.size(), begin + batch_size));
    if (held.size() > lead) run(held.size() - lead);
  }
  run(held.size());
  return result;
}

}  // namespace

TEST_CASE("expr lag: previous ticks, the type default before there is one") {
  Batch b = sizes_batch({5, 6, 7});
  CHECK(eval("SIZE[-1]", b).ints() == std::vector<int64_t>{0, 5, 6});
  CHECK(eval("SIZE[-2]", b).ints() == std::vector<int64_t>{0, 0, 5});
  CHECK(eval("SIZE[-5]", b).ints() == std::vector<int64_t>{0, 0, 0});
  CHECK(eval("SIZE[0]", b).ints() == std::vector<int64_t>{5, 6, 7});
  CHECK(eval("SIZE - SIZE[-1]", b).ints() == std::vector<int64_t>{5, 1, 1});
  Column prices = eval("PRICE[-1]", b);
  CHECK(std::isnan(prices.doubles()[0]));
  CHECK(prices.doubles()[1] == 5.0);
  CHECK(eval("NAME[-1]", b).strings() == std::vector<std::string>{"", "5", "6"});
  CHECK(eval("FLAG[-1]", b).bools() == std::vector<uint8_t>{0, 0, 1});
  CHECK(eval("nanos(TIMESTAMP[-1])", b).ints() == std::vector<int64_t>{0, 1000, 1001});
  CHECK(eval("(SIZE * 2)[-1]", b).ints() == std::vector<int64_t>{0, 10, 12});
  CHECK(eval("SIZE[-1][-1]", b).ints() == std::vector<int64_t>{0, 0, 5});
  CHECK(eval("3[-1]", b).ints() == std::vector<int64_t>{0, 3, 3});
  CHECK(compile_ok("SIZE[-1][-2] + PRICE[-4]")->max_lag() == 4);
  CHECK(compile_ok("SIZE[-1][-2] + PRICE[-4]")->max_lead() == 0);
}

TEST_CASE("expr lag: history carries across batch boundaries") {
  Batch all = sizes_batch(iota_sizes(10'000));
  for (const char* text : {"SIZE[-1]", "SIZE[-3] * 2 + SIZE[-1]", "SIZE[-5000]",
                           "if(SIZE > 0, SIZE[-2], 0)", "len(NAME[-4])"}) {
    const auto reference = eval_in_batches(text, all, all.size());
    for (size_t batch_size : {1, 3, 4096}) {
      CAPTURE(text);
      CAPTURE(batch_size);
      CHECK(eval_in_batches(text, all, batch_size) == reference);
    }
  }
  const auto lagged = eval_in_batches("SIZE[-3]", all, 3);
  CHECK(lagged[2] == 0);
  CHECK(lagged[3] == all.columns[1].ints()[0]);
  CHECK(lagged[9999] == all.columns[1].ints()[9996]);
}

TEST_CASE("expr lag: a lag in a branch still sees every tick") {
  Batch b = sizes_batch({1, 2, 3, 4});
  CHECK(eval("if(FLAG, SIZE[-1], -1)", b).ints() == std::vector<int64_t>{-1, 1, -1, 3});
  CHECK(eval("FLAG and SIZE[-1] > 0", b).bools() == std::vector<uint8_t>{0, 1, 0, 1});
}

TEST_CASE("expr lag: reset forgets the history") {
  auto compiled = compile_ok("SIZE[-1]");
  auto state = compiled->make_state();
  Batch b = sizes_batch({5, 6});
  Column out(Type::Int);
  compiled->evaluate(b, *state, out, {});
  compiled->evaluate(b, *state, out, {});
  CHECK(out.ints() == std::vector<int64_t>{6, 5});
  state->reset();
  compiled->evaluate(b, *state, out, {});
  CHECK(out.ints() == std::vector<int64_t>{0, 5});
}

TEST_CASE("expr lead: lookahead protocol and the default past the last tick") {
  Batch b = sizes_batch({5, 6, 7});
  // Everything at once is the end of the stream: leads past the last tick are defaults.
  CHECK(eval("SIZE[+1]", b).ints() == std::vector<int64_t>{6, 7, 0});
  CHECK(eval("SIZE[+2]", b).ints() == std::vector<int64_t>{7, 0, 0});
  CHECK(eval("NAME[+1]", b).strings() == std::vector<std::string>{"6", "7", ""});
  CHECK(std::isnan(eval("PRICE[+1]", b).doubles()[2]));
  CHECK(eval("SIZE[+1][-1]", b).ints() == std::vector<int64_t>{0, 6, 7});
  CHECK(eval("SIZE[-1][+1]", b).ints() == std::vector<int64_t>{5, 6, 0});
  CHECK(compile_ok("SIZE[+1][+2] + SIZE[+1]")->max_lead() == 3);

  Batch all = sizes_batch(iota_sizes(5'000));
  for (const char* text : {"SIZE[+1]", "SIZE[+3] - SIZE[-2]", "SIZE[+1][+1] + SIZE[+2]",
                           "if(SIZE > 0, SIZE[+1], SIZE[-1])", "(SIZE[-1] + SIZE)[+2]"}) {
    const auto reference = eval_with_lookahead(text, all, all.size());
    REQUIRE(reference.size() == all.size());
    for (size_t batch_size : {1, 3, 4096}) {
      CAPTURE(text);
      CAPTURE(batch_size);
      CHECK(eval_with_lookahead(text, all, batch_size) == reference);
    }
  }
  const auto lead = eval_with_lookahead("SIZE[+3] - SIZE[-2]", all, 3);
  const auto& s = all.columns[1].ints();
  CHECK(lead[0] == s[3]);
  CHECK(lead[10] == s[13] - s[8]);
  CHECK(lead[4998] == 0 - s[4996]);
}

TEST_CASE("expr errors at run time: integer % by zero names the tick") {
  Batch b = sizes_batch({3, 0, 2}, 5'000);
  auto compiled = compile_ok("10 % SIZE");
  auto state = compiled->make_state();
  Column out(Type::Int);
  try {
    compiled->evaluate(b, *state, out, {});
    FAIL("expected a RuntimeError");
  } catch (const RuntimeError& e) {
    CHECK(e.message() == "integer % by zero (10 % 0), in the expression at q.yaml:1:4");
    REQUIRE(e.tick_time);
    CHECK(*e.tick_time == 5'001);
  }
  // Guards decide which rows count.
  CHECK(eval("if(SIZE != 0, 10 % SIZE, -1)", b).ints() == std::vector<int64_t>{1, -1, 0});
  CHECK(eval("SIZE != 0 and 10 % SIZE == 1", b).bools() == std::vector<uint8_t>{1, 0, 0});
  CHECK(eval("SIZE == 0 or 10 % SIZE == 0", b).bools() == std::vector<uint8_t>{0, 1, 1});
  // The `active` rows of update_field's where:.
  const uint8_t active[] = {1, 0, 1};
  compiled->evaluate(b, b.size(), *state, out, {}, active);
  CHECK(out.ints()[0] == 1);
  CHECK(out.ints()[2] == 0);
  // Lookahead rows do not count yet: they are evaluated again when committed.
  compiled->evaluate(b, 1, *state, out, {});
  CHECK(out.ints() == std::vector<int64_t>{1});
  // A scalar failure raises at the first row that counts.
  auto parsed = compile_ok("int(SYMBOL)");
  auto parsed_state = parsed->make_state();
  try {
    parsed->evaluate(b, *parsed_state, out, {"AAPL", nullptr});
    FAIL("expected a RuntimeError");
  } catch (const RuntimeError& e) {
    CHECK(e.message().starts_with("int(): 'AAPL' is not an integer"));
    CHECK(*e.tick_time == 5'000);
  }
}

TEST_CASE("expr state: values come from the StateReader") {
  struct Reader : StateReader {
    void read(size_t id, const Batch& batch, size_t rows, Column& out) const override {
      CHECK(id == 7);
      out.ints().resize(rows);
      for (size_t i = 0; i < rows; ++i) out.ints()[i] = batch.times[i] * 10;
    }
  } reader;
  static SchemaPtr schema = test_schema();
  ExprContext cx = test_context(schema.get());
  cx.state = [](std::string_view) -> std::optional<StateRef> { return StateRef{Type::Int, 7}; };
  auto compiled = compile_ok("state.S + SIZE", &cx);
  CHECK(compiled->uses_state());
  CHECK_FALSE(compile_ok("SIZE")->uses_state());
  auto state = compiled->make_state();
  Batch b = sizes_batch({1, 2}, 100);
  Column out(Type::Int);
  compiled->evaluate(b, *state, out, {"", &reader});
  CHECK(out.ints() == std::vector<int64_t>{1001, 1012});
}

TEST_CASE("expr eval: a schema that grows (add_field entries in order)") {
  static SchemaPtr base = test_schema();
  std::vector<Field> fields = base->fields();
  fields.push_back({"N", Type::Double});
  static SchemaPtr grown = make_schema(fields);
  ExprContext first = test_context(base.get());
  ExprContext second = test_context(grown.get());
  auto n = compile_ok("PRICE * SIZE", &first);
  auto m = compile_ok("if(SIZE > 500, N / 2, N)", &second);
  Batch b = make_batch({{2.0, 1000, "", false, 0, 0}, {3.0, 10, "", false, 0, 0}});
  auto sn = n->make_state();
  auto sm = m->make_state();
  Column out(Type::Int);
  n->evaluate(b, *sn, out, {});
  b.columns.push_back(std::move(out));
  Column out2(Type::Int);
  m->evaluate(b, *sm, out2, {});
  CHECK(out2.doubles() == std::vector<double>{1000.0, 30.0});
}
