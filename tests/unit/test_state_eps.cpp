// Unit tests of the state EPs set_state and state_insert, run directly through their
// bind functions and operators with a BindContext whose query declares state variables,
// and a StateStore owned by the test (state_erase and state_dump: test_state_erase_dump.cpp).
#include "state_eps_test_support.hpp"

// ================================================================ set_state

TEST_CASE("set_state: assignments run in order, each tick after the previous tick's") {
  StateBind bind("set_state", "assign: {A: 'state.A + 1', B: 'state.A * 2'}", {x_schema()});
  Run run(bind);
  CHECK(*bind.output_schema == *x_schema());
  CHECK(bind.output_time_ordered);
  CHECK(bind.accumulation.kind == Accumulation::Kind::None);
  CHECK(bind.used("A", BindContext::StateAccess::Write));
  CHECK(bind.used("B", BindContext::StateAccess::Write));
  CHECK(bind.used("A", BindContext::StateAccess::Read));
  CHECK_FALSE(bind.used("B", BindContext::StateAccess::Read));
  run.feed(make_ticks(x_schema(), x_rows({5, 6, 7})));
  CHECK(std::get<int64_t>(run.scalar("A")) == 3);
  CHECK(std::get<int64_t>(run.scalar("B")) == 6);
  run.feed(make_ticks(x_schema(), x_rows({8}), 200));
  CHECK(std::get<int64_t>(run.scalar("A")) == 4);
  CHECK(std::get<int64_t>(run.scalar("B")) == 8);
}

TEST_CASE("set_state: running sum gives the same result for every batch size") {
  for (size_t size : {1, 2, 3, 7}) {
    CAPTURE(size);
    StateBind bind("set_state", "assign: {S: 'state.S + X', D: X, NAME: string(X)}", {x_schema()});
    Run run(bind);
    run.feed_split(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})), size);
    CHECK(std::get<int64_t>(run.scalar("S")) == 15);
    CHECK(std::get<double>(run.scalar("D")) == 5.0);  // int converted for a double
    CHECK(std::get<std::string>(run.scalar("NAME")) == "5");
  }
}

TEST_CASE("set_state: without reads of its own variables the last tick wins") {
  StateBind bind("set_state", "assign: {A: 'X * 10', NAME: \"'x' + string(X)\"}", {x_schema()});
  Run run(bind);
  CHECK_FALSE(bind.used("A", BindContext::StateAccess::Read));
  run.feed(make_ticks(x_schema(), x_rows({1, 2, 3})));
  CHECK(std::get<int64_t>(run.scalar("A")) == 30);
  CHECK(std::get<std::string>(run.scalar("NAME")) == "x3");
  // An empty batch changes nothing and emits nothing.
  run.op->process(0, Batch(x_schema()), run.sink);
  CHECK(run.sink.batches.size() == 1);
}

TEST_CASE("set_state: where decides which ticks assign") {
  SUBCASE("whole batch (where reads no assigned variable)") {
    StateBind bind("set_state", "assign: {A: X}\nwhere: 'X < 3'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 5, 4})));
    CHECK(std::get<int64_t>(run.scalar("A")) == 2);
    run.feed(make_ticks(x_schema(), x_rows({7, 8}), 200));
    CHECK(std::get<int64_t>(run.scalar("A")) == 2);  // no tick passed: unchanged
  }
  SUBCASE("tick by tick (running sum of odd X)") {
    StateBind bind("set_state", "assign: {S: 'state.S + X'}\nwhere: 'X % 2 == 1'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})));
    CHECK(std::get<int64_t>(run.scalar("S")) == 9);
  }
  SUBCASE("the condition sees the previous ticks' writes") {
    for (size_t size : {1, 4}) {
      CAPTURE(size);
      StateBind bind("set_state", "assign: {N: 'state.N + 1', A: X}\nwhere: 'state.N < 2'",
                     {x_schema()});
      Run run(bind);
      run.feed_split(make_ticks(x_schema(), x_rows({10, 20, 30, 40})), size);
      CHECK(std::get<int64_t>(run.scalar("N")) == 2);
      CHECK(std::get<int64_t>(run.scalar("A")) == 20);
    }
  }
  SUBCASE("an expression that would fail on a skipped tick raises nothing") {
    StateBind bind("set_state", "assign: {A: '100 % X'}\nwhere: 'X != 0'", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({7, 0, 30})));
    CHECK(std::get<int64_t>(run.scalar("A")) == 10);  // 100 % 30
  }
}

TEST_CASE("set_state: lags see every tick this node saw") {
  SUBCASE("difference to the previous tick, across batches") {
    StateBind bind("set_state", "assign: {D: 'X - X[-1]'}", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 4})));
    CHECK(std::get<double>(run.scalar("D")) == 3.0);
    run.feed(make_ticks(x_schema(), x_rows({9}), 200));
    CHECK(std::get<double>(run.scalar("D")) == 5.0);
  }
  SUBCASE("tick by tick with a lag") {
    for (size_t size : {1, 2, 5}) {
      CAPTURE(size);
      StateBind bind("set_state", "assign: {S: 'state.S + X[-1]'}", {x_schema()});
      Run run(bind);
      run.feed_split(make_ticks(x_schema(), x_rows({1, 2, 3, 4, 5})), size);
      CHECK(std::get<int64_t>(run.scalar("S")) == 10);  // 0 + 1 + 2 + 3 + 4
    }
  }
  SUBCASE("ticks skipped by where still count for the lag") {
    StateBind bind("set_state", "assign: {P: 'X[-1]', S: 'state.S + X[-1]'}\nwhere: 'X > 2'",
                   {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2, 3, 4})));
    CHECK(std::get<double>(run.scalar("P")) == 3.0);
    CHECK(std::get<int64_t>(run.scalar("S")) == 5);  // 2 (at X=3) + 3 (at X=4)
  }
}

TEST_CASE("set_state: reads the store of its run and fails without one") {
  StateBind bind("set_state", "assign: {A: 'state.A + X'}", {x_schema()});
  OperatorFactory factory = bind.bind();
  REQUIRE(factory);
  RunContext run;
  run.query = &bind.query();
  auto op = factory(run);  // no state store
  CollectingSink sink;
  CHECK_THROWS_WITH_AS(op->process(0, make_ticks(x_schema(), x_rows({1})), sink),
                       "the query declares no state", RuntimeError);
}

TEST_CASE("set_state: load-time errors") {
  SUBCASE("unknown variable, with did-you-mean at the key") {
    std::string e = bind_errors("set_state", "assign:\n  SEEM: 1\n");
    CHECK(contains(e, "test.yaml:2:3: unknown state variable 'SEEM' (did you mean 'SEEN'?)"));
  }
  SUBCASE("a query without state") {
    std::string e = bind_errors("set_state", "assign: {A: 1}", order_schema(), QueryInfo{});
    CHECK(contains(e, "unknown state variable 'A' (the query declares no state:)"));
  }
  SUBCASE("state. prefix") {
    std::string e = bind_errors("set_state", "assign: {state.A: 1}");
    CHECK(contains(e, "name the variable without 'state.': A"));
  }
  SUBCASE("a container") {
    std::string e = bind_errors("set_state", "assign:\n  SEEN: 1\n");
    CHECK(contains(e,
                   "test.yaml:2:3: state variable 'SEEN' is a tick_set; set_state assigns "
                   "scalars (state_insert and state_erase change containers)"));
  }
  SUBCASE("wrong type") {
    std::string e = bind_errors("set_state", "assign:\n  A: VENUE\n");
    CHECK(contains(e, "test.yaml:2:6: the value of state.A must be int, found string"));
  }
  SUBCASE("double for an int") {
    std::string e = bind_errors("set_state", "assign: {A: PX}");
    CHECK(contains(e, "the value of state.A must be int, found double"));
  }
  SUBCASE("where must be bool") {
    std::string e = bind_errors("set_state", "assign: {A: 1}\nwhere: ID");
    CHECK(contains(e, "the 'where' condition must be bool, found int"));
  }
  SUBCASE("unknown field") {
    std::string e = bind_errors("set_state", "assign: {A: IDX}");
    CHECK(contains(e, "IDX"));
  }
  SUBCASE("a lead, located at the bracket") {
    std::string e = bind_errors("set_state", "assign:\n  D: PX - PX[+1]\n");
    CHECK(contains(e, "test.yaml:2:13: set_state cannot look ahead"));
    CHECK(contains(e, "use a lag X[-k]"));
    CHECK(contains(e, "\n  PX - PX[+1]\n         ^~~~"));
  }
  SUBCASE("a lead in a quoted where") {
    std::string e = bind_errors("set_state", "assign: {A: 1}\nwhere: \"PX[+2] > 1\"");
    CHECK(contains(e, "test.yaml:2:11: set_state cannot look ahead"));
  }
  SUBCASE("no assignment") {
    std::string e = bind_errors("set_state", "assign: {}");
    CHECK(contains(e, "assign: sets no variable"));
  }
  SUBCASE("every error is reported") {
    std::string e = bind_errors("set_state", "assign: {AA: 1, SEEN: 2, B: VENUE}");
    CHECK(contains(e, "'AA'"));
    CHECK(contains(e, "'SEEN'"));
    CHECK(contains(e, "state.B must be int"));
  }
}

// ================================================================ state_insert

TEST_CASE("state_insert: tick_set keep first and keep last") {
  const Rows rows = {{int64_t{1}, 10.0, std::string("A")},
                     {int64_t{2}, 20.0, std::string("B")},
                     {int64_t{1}, 11.0, std::string("C")}};
  SUBCASE("keep first") {
    StateBind bind("state_insert", "into: SEEN", {order_schema()});
    Run run(bind);
    CHECK(bind.used("SEEN", BindContext::StateAccess::Write));
    CHECK(*bind.output_schema == *order_schema());
    CHECK(bind.accumulation.kind == Accumulation::Kind::None);
    run.feed(make_ticks(order_schema(), rows));
    CHECK(run.entries("SEEN") == std::vector<std::string>{"1|10", "2|20"});
  }
  SUBCASE("keep last replaces in place") {
    StateBind bind("state_insert", "into: LAST_SEEN", {order_schema()});
    Run run(bind);
    run.feed_split(make_ticks(order_schema(), rows), 1);
    CHECK(run.entries("LAST_SEEN") == std::vector<std::string>{"1|11", "2|20"});
  }
}

TEST_CASE("state_insert: a tick_deque keeps its newest max_size entries") {
  StateBind bind("state_insert", "into: RECENT", {order_schema()});
  Run run(bind);
  run.feed(make_ticks(order_schema(), {{int64_t{1}, 1.5, std::string()},
                                       {int64_t{2}, 2.5, std::string()},
                                       {int64_t{3}, 3.5, std::string()}}));
  CHECK(run.entries("RECENT") == std::vector<std::string>{"2.5", "3.5"});
}

TEST_CASE("state_insert: fields: expressions, defaults, where") {
  SUBCASE("expressions and same-named fields") {
    StateBind bind("state_insert", "into: ALL\nfields: {PX: 'PX * 2 + ID'}", {order_schema()});
    Run run(bind);
    run.feed(make_ticks(order_schema(),
                        {{int64_t{1}, 1.0, std::string()}, {int64_t{2}, 5.0, std::string()}}));
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|3", "2|12"});
  }
  SUBCASE("an int expression and an int input field fill double fields") {
    StateBind bind("state_insert", "into: ALL\nfields: {PX: X * 3, ID: X}", {x_schema()});
    Run run(bind);
    run.feed(make_ticks(x_schema(), x_rows({1, 2})));
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|3", "2|6"});
    const StateEntry* last = run.store.tick_container(id_of(bind.query(), "ALL")).at(-1);
    REQUIRE(last);
    CHECK(std::holds_alternative<double>((*last)[1]));
  }
  SUBCASE("an int input field fills a double container field") {
    auto input = make_schema({{"PX", Type::Int}});
    StateBind bind("state_insert", "into: RECENT", {input});
    Run run(bind);
    run.feed(make_ticks(input, x_rows({4, 5})));
    CHECK(run.entries("RECENT") == std::vector<std::string>{"4", "5"});
    CHECK(std::holds_alternative<double>(
        (*run.store.tick_container(id_of(bind.query(), "RECENT")).at(0))[0]));
  }
  SUBCASE("where, with a lag over every tick") {
    StateBind bind("state_insert", "into: ALL\nwhere: 'PX > 10'\nfields: {PX: 'PX[-1]'}",
                   {order_schema()});
    Run run(bind);
    run.feed(make_ticks(order_schema(), {{int64_t{1}, 5.0, std::string()},
                                         {int64_t{2}, 15.0, std::string()},
                                         {int64_t{3}, 7.0, std::string()},
                                         {int64_t{4}, 20.0, std::string()}}));
    CHECK(run.entries("ALL") == std::vector<std::string>{"2|5", "4|7"});
  }
  SUBCASE("a SYMBOL field the input lacks takes the run's symbol") {
    StateBind bind("state_insert", "into: REF", {order_schema()});
    Run run(bind, 4096, "AAPL");
    run.feed(make_ticks(order_schema(), {{int64_t{1}, 5.0, std::string()}}));
    CHECK(run.entries("REF") == std::vector<std::string>{"\"AAPL\"|5"});
  }
}

TEST_CASE("state_insert: a condition on the container sees the ticks before") {
  // Insert only while fewer than 2 entries are held: reads what it writes, tick by tick.
  for (size_t size : {1, 3, 5}) {
    CAPTURE(size);
    StateBind bind("state_insert", "into: ALL\nwhere: 'state.ALL.size() < 2'", {order_schema()});
    Run run(bind);
    CHECK(bind.used("ALL", BindContext::StateAccess::Read));
    Rows rows;
    for (int64_t i = 1; i <= 5; ++i) rows.push_back({i, static_cast<double>(i), std::string()});
    run.feed_split(make_ticks(order_schema(), rows), size);
    CHECK(run.entries("ALL") == std::vector<std::string>{"1|1", "2|2"});
  }
}

TEST_CASE("state_insert: load-time errors") {
  SUBCASE("unknown variable") {
    std::string e = bind_errors("state_insert", "into: SEN");
    CHECK(contains(e, "test.yaml:1:7: unknown state variable 'SEN' (did you mean 'SEEN'?)"));
  }
  SUBCASE("a scalar") {
    std::string e = bind_errors("state_insert", "into: A");
    CHECK(contains(e,
                   "test.yaml:1:7: state variable 'A' is a scalar; state_insert needs a "
                   "tick_set, tick_list or tick_deque (set_state assigns scalars)"));
  }
  SUBCASE("a missing input field") {
    std::string e = bind_errors("state_insert", "into: ALL", x_schema());
    CHECK(contains(e, "test.yaml:1:7: input 'up0' has no field ID for field ID of state.ALL"));
    CHECK(contains(e, "give its value under fields: (fields: {PX: expression})"));
  }
  SUBCASE("an input field of another type") {
    auto input = make_schema({{"ID", Type::String}, {"PX", Type::Double}});
    std::string e = bind_errors("state_insert", "into: SEEN", input);
    CHECK(contains(e,
                   "field ID of state.SEEN is int but input 'up0' has ID as string; give its "
                   "value under fields:"));
  }
  SUBCASE("a key of fields: that is not a container field") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields:\n  PRICE: PX\n");
    CHECK(contains(e, "test.yaml:3:3: 'PRICE' is not a field of state.SEEN (ID, PX)"));
  }
  SUBCASE("a fields: value of the wrong type") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields: {PX: VENUE}");
    CHECK(contains(e, "the value of PX must be double, found string"));
  }
  SUBCASE("a lead") {
    std::string e = bind_errors("state_insert", "into: SEEN\nfields: {PX: 'PX[+1]'}");
    CHECK(contains(e, "state_insert cannot look ahead"));
  }
  SUBCASE("where must be bool") {
    std::string e = bind_errors("state_insert", "into: SEEN\nwhere: PX");
    CHECK(contains(e, "the 'where' condition must be bool, found double"));
  }
}
