// The `generate` source: synthetic trades or quotes, or (kind: market) both from one
// simulated order book, deterministic per (seed, symbol).
//
// Determinism does not depend on batch size or thread count because every column has
// its own random stream and tick i always consumes the same draws of each stream. The
// random numbers come from our own generator, never from std::*_distribution, whose
// output differs between standard libraries.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builtin.hpp"
#include "tickflow/ep.hpp"
#include "tickflow/time.hpp"
#include "tickflow/util.hpp"

namespace tickflow::eps {
namespace {

constexpr std::string_view kDefaultStart = "2024-01-02 09:30:00";
// Exchange codes of generated trades, picked uniformly.
constexpr char kExchanges[] = {'N', 'Q', 'P', 'Z', 'K'};
constexpr int64_t kLot = 100;
constexpr int64_t kMaxExtraLots = 9;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// xoshiro256** (Blackman & Vigna): fast, and its output is fixed by its definition.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in (0, 1], so that log() of it is finite.
  double next_open_unit() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

  // Round lots with geometrically decreasing probability: 100 (1/2), 200 (1/4), ...
  int64_t next_size() {
    const int extra = std::countr_zero(next() | (uint64_t{1} << kMaxExtraLots));
    return kLot * (1 + extra);
  }

  // A random-walk step in cents: 0 half the time, +-1 often, +-2 rarely; mean zero.
  int64_t next_step() {
    static constexpr int8_t kSteps[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, -1, -1, -1, 2, -2};
    return kSteps[next() >> 60];
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

enum class Kind { Trades, Quotes, Market };

struct GenerateOptions {
  Kind kind = Kind::Trades;
  int64_t count = 1000;
  int64_t interval = 0;
  uint64_t seed = 1;
  int64_t start = 0;
  // kind: market: venues quoting each symbol (the first `venues` of kExchanges); 0: one
  // quote stream without EXCHANGE.
  int64_t venues = 0;
  SchemaPtr schema;        // port out: trades or quotes
  SchemaPtr quote_schema;  // port quotes: kind: market's quotes (no ticks for other kinds)
};

// Independent streams per column: changing how one column is drawn never changes another.
enum Stream : uint64_t {
  kTimeStream = 1,
  kPriceStream,
  kSizeStream,
  kAskSizeStream,
  kExchStream,
  kEventStream,  // kind: market: which event comes next, trade side and placement
  kVenueStream,  // kind: market with venues: which venue updates, how far others stand back
};

uint64_t stream_seed(uint64_t base, Stream stream) {
  uint64_t state = base ^ (stream * 0xd1b54a32d192ed03ULL);
  return splitmix64(state);
}

class GenerateOperator : public Operator {
 public:
  GenerateOperator(std::shared_ptr<const GenerateOptions> options, const RunContext& run)
      : options_(*options),
        keep_options_alive_(std::move(options)),
        batch_size_(std::max<size_t>(1, run.batch_size)),
        base_seed_(mix_seed(options_.seed, run.symbol)),
        time_rng_(stream_seed(base_seed_, kTimeStream)),
        price_rng_(stream_seed(base_seed_, kPriceStream)),
        size_rng_(stream_seed(base_seed_, kSizeStream)),
        second_size_rng_(stream_seed(base_seed_, kAskSizeStream)),
        exch_rng_(stream_seed(base_seed_, kExchStream)),
        event_rng_(stream_seed(base_seed_, kEventStream)),
        venue_rng_(stream_seed(base_seed_, kVenueStream)),
        time_(options_.start) {
    // Each symbol trades in its own price range: $20.00 .. $519.99.
    price_cents_ = 2000 + static_cast<int64_t>(base_seed_ % 50000);
    if (options_.kind == Kind::Market) start_market();
    if (run.query) {
      range_start_ = run.query->range_start;
      range_end_ = run.query->range_end;
    }
    progress_ = run.progress;
    if (progress_) progress_->set_total(options_.count);
  }

  bool produce(OutputSink& out) override {
    while (generated_ < options_.count && !past_end_) {
      const size_t n = static_cast<size_t>(
          std::min<int64_t>(static_cast<int64_t>(batch_size_), options_.count - generated_));
      if (options_.kind == Kind::Market) {
        if (produce_market(n, out)) break;
        continue;
      }
      Batch batch(options_.schema);
      generate_times(batch.times, n);
      generated_ += static_cast<int64_t>(n);
      // Times are non-decreasing, so the range clips a prefix and a suffix of the batch.
      size_t begin = 0, end = n;
      if (range_start_) {
        begin = std::lower_bound(batch.times.begin(), batch.times.end(), *range_start_) -
                batch.times.begin();
      }
      if (range_end_) {
        end = std::lower_bound(batch.times.begin(), batch.times.end(), *range_end_) -
              batch.times.begin();
        if (end < n) past_end_ = true;
      }
      if (options_.kind == Kind::Trades) {
        generate_trades(batch, n);
      } else {
        generate_quotes(batch, n);
      }
      if (begin >= end) continue;
      if (begin > 0 || end < n) batch = batch.slice(begin, end);
      out.emit(0, std::move(batch));
      break;
    }
    const bool more = generated_ < options_.count && !past_end_;
    // Past the range end the rest is never generated: the source is done.
    if (progress_) progress_->set_done(more ? generated_ : options_.count);
    return more;
  }

 private:
  static uint64_t mix_seed(uint64_t seed, std::string_view symbol) {
    uint64_t state = seed ^ fnv1a(symbol);
    return splitmix64(state);
  }

  void generate_times(std::vector<int64_t>& times, size_t n) {
    times.resize(n);
    const double mean = static_cast<double>(options_.interval);
    for (size_t i = 0; i < n; ++i) {
      times[i] = time_;
      // Exponential spacing: arrivals of a Poisson process with the requested mean.
      // The gap is >= 0, so adding 0.5 and truncating rounds it (llround is much slower).
      const double gap = -std::log(time_rng_.next_open_unit()) * mean + 0.5;
      const int64_t spacing = gap < 9.0e18 ? static_cast<int64_t>(gap) : INT64_MAX;
      if (__builtin_add_overflow(time_, spacing, &time_)) time_ = INT64_MAX;
    }
  }

  void generate_trades(Batch& batch, size_t n) {
    auto& prices = batch.columns[0].doubles();
    prices.resize(n);
    for (size_t i = 0; i < n; ++i) {
      price_cents_ = std::max<int64_t>(1, price_cents_ + price_rng_.next_step());
      prices[i] = static_cast<double>(price_cents_) / 100.0;
    }
    auto& sizes = batch.columns[1].ints();
    sizes.resize(n);
    for (size_t i = 0; i < n; ++i) sizes[i] = size_rng_.next_size();
    auto& exchanges = batch.columns[2].strings();
    exchanges.reserve(n);
    constexpr uint64_t kExchangeCount = std::size(kExchanges);
    for (size_t i = 0; i < n; ++i) {
      exchanges.push_back(std::string_view(&kExchanges[exch_rng_.next() % kExchangeCount], 1));
    }
  }

  void generate_quotes(Batch& batch, size_t n) {
    auto& bids = batch.columns[0].doubles();
    auto& asks = batch.columns[2].doubles();
    bids.resize(n);
    asks.resize(n);
    for (size_t i = 0; i < n; ++i) {
      price_cents_ = std::max<int64_t>(1, price_cents_ + price_rng_.next_step());
      const int64_t spread = 1 + static_cast<int64_t>(price_rng_.next() >> 62);
      bids[i] = static_cast<double>(price_cents_) / 100.0;
      asks[i] = static_cast<double>(price_cents_ + spread) / 100.0;
    }
    auto& bid_sizes = batch.columns[1].ints();
    auto& ask_sizes = batch.columns[3].ints();
    bid_sizes.resize(n);
    ask_sizes.resize(n);
    for (size_t i = 0; i < n; ++i) bid_sizes[i] = size_rng_.next_size();
    for (size_t i = 0; i < n; ++i) ask_sizes[i] = second_size_rng_.next_size();
  }

  // ---- kind: market
  //
  // One order book per symbol: a stream of events, each a quote update (the touch moves by
  // a random-walk step, the spread is the symbol's base spread, sometimes a cent or two
  // wider) or, with probability 3/16, a trade against the current quote: at the ask for a
  // buy, the bid for a sell, and inside the spread one time in eight. Events are strictly
  // increasing in time, so the quote a trade was made against is the prevailing quote of
  // a join_by_time however ticks are batched. Symbols differ in price level ($20-$520),
  // activity (mean gap `interval` divided by 0.25..4) and base spread (wider for dearer
  // and for less active names).
  void start_market() {
    const uint64_t profile = splitmix64(base_seed_);
    activity_ = 0.25 + static_cast<double>(profile >> 56) / 255.0 * 3.75;
    base_spread_ = 1 + price_cents_ / 25000 + (activity_ < 1.0 ? 1 : 0);
    bid_cents_ = price_cents_;
  }

  // Generates n events; emits the trades on port 0 and the quotes on port 1. Returns
  // whether anything was emitted.
  bool produce_market(size_t n, OutputSink& out) {
    Batch trades(options_.schema);
    Batch quotes(options_.quote_schema);
    const double mean_gap = static_cast<double>(options_.interval) / activity_;
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = time_;
      const double gap = -std::log(time_rng_.next_open_unit()) * mean_gap + 0.5;
      const int64_t spacing =
          gap < 9.0e18 ? std::max<int64_t>(1, static_cast<int64_t>(gap)) : INT64_MAX;
      if (__builtin_add_overflow(time_, spacing, &time_)) time_ = INT64_MAX;
      const uint64_t event = event_rng_.next();
      // The first event is a quote, so that every trade has one to be measured against.
      if (generated_market_events_++ > 0 && (event >> 60) < 3) {
        append_trade(trades, t, event);
      } else {
        append_quote(quotes, t);
      }
    }
    generated_ += static_cast<int64_t>(n);
    bool emitted = false;
    for (auto [port, batch] : {std::pair<size_t, Batch*>{0, &trades}, {1, &quotes}}) {
      if (clip_to_range(*batch)) {
        out.emit(port, std::move(*batch));
        emitted = true;
      }
    }
    return emitted;
  }

  void append_quote(Batch& quotes, int64_t t) {
    bid_cents_ = std::max<int64_t>(1, bid_cents_ + price_rng_.next_step());
    static constexpr int64_t kWider[4] = {0, 0, 1, 2};
    spread_cents_ = base_spread_ + kWider[price_rng_.next() >> 62];
    if (options_.venues > 0) {
      append_venue_quotes(quotes, t);
      return;
    }
    push_quote(quotes, t, bid_cents_, bid_cents_ + spread_cents_, -1);
  }

  void push_quote(Batch& quotes, int64_t t, int64_t bid, int64_t ask, int venue) {
    quotes.times.push_back(t);
    quotes.columns[0].doubles().push_back(static_cast<double>(bid) / 100.0);
    quotes.columns[1].ints().push_back(size_rng_.next_size());
    quotes.columns[2].doubles().push_back(static_cast<double>(ask) / 100.0);
    quotes.columns[3].ints().push_back(second_size_rng_.next_size());
    if (venue >= 0) quotes.columns[4].strings().push_back(std::string_view(&kExchanges[venue], 1));
  }

  // With venues the book's touch is the national best bid and offer: one venue (drawn at
  // random) quotes at the new touch, and every venue whose standing quote the move left
  // better than the touch (a stale bid above it or ask below it) quotes again, 0-2 cents
  // back from it on each side. So the best bid and offer over the venues' latest quotes
  // is the touch after every update, and every trade is at or inside it. The first update
  // opens every venue. The ticks of one update share its time: the drawn venue first.
  void append_venue_quotes(Batch& quotes, int64_t t) {
    const int64_t ask_cents = bid_cents_ + spread_cents_;
    const auto stand_back = [&](int venue) {
      const uint64_t draw = venue_rng_.next();
      const int64_t bid = std::max<int64_t>(1, bid_cents_ - static_cast<int64_t>((draw >> 62) % 3));
      const int64_t ask = ask_cents + static_cast<int64_t>(((draw >> 60) & 3) % 3);
      venue_quotes_[venue] = {bid, ask};
      push_quote(quotes, t, bid, ask, venue);
    };
    const int venues = static_cast<int>(options_.venues);
    if (venue_quotes_.empty()) {
      venue_quotes_.resize(venues);
      venue_quotes_[0] = {bid_cents_, ask_cents};
      push_quote(quotes, t, bid_cents_, ask_cents, 0);
      for (int v = 1; v < venues; ++v) stand_back(v);
      return;
    }
    const int at_touch = static_cast<int>(venue_rng_.next() % static_cast<uint64_t>(venues));
    venue_quotes_[at_touch] = {bid_cents_, ask_cents};
    push_quote(quotes, t, bid_cents_, ask_cents, at_touch);
    for (int v = 0; v < venues; ++v) {
      const auto [bid, ask] = venue_quotes_[v];
      if (v != at_touch && (bid > bid_cents_ || ask < ask_cents)) stand_back(v);
    }
  }

  // The venue of a trade at `price`: one quoting that price on the trade's side, drawn at
  // random (any venue for a trade inside the spread, which no venue displays).
  char trade_venue(int64_t price, bool buy) {
    const uint64_t draw = exch_rng_.next();
    if (options_.venues == 0) return kExchanges[draw % std::size(kExchanges)];
    int quoting[std::size(kExchanges)];
    int n = 0;
    for (int v = 0; v < static_cast<int>(venue_quotes_.size()); ++v) {
      if ((buy ? venue_quotes_[v].second : venue_quotes_[v].first) == price) quoting[n++] = v;
    }
    if (n == 0) return kExchanges[draw % static_cast<uint64_t>(options_.venues)];
    return kExchanges[quoting[draw % static_cast<uint64_t>(n)]];
  }

  void append_trade(Batch& trades, int64_t t, uint64_t event) {
    const bool buy = (event >> 59) & 1;
    int64_t price = buy ? bid_cents_ + spread_cents_ : bid_cents_;
    if (((event >> 56) & 7) == 0 && spread_cents_ > 1) {
      price = bid_cents_ + 1 + static_cast<int64_t>((event & 0xffff) % (spread_cents_ - 1));
    }
    // An odd lot (1..99 shares) one time in eight, else round lots.
    const uint64_t size_draw = size_rng_.next();
    const int64_t size =
        (size_draw >> 61) == 0 ? 1 + static_cast<int64_t>(size_draw % 99) : size_rng_.next_size();
    trades.times.push_back(t);
    trades.columns[0].doubles().push_back(static_cast<double>(price) / 100.0);
    trades.columns[1].ints().push_back(size);
    const char venue = trade_venue(price, buy);
    trades.columns[2].strings().push_back(std::string_view(&venue, 1));
  }

  // Keeps the ticks of `batch` inside the query range; true when some remain.
  bool clip_to_range(Batch& batch) {
    const size_t n = batch.size();
    size_t begin = 0, end = n;
    if (range_start_) {
      begin = std::lower_bound(batch.times.begin(), batch.times.end(), *range_start_) -
              batch.times.begin();
    }
    if (range_end_) {
      end = std::lower_bound(batch.times.begin(), batch.times.end(), *range_end_) -
            batch.times.begin();
      if (end < n) past_end_ = true;
    }
    if (begin >= end) return false;
    if (begin > 0 || end < n) batch = batch.slice(begin, end);
    return true;
  }

  const GenerateOptions& options_;
  std::shared_ptr<const GenerateOptions> keep_options_alive_;
  size_t batch_size_;
  uint64_t base_seed_;
  Xoshiro256 time_rng_, price_rng_, size_rng_, second_size_rng_, exch_rng_, event_rng_, venue_rng_;
  int64_t time_;
  int64_t price_cents_;
  int64_t generated_ = 0;
  bool past_end_ = false;
  std::optional<int64_t> range_start_, range_end_;
  SourceProgress* progress_ = nullptr;
  // kind: market
  double activity_ = 1.0;
  int64_t base_spread_ = 1;
  int64_t bid_cents_ = 0;
  int64_t spread_cents_ = 1;
  int64_t generated_market_events_ = 0;
  std::vector<std::pair<int64_t, int64_t>> venue_quotes_;  // (bid, ask) cents per venue
};

OperatorFactory bind_generate(BindContext& ctx) {
  auto options = std::make_shared<GenerateOptions>();
  bool failed = false;

  const std::string kind = ctx.get_string("kind");
  if (kind == "trades") {
    options->kind = Kind::Trades;
  } else if (kind == "quotes") {
    options->kind = Kind::Quotes;
  } else if (kind == "market") {
    options->kind = Kind::Market;
  } else {
    ctx.error(ctx.location("kind"), "unknown kind '" + kind + "'" +
                                        did_you_mean(kind, {"trades", "quotes", "market"}) +
                                        "; kind is trades, quotes or market");
    failed = true;
  }

  options->count = ctx.get_int("count");
  if (options->count < 0) {
    ctx.error(ctx.location("count"), "count must be >= 0, got " + std::to_string(options->count));
    failed = true;
  }
  options->interval = ctx.get_duration("interval");
  if (options->interval <= 0) {
    ctx.error(ctx.location("interval"), "interval must be a positive duration");
    failed = true;
  }
  options->seed = static_cast<uint64_t>(ctx.get_int("seed"));
  if (ctx.has("start")) {
    options->start = ctx.get_time("start");
  } else if (ctx.query().range_start) {
    options->start = *ctx.query().range_start;
  } else {
    options->start = *parse_time_text(kDefaultStart);
  }
  if (ctx.has("venues")) {
    options->venues = ctx.get_int("venues");
    if (options->kind != Kind::Market) {
      ctx.error(ctx.location("venues"), "venues is for kind: market (quotes by venue)");
      failed = true;
    } else if (options->venues < 1 ||
               options->venues > static_cast<int64_t>(std::size(kExchanges))) {
      ctx.error(ctx.location("venues"), "venues must be 1 to " +
                                            std::to_string(std::size(kExchanges)) +
                                            " (N Q P Z K), got " + std::to_string(options->venues));
      failed = true;
    }
  }
  if (failed) return {};

  const SchemaPtr trades =
      make_schema({{"PRICE", Type::Double}, {"SIZE", Type::Int}, {"EXCHANGE", Type::String}});
  std::vector<Field> quote_fields = {{"BID_PRICE", Type::Double},
                                     {"BID_SIZE", Type::Int},
                                     {"ASK_PRICE", Type::Double},
                                     {"ASK_SIZE", Type::Int}};
  if (options->venues > 0) quote_fields.push_back({"EXCHANGE", Type::String});
  options->quote_schema = make_schema(std::move(quote_fields));
  options->schema = options->kind == Kind::Quotes ? options->quote_schema : trades;
  ctx.set_output(0, options->schema, true);
  ctx.set_output(1, options->quote_schema, true);

  return [options = std::shared_ptr<const GenerateOptions>(options)](const RunContext& run) {
    return std::unique_ptr<Operator>(std::make_unique<GenerateOperator>(options, run));
  };
}

// Shown by `tickflow eps generate` and docs/eps.md; tests/scripts/test_ep_examples.py runs it.
EpExample generate_example() {
  return {.query = R"~(# Four synthetic trades, the same for every run with seed 7.
tickflow: 1
nodes:
  trades:
    ep: generate
    kind: trades
    count: 4
    interval: 1s
    seed: 7
    start: "2024-01-02 09:30:00"
)~",
          .output = R"~(TIMESTAMP,PRICE,SIZE,EXCHANGE
2024-01-02 09:30:00.000000000,224.22,300,Z
2024-01-02 09:30:02.059903703,224.22,100,Q
2024-01-02 09:30:02.536841519,224.22,300,P
2024-01-02 09:30:02.614432003,224.22,100,Z
)~"};
}

}  // namespace

void register_generate(Registry& registry) {
  EpDefinition def;
  def.name = "generate";
  def.example = generate_example();
  def.doc =
      "Synthetic market data, deterministic per (seed, symbol). kind: trades gives PRICE "
      "(double), SIZE (int, round lots of 100) and EXCHANGE (one of N Q P Z K); kind: quotes "
      "gives BID_PRICE, BID_SIZE, ASK_PRICE, ASK_SIZE with ASK_PRICE > BID_PRICE. Prices are "
      "a random walk in whole cents from a per-symbol level between $20 and $520. `count` "
      "ticks are generated per symbol, the first at `start`, then spaced by exponentially "
      "distributed gaps "
      "with mean `interval` (equal timestamps can occur); the query range then clips them, so "
      "a range never changes the ticks that remain. kind: market simulates one order book per "
      "symbol and gives its trades on `out` and its quotes on port `quotes` (read it as "
      "NODE.quotes): every trade is at or inside the quote prevailing at its time (at the ask "
      "or bid, inside the spread one time in eight; odd lots one time in eight), about 3 "
      "quotes per trade, times strictly increasing; symbols differ in price level, activity "
      "(mean gap `interval` / 0.25..4) and spread (1-6 cents). With `venues: N` the quotes "
      "are by venue (EXCHANGE, the first N of N Q P Z K): each update has one venue quote at "
      "the book's touch and re-quotes, 0-2 cents back, every venue the move left better than "
      "the touch, so the best bid and offer over the venues' latest quotes (the NBBO) is the "
      "touch and trades are at or inside it; a trade's EXCHANGE is a venue quoting its price. "
      "For other kinds `quotes` has no ticks.";
  def.inputs = {};
  def.outputs = {"out", "quotes"};
  def.params = {
      {.name = "kind",
       .type = ParamType::String,
       .default_value = "trades",
       .doc = "trades, quotes, or market (trades on out, their quotes on quotes)"},
      {.name = "count",
       .type = ParamType::Int,
       .default_value = "1000",
       .doc = "ticks per symbol (before range clipping); kind: market: events, trades and quote "
              "updates together (with venues an update may quote several venues)"},
      {.name = "interval",
       .type = ParamType::Duration,
       .default_value = "100ms",
       .doc = "mean spacing between ticks"},
      {.name = "seed",
       .type = ParamType::Int,
       .default_value = "1",
       .doc = "random seed; mixed with the symbol"},
      {.name = "venues",
       .type = ParamType::Int,
       .doc = "kind: market: quote by venue, 1 to 5 venues (quotes gain EXCHANGE)"},
      {.name = "start",
       .type = ParamType::Time,
       .doc = "time of the first tick; default: range start, else 2024-01-02 09:30:00"},
  };
  def.accumulation = "none";
  def.bind = bind_generate;
  registry.add(std::move(def));
}

}  // namespace tickflow::eps
