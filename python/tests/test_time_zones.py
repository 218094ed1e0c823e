"""Time zones through Python (SPEC §17): tz= and output_tz= of Query.run, the query's tz: and
output_tz:, range bounds without an offset read in the query's zone, bad zone arguments."""
import pandas as pd
import pytest

import tickflow as tf

ROWS = [{"TIMESTAMP": "2024-03-10T06:59:59Z", "N": 1},
        {"TIMESTAMP": "2024-03-10T07:00:00Z", "N": 2},
        {"TIMESTAMP": "2024-11-03T05:30:00Z", "N": 3},
        {"TIMESTAMP": "2024-11-03T06:30:00Z", "N": 4}]


def query(**top):
    return tf.Query.from_dict(dict(tickflow=1, nodes={
        "src": {"ep": "ticks", "fields": {"N": "int"}, "rows": ROWS}}, output="src", **top))


def test_output_tz_gives_tz_aware_times_of_the_same_instants():
    plain = query().run()
    assert plain["TIMESTAMP"].dt.tz is None
    shown = query().run(output_tz="America/New_York")
    assert str(shown["TIMESTAMP"].dt.tz) == "America/New_York"
    assert (shown["TIMESTAMP"].dt.tz_convert("UTC").dt.tz_localize(None) == plain["TIMESTAMP"]).all()
    # By hand: 01:59:59 EST, 03:00 EDT, then 01:30 twice (EDT, EST).
    assert [t.strftime("%H:%M:%S%z") for t in shown["TIMESTAMP"]] == [
        "01:59:59-0500", "03:00:00-0400", "01:30:00-0400", "01:30:00-0500"]


def test_the_querys_output_tz_and_tz_are_properties_and_defaults():
    q = query(output_tz="Asia/Kolkata", tz="America/New_York")
    assert q.output_tz == "Asia/Kolkata" and q.tz == "America/New_York"
    assert str(q.run()["TIMESTAMP"].dt.tz) == "Asia/Kolkata"
    assert str(q.run(output_tz="UTC")["TIMESTAMP"].dt.tz) == "UTC"
    assert query().tz == "UTC" and query().output_tz is None


def test_range_bounds_without_offset_are_read_in_the_zone():
    # 02:30 on 2024-03-10 is skipped in New York: the range starts at the end of the gap,
    # 03:00 EDT = 07:00Z; 01:30 on 2024-11-03 repeats: the earlier, 05:30Z, exclusive.
    out = query().run(tz="America/New_York", start="2024-03-10 02:30", end="2024-11-03 01:30")
    assert out["N"].tolist() == [2]
    out = query(tz="America/New_York").run(start=pd.Timestamp("2024-03-10 01:59:59"))
    assert out["N"].tolist() == [1, 2, 3, 4]
    # With an offset or tz-aware, a bound is absolute whatever the zone.
    out = query(tz="America/New_York").run(start="2024-11-03T06:00:00Z")
    assert out["N"].tolist() == [4]
    out = query(tz="America/New_York").run(start=pd.Timestamp("2024-11-03T05:30:00Z"))
    assert out["N"].tolist() == [3, 4]
    # Without a zone a naive bound is UTC, as before.
    assert query().run(start="2024-03-10 07:00")["N"].tolist() == [2, 3, 4]


def test_bad_zone_arguments():
    with pytest.raises(ValueError, match="tz: unknown time zone 'Mars/Base'"):
        query().run(tz="Mars/Base")
    with pytest.raises(ValueError, match="output_tz: unknown time zone"):
        query().run(output_tz="America/Nwe_York")
    with pytest.raises(TypeError, match="output_tz must be a time zone name"):
        query().run(output_tz=5)
    with pytest.raises(tf.QueryError, match="unknown time zone 'Nowhere' in output_tz"):
        query(output_tz="Nowhere")
