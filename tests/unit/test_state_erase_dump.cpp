// Unit tests of the state EPs state_erase and state_dump (helpers in
// state_eps_test_support.hpp).
#include "state_eps_test_support.hpp"

// ================================================================ state_erase

namespace {

// Fills SEEN / ALL / PAIRS of `run` directly through the store.
void fill(Run& run, const std::string& name, const std::vector<StateEntry>& entries) {
  TickContainer& c = run.store.tick_container(id_of(run.bind_.query(), name));
  for (const auto& e : entries) c.insert(e);
}

std::vector<StateEntry> seen_entries() {
  return {{int64_t{1}, 10.0}, {int64_t{2}, 20.0}, {int64_t{3}, 30.0}};
}

}  // namespace

TEST_CASE("state_erase: by key expressions") {
  StateBind bind("state_erase", "from: SEEN\nkey: ['X + 1']", {x_schema()});
  Run run(bind);
  CHECK(bind.used("SEEN", BindContext::StateAccess::Write));
  CHECK(*bind.output_schema == *x_schema());
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(x_schema(), x_rows({0, 2, 7})));  // erases 1 and 3; 8 is not there
  CHECK(run.entries("SEEN") == std::vector<std::string>{"2|20"});
}

TEST_CASE("state_erase: a single key expression may be written without a list") {
  StateBind bind("state_erase", "from: SEEN\nkey: X", {x_schema()});
  Run run(bind);
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(x_schema(), x_rows({2})));
  CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "3|30"});
}

TEST_CASE("state_erase: by default the key is the tick's same-named fields") {
  StateBind bind("state_erase", "from: PAIRS", {order_schema()});
  Run run(bind);
  fill(run, "PAIRS",
       {{int64_t{1}, std::string("X"), int64_t{5}}, {int64_t{1}, std::string("Y"), int64_t{6}}});
  run.feed(make_ticks(order_schema(),
                      {{int64_t{1}, 0.0, std::string("Y")}, {int64_t{2}, 0.0, std::string("X")}}));
  CHECK(run.entries("PAIRS") == std::vector<std::string>{"1|\"X\"|5"});
}

TEST_CASE("state_erase: where decides whether a tick erases") {
  StateBind bind("state_erase", "from: SEEN\nwhere: 'PX > 0'", {order_schema()});
  Run run(bind);
  fill(run, "SEEN", seen_entries());
  run.feed(make_ticks(order_schema(), {{int64_t{1}, 0.0, std::string()},
                                       {int64_t{2}, 1.0, std::string()},
                                       {int64_t{3}, -1.0, std::string()}}));
  CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "3|30"});
}

TEST_CASE("state_erase: a list loses its oldest entry per erasing tick") {
  SUBCASE("every tick") {
    StateBind bind("state_erase", "from: ALL", {x_schema()});
    Run run(bind);
    fill(run, "ALL", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 0})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"3|30"});
    run.feed(make_ticks(x_schema(), x_rows({0, 0}), 200));  // the second finds it empty
    CHECK(run.entries("ALL").empty());
  }
  SUBCASE("with where") {
    StateBind bind("state_erase", "from: ALL\nwhere: 'X == 1'", {x_schema()});
    Run run(bind);
    fill(run, "ALL", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 1, 0})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"2|20", "3|30"});
  }
  SUBCASE("a condition on the container itself, tick by tick") {
    for (size_t size : {1, 4}) {
      CAPTURE(size);
      StateBind bind("state_erase", "from: ALL\nwhere: 'state.ALL.size() > 1'", {x_schema()});
      Run run(bind);
      fill(run, "ALL", seen_entries());
      run.feed_split(make_ticks(x_schema(), x_rows({0, 0, 0, 0})), size);
      CHECK(run.entries("ALL") == std::vector<std::string>{"3|30"});
    }
  }
}

TEST_CASE("state_erase: load-time errors") {
  SUBCASE("a key for a list") {
    std::string e = bind_errors("state_erase", "from: ALL\nkey: [ID]");
    CHECK(contains(e,
                   "test.yaml:2:6: a tick_list has no key: state_erase removes its oldest "
                   "entry on each erasing tick"));
  }
  SUBCASE("a key for a deque") {
    std::string e = bind_errors("state_erase", "from: RECENT\nkey: [ID]");
    CHECK(contains(e, "a tick_deque has no key"));
  }
  SUBCASE("the wrong number of key values") {
    std::string e = bind_errors("state_erase", "from: PAIRS\nkey: [ID]");
    CHECK(contains(e, "state.PAIRS has 2 key fields (ID, VENUE) but key: gives 1 value"));
  }
  SUBCASE("key: is not a list of expressions") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: {ID: 1}");
    CHECK(contains(e, "key: expected a list of expressions, one per key field of state.SEEN (ID)"));
  }
  SUBCASE("a key value of the wrong type") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: [VENUE]");
    CHECK(contains(e, "test.yaml:2:7: the key value for ID must be int, found string"));
  }
  SUBCASE("the default key is missing from the input") {
    std::string e = bind_errors("state_erase", "from: SEEN", x_schema());
    CHECK(contains(e, "test.yaml:1:7: input 'up0' has no field ID for field ID of state.SEEN"));
    CHECK(contains(e, "give the key as key: [expression, ...] (ID)"));
  }
  SUBCASE("a scalar") {
    std::string e = bind_errors("state_erase", "from: N");
    CHECK(contains(e, "state variable 'N' is a scalar; state_erase needs a tick_set"));
  }
  SUBCASE("unknown") {
    std::string e = bind_errors("state_erase", "from: PAIR");
    CHECK(contains(e, "unknown state variable 'PAIR' (did you mean 'PAIRS'?)"));
  }
  SUBCASE("a lead in the key") {
    std::string e = bind_errors("state_erase", "from: SEEN\nkey: ['ID[+1]']");
    CHECK(contains(e, "test.yaml:2:10: state_erase cannot look ahead"));
  }
}

// ================================================================ state_dump

TEST_CASE("state_dump: when: end") {
  SUBCASE("stamped with the last input tick") {
    StateBind bind("state_dump", "var: SEEN", {x_schema()});
    Run run(bind);
    CHECK(bind.used("SEEN", BindContext::StateAccess::Read));
    CHECK(*bind.output_schema == *bind.query().state[id_of(bind.query(), "SEEN")].fields);
    CHECK(bind.output_time_ordered);
    CHECK(bind.accumulation.kind == Accumulation::Kind::None);
    fill(run, "SEEN", seen_entries());
    run.feed(make_ticks(x_schema(), x_rows({0, 0})), false);
    run.feed(make_ticks(x_schema(), x_rows({0}), 500), false);
    CHECK(run.sink.batches.empty());
    fill(run, "SEEN", {{int64_t{4}, 40.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"500|1|10", "500|2|20", "500|3|30", "500|4|40"});
  }
  SUBCASE("no tick: the range end") {
    QueryInfo q = standard_query();
    q.range_end = 9'000;
    StateBind bind("state_dump", "var: ALL\nwhen: end", {x_schema()}, q);
    Run run(bind);
    fill(run, "ALL", {{int64_t{1}, 1.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"9000|1|1"});
  }
  SUBCASE("no tick and no range: the epoch") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind);
    fill(run, "ALL", {{int64_t{1}, 1.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"0|1|1"});
  }
  SUBCASE("an empty container emits nothing") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    CHECK(run.sink.batches.empty());
  }
  SUBCASE("in batches of the run's batch size, list front to back") {
    StateBind bind("state_dump", "var: ALL", {x_schema()});
    Run run(bind, 2);
    fill(run, "ALL", {{int64_t{3}, 1.0}, {int64_t{1}, 2.0}, {int64_t{2}, 3.0}});
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    REQUIRE(run.sink.batches.size() == 2);
    CHECK(run.sink.batches[0].size() == 2);
    CHECK(run.output() == std::vector<std::string>{"100|3|1", "100|1|2", "100|2|3"});
  }
  SUBCASE("a tick_set in order of first insertion, with keep: last values") {
    StateBind bind("state_dump", "var: LAST_SEEN", {x_schema()});
    Run run(bind);
    fill(run, "LAST_SEEN", {{int64_t{5}, 1.0}, {int64_t{2}, 2.0}, {int64_t{5}, 3.0}});
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"0|5|3", "0|2|2"});
  }
  SUBCASE("a scalar") {
    StateBind bind("state_dump", "var: NAME", {x_schema()});
    Run run(bind);
    CHECK(*bind.output_schema == Schema({{"NAME", Type::String}}));
    run.feed(make_ticks(x_schema(), x_rows({0})), false);
    run.finish();
    CHECK(run.output() == std::vector<std::string>{"100|\"none\""});
  }
}

TEST_CASE("state_dump: when: every_tick") {
  StateBind bind("state_dump", "var: RECENT\nwhen: every_tick", {x_schema()});
  bind.set_input_time_ordered(false);
  Run run(bind);
  CHECK_FALSE(bind.output_time_ordered);                 // as ordered as the trigger
  run.feed(make_ticks(x_schema(), x_rows({0})), false);  // empty: nothing
  CHECK(run.sink.batches.empty());
  fill(run, "RECENT", {{1.5}, {2.5}});
  run.feed(make_ticks(x_schema(), x_rows({0, 0}), 200), false);
  fill(run, "RECENT", {{3.5}});
  run.feed(make_ticks(x_schema(), x_rows({0}), 300), false);
  run.finish();
  CHECK(run.output() ==
        std::vector<std::string>{"200|1.5", "200|2.5", "201|1.5", "201|2.5", "300|2.5", "300|3.5"});
}

TEST_CASE("state_dump: a scalar on every tick follows set_state") {
  // set_state then state_dump on the same ticks, one tick at a time as the planner runs them.
  QueryInfo q = standard_query();
  StateBind set("set_state", "assign: {S: 'state.S + X'}", {x_schema()}, q);
  StateBind dump("state_dump", "var: S\nwhen: every_tick", {x_schema()}, q);
  StateStore store(q.state);
  RunContext ctx;
  ctx.query = &q;
  ctx.state = &store;
  auto set_op = set.bind()(ctx);
  auto dump_op = dump.bind()(ctx);
  CollectingSink middle, out;
  Batch ticks = make_ticks(x_schema(), x_rows({1, 2, 3}));
  for (size_t i = 0; i < ticks.size(); ++i) {
    set_op->process(0, ticks.slice(i, i + 1), middle);
    dump_op->process(0, std::move(middle.batches.back()), out);
  }
  CHECK(rows_of(out.batches) == std::vector<std::string>{"100|1", "101|3", "102|6"});
}

TEST_CASE("state_dump: load-time errors") {
  SUBCASE("unknown variable") {
    std::string e = bind_errors("state_dump", "var: RECNT");
    CHECK(contains(e, "test.yaml:1:6: unknown state variable 'RECNT' (did you mean 'RECENT'?)"));
  }
  SUBCASE("bad when") {
    std::string e = bind_errors("state_dump", "var: ALL\nwhen: every");
    CHECK(contains(e, "test.yaml:2:7: when: expected end or every_tick, got 'every'"));
  }
}

TEST_CASE("state EPs are documented") {
  for (const char* name : {"set_state", "state_insert", "state_erase", "state_dump"}) {
    CAPTURE(name);
    const EpDefinition* def = registry().find(name);
    REQUIRE(def);
    CHECK_FALSE(def->doc.empty());
    CHECK(def->accumulation == "none");
    for (const auto& p : def->params) CHECK_FALSE(p.doc.empty());
  }
}
