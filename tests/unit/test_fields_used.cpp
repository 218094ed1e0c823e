// The loader's field use (BindContext::reads_only, fields_used): a source that asks is bound
// again with the fields the rest of the query uses, EPs that declare what they read let
// unused fields go, any other consumer or a query output keeps every field, and a second
// binding that fails leaves the first in place.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/query.hpp"
#include "tickflow/registry.hpp"

namespace {

using namespace tickflow;

// A source of fields A (int), B (double), C (string) that leaves out what is unused.
OperatorFactory bind_narrowing_source(BindContext& ctx) {
  std::vector<Field> fields = {{"A", Type::Int}, {"B", Type::Double}, {"C", Type::String}};
  if (const std::vector<std::string>* used = ctx.fields_used(0)) {
    std::erase_if(fields, [&](const Field& f) {
      return std::find(used->begin(), used->end(), f.name) == used->end();
    });
  }
  ctx.set_output(0, make_schema(std::move(fields)), true);
  return [](const RunContext&) { return std::make_unique<Operator>(); };
}

// Declares that it reads nothing, yet needs field C to exist: a wrong declaration.
OperatorFactory bind_wrong_declaration(BindContext& ctx) {
  ctx.reads_only(0, {});
  if (!ctx.require_field(0, "C", ctx.node_location())) return {};
  ctx.set_output(0, ctx.input(0).schema, true);
  return [](const RunContext&) { return std::make_unique<Operator>(); };
}

Registry test_registry() {
  Registry registry;
  eps::register_builtins(registry);
  EpDefinition source;
  source.name = "narrowing_source";
  source.doc = "test source";
  source.outputs = {"out"};
  source.accumulation = "none";
  source.bind = bind_narrowing_source;
  registry.add(std::move(source));
  EpDefinition wrong;
  wrong.name = "wrong_declaration";
  wrong.doc = "test EP";
  wrong.inputs = {"in"};
  wrong.outputs = {"out"};
  wrong.accumulation = "none";
  wrong.bind = bind_wrong_declaration;
  registry.add(std::move(wrong));
  return registry;
}

// The fields node `src` declares once `nodes` (YAML under nodes:, then the rest) is loaded.
std::vector<std::string> source_fields(const std::string& body) {
  static const Registry registry = test_registry();
  Diagnostics diags;
  auto query = load_query_text("tickflow: 1\nnodes:\n  src: {ep: narrowing_source}\n" + body,
                               "q.yaml", registry, {}, diags);
  REQUIRE_MESSAGE(query, (diags.has_errors() ? diags.items()[0].to_string() : body));
  CHECK(diags.size() == 0);
  return query->find("src")->output_schemas[0]->names();
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("a query output uses every field") {
  CHECK(source_fields("") == Names{"A", "B", "C"});
  CHECK(source_fields("  big: {ep: where, in: src, if: B > 0}\n") == Names{"A", "B", "C"});
}

TEST_CASE("an aggregate reads its keys and arguments") {
  CHECK(source_fields("  s: {ep: aggregate, in: src, aggs: {N: sum(A)}}\n") == Names{"A"});
  CHECK(source_fields("  s: {ep: aggregate, in: src, group_by: [C], aggs: {N: count()}}\n") ==
        Names{"C"});
  CHECK(source_fields("  s: {ep: aggregate, in: src, aggs: {V: 'vwap(B, A * 2)'}}\n") ==
        Names{"A", "B"});
}

TEST_CASE("where, add_field, keep, rename and update_field pass on what is used after them") {
  CHECK(source_fields("  big: {ep: where, in: src, if: B > 0}\n"
                      "  k: {ep: keep, in: big, fields: [A]}\n") == Names{"A", "B"});
  CHECK(source_fields("  d: {ep: add_field, in: src, set: {D: A * 2, E: D + 1}}\n"
                      "  k: {ep: keep, in: d, fields: [E]}\n") == Names{"A"});
  CHECK(source_fields("  r: {ep: rename, in: src, fields: {A: X}}\n"
                      "  k: {ep: keep, in: r, fields: [X]}\n") == Names{"A"});
  CHECK(source_fields("  u: {ep: update_field, in: src, set: {A: A + 1}}\n"
                      "  k: {ep: keep, in: u, fields: [C]}\n") == Names{"A", "C"});
  CHECK(source_fields("  u: {ep: update_field, in: src, set: {A: 1}, where: 'C == \"x\"'}\n"
                      "  k: {ep: keep, in: u, fields: [B]}\n") == Names{"A", "B", "C"});
  // A dropped field must exist, so it is still read.
  CHECK(source_fields("  d: {ep: drop, in: src, fields: [B]}\n"
                      "  s: {ep: aggregate, in: d, aggs: {N: sum(A)}}\n") == Names{"A", "B"});
}

TEST_CASE("a consumer that declares nothing, or any output among several, uses every field") {
  CHECK(source_fields("  o: {ep: order_by, in: src, by: [A]}\n"
                      "  s: {ep: aggregate, in: o, aggs: {N: sum(A)}}\n") == Names{"A", "B", "C"});
  CHECK(source_fields("  s: {ep: aggregate, in: src, aggs: {N: sum(A)}}\n"
                      "  k: {ep: keep, in: src, fields: [B]}\n"
                      "output: [s, k]\n") == Names{"A", "B"});
  CHECK(source_fields("  s: {ep: aggregate, in: src, aggs: {N: sum(A)}}\n"
                      "  all: {ep: where, in: src, if: 'true'}\n"
                      "output: [s, all]\n") == Names{"A", "B", "C"});
}

TEST_CASE("a failed second binding keeps the first, which reads every field") {
  CHECK(source_fields("  w: {ep: wrong_declaration, in: src}\n"
                      "  s: {ep: aggregate, in: w, aggs: {N: sum(A)}}\n") == Names{"A", "B", "C"});
}
