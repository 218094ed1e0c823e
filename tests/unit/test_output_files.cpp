// OutputFile (temporary file, rename on commit) and the write_csv / write_jsonl EPs.
#include <doctest/doctest.h>

#include "test_bind_support.hpp"
#include "writer_test_support.hpp"

using namespace tickflow;
using namespace writer_test;
namespace fs = std::filesystem;

TEST_CASE("OutputFile: the target appears only on commit") {
  TempDir dir;
  fs::path target = dir.path / "result.csv";
  {
    std::ofstream(target) << "old contents\n";
    auto out = OutputFile::open(target.string());
    out->write("new ");
    out->write("contents\n");
    CHECK(read_file(target) == "old contents\n");
    CHECK(dir.entries().size() == 2);  // the target and the temporary file beside it
    out->commit();
    CHECK(read_file(target) == "new contents\n");
  }
  CHECK(dir.entries() == std::vector<std::string>{"result.csv"});
}

TEST_CASE("OutputFile: abort and destruction without commit remove the temporary file") {
  TempDir dir;
  fs::path target = dir.path / "result.csv";
  {
    auto out = OutputFile::open(target.string());
    out->write("partial");
    out->abort();
    out->abort();  // idempotent
  }
  CHECK(dir.entries().empty());
  {
    auto out = OutputFile::open(target.string());
    out->write("partial");
  }
  CHECK(dir.entries().empty());
  {
    std::ofstream(target) << "kept\n";
    auto out = OutputFile::open(target.string());
    out->write("partial");
  }
  CHECK(dir.entries() == std::vector<std::string>{"result.csv"});
  CHECK(read_file(target) == "kept\n");
}

TEST_CASE("OutputFile: errors name the path") {
  TempDir dir;
  std::string missing = (dir.path / "no-such-dir" / "out.csv").string();
  try {
    OutputFile::open(missing);
    FAIL("expected RuntimeError");
  } catch (const RuntimeError& e) {
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
    CHECK(std::string(e.what()).find("No such file or directory") != std::string::npos);
  }
  CHECK_THROWS_AS(OutputFile::open(dir.path.string()), RuntimeError);
  if (fs::exists("/dev/full")) {
    auto out = OutputFile::open("/dev/full");
    auto write_and_commit = [&] {
      out->write("x");
      out->commit();
    };
    CHECK_THROWS_WITH_AS(write_and_commit(), doctest::Contains("/dev/full"), RuntimeError);
  }
}

TEST_CASE("OutputFile: special files are written in place") {
  // Renaming a temporary file onto /dev/null would replace the device.
  auto out = OutputFile::open("/dev/null");
  out->write("discarded");
  out->commit();
  CHECK(fs::is_character_file("/dev/null"));
}

TEST_CASE("OutputFile: a symlink target is replaced behind the link") {
  TempDir dir;
  fs::path real = dir.path / "real.csv";
  fs::path link = dir.path / "link.csv";
  std::ofstream(real) << "old\n";
  fs::create_symlink(real, link);
  auto out = OutputFile::open(link.string());
  out->write("new\n");
  out->commit();
  CHECK(fs::is_symlink(link));
  CHECK(read_file(real) == "new\n");
}

// ---------------------------------------------------------------- write_csv / write_jsonl EPs

namespace {

struct NullSink : OutputSink {
  void emit(size_t, Batch&&) override { FAIL("a sink must not emit"); }
};

const Registry& writer_registry() {
  static const Registry registry = [] {
    Registry r;
    eps::register_writers(r);
    return r;
  }();
  return registry;
}

const EpDefinition& writer_ep(const std::string& name) {
  const EpDefinition* def = writer_registry().find(name);
  REQUIRE(def != nullptr);
  return *def;
}

// Binds the writer EP `ep` reading `schema`, with `path` as its path parameter.
class WriterBind : public bind_test::EpBind {
 public:
  WriterBind(const std::string& ep, SchemaPtr schema, const std::string& path, QueryInfo query)
      : EpBind(writer_registry(), ep, "path: \"" + path + "\"", {std::move(schema)},
               std::move(query)) {}
};

QueryInfo query_in(const fs::path& dir, std::vector<std::string> symbols = {}) {
  QueryInfo query;
  query.file = (dir / "q.yaml").string();
  query.base_dir = dir.string();
  query.symbols = std::move(symbols);
  return query;
}

std::unique_ptr<Operator> run_symbol(const OperatorFactory& factory, const QueryInfo& query,
                                     const std::string& symbol, const std::vector<Batch>& batches) {
  RunContext context;
  context.node_id = "sink";
  context.symbol = symbol;
  context.query = &query;
  auto op = factory(context);
  NullSink sink;
  for (const Batch& batch : batches) op->process(0, Batch(batch), sink);
  op->input_finished(0, sink);
  op->finish(sink);
  return op;
}

}  // namespace

TEST_CASE("write_csv / write_jsonl definitions are sinks") {
  for (const char* name : {"write_csv", "write_jsonl"}) {
    const EpDefinition& def = writer_ep(name);
    CHECK(def.inputs == std::vector<std::string>{"in"});
    CHECK(def.outputs.empty());
    REQUIRE(def.params.size() == 1);
    CHECK(def.params[0].name == "path");
    CHECK(def.params[0].required);
    CHECK(def.accumulation == "none");
  }
}

TEST_CASE("write_csv: path relative to the query file, committed on success") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path);
  WriterBind ctx("write_csv", schema, "out.csv", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(ctx.errors.empty());
  REQUIRE(factory);
  CHECK(ctx.outputs_set == 0);
  auto op = run_symbol(factory, query, "", {BatchBuilder(schema).add(kT0, {int64_t{5}}).batch});
  CHECK_FALSE(fs::exists(dir.path / "out.csv"));
  op->commit();
  CHECK(read_file(dir.path / "out.csv") == "TIMESTAMP,X\n2024-01-02 09:30:00.000000000,5\n");
  CHECK(op->held().ticks == 0);
}

TEST_CASE("write_jsonl: abort leaves nothing behind") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path);
  WriterBind ctx("write_jsonl", schema, "out.jsonl", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(factory);
  auto op = run_symbol(factory, query, "", {BatchBuilder(schema).add(kT0, {int64_t{5}}).batch});
  op->abort();
  op.reset();
  CHECK(dir.entries().empty());
}

TEST_CASE("write_csv: zero ticks give a header-only file") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path);
  WriterBind ctx("write_csv", schema, "empty.csv", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(factory);
  run_symbol(factory, query, "", {})->commit();
  CHECK(read_file(dir.path / "empty.csv") == "TIMESTAMP,X\n");
}

TEST_CASE("write_csv: {symbol} gives one file per symbol with a SYMBOL column") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path, {"A", "B"});
  WriterBind ctx("write_csv", schema, "out_{symbol}.csv", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(factory);
  auto a = run_symbol(factory, query, "A", {BatchBuilder(schema).add(kT0, {int64_t{1}}).batch});
  auto b = run_symbol(factory, query, "B", {BatchBuilder(schema).add(kT0, {int64_t{2}}).batch});
  b->commit();
  a->commit();
  CHECK(read_file(dir.path / "out_A.csv") ==
        "TIMESTAMP,SYMBOL,X\n2024-01-02 09:30:00.000000000,A,1\n");
  CHECK(read_file(dir.path / "out_B.csv") ==
        "TIMESTAMP,SYMBOL,X\n2024-01-02 09:30:00.000000000,B,2\n");
  CHECK(dir.entries() == std::vector<std::string>{"out_A.csv", "out_B.csv"});
}

TEST_CASE("write_csv: several symbols into one file keep symbol-list order") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path, {"A", "B", "C"});
  WriterBind ctx("write_csv", schema, "all.csv", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(factory);
  auto a =
      run_symbol(factory, query, "A",
                 {BatchBuilder(schema).add(kT0, {int64_t{1}}).add(kT0 + 5, {int64_t{2}}).batch});
  auto b = run_symbol(factory, query, "B", {});
  auto c = run_symbol(factory, query, "C", {BatchBuilder(schema).add(kT0, {int64_t{3}}).batch});
  // Commit order differs from list order; the file must not.
  c->commit();
  a->commit();
  CHECK_FALSE(fs::exists(dir.path / "all.csv"));
  b->commit();
  CHECK(read_file(dir.path / "all.csv") ==
        "TIMESTAMP,SYMBOL,X\n"
        "2024-01-02 09:30:00.000000000,A,1\n"
        "2024-01-02 09:30:00.000000005,A,2\n"
        "2024-01-02 09:30:00.000000000,C,3\n");
  CHECK(dir.entries() == std::vector<std::string>{"all.csv"});
}

TEST_CASE("write_csv: several symbols into one file, aborted") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  QueryInfo query = query_in(dir.path, {"A", "B"});
  WriterBind ctx("write_csv", schema, "all.csv", query);
  OperatorFactory factory = ctx.bind();
  REQUIRE(factory);
  {
    auto a = run_symbol(factory, query, "A", {BatchBuilder(schema).add(kT0, {int64_t{1}}).batch});
    auto b = run_symbol(factory, query, "B", {});
    a->commit();
    b->abort();
    a->abort();
  }
  factory = nullptr;
  CHECK(dir.entries().empty());
}

TEST_CASE("write_csv: {symbol} without symbols is a bind error") {
  TempDir dir;
  auto schema = make_schema({{"X", Type::Int}});
  WriterBind ctx("write_csv", schema, "out_{symbol}.csv", query_in(dir.path));
  ctx.bind();
  REQUIRE(ctx.errors.size() == 1);
  CHECK(ctx.errors[0].find("{symbol}") != std::string::npos);
}
