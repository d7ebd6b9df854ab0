from entrypoints.capped_counts import CappedCounts


def test_each_key_holds_at_most_the_limit_and_gets_places_back() -> None:
    counts = CappedCounts(2)
    assert [counts.take("a"), counts.take("a"), counts.take("a"), counts.take("b")] == [
        True,
        True,
        False,
        True,
    ]
    counts.give_back("a")
    assert counts.take("a")
    for _ in range(3):
        counts.give_back("b")  # more than it took: the record never goes negative
    assert counts.open == {"a": 2}
