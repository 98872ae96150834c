"""The filter builder: its mapping onto ann.v1.Filter, and what the server selects with it."""

from __future__ import annotations

import numpy as np

from annserver import Filter, HasId, HasLabel, IsEmpty, IsNull, Match, Range, keyword_list
from annserver._proto import vectors_pb2


def test_the_builder_maps_onto_the_proto():
    built = Filter(must=[Match("color", ["red", "blue"]), Range("price", lt=50)],
                   must_not=[Match("sponsored", True)]).to_filter_proto()
    expected = vectors_pb2.Filter(
        must=[vectors_pb2.Condition(field=vectors_pb2.FieldCondition(
                  key="color", match=vectors_pb2.Match(keywords=vectors_pb2.KeywordList(values=["red", "blue"])))),
              vectors_pb2.Condition(field=vectors_pb2.FieldCondition(key="price", range=vectors_pb2.NumericRange(lt=50)))],
        must_not=[vectors_pb2.Condition(field=vectors_pb2.FieldCondition(key="sponsored", match=vectors_pb2.Match(boolean=True)))])
    assert built == expected


def test_nested_filters_and_the_other_conditions_map_onto_the_proto():
    built = Filter(should=[Filter(must=[IsNull("a"), IsEmpty("b")]), HasId([1, 2]), HasLabel([7]), Match("n", 3)])
    should = built.to_filter_proto().should
    assert should[0].filter.must[0].is_null.key == "a" and should[0].filter.must[1].is_empty.key == "b"
    assert list(should[1].has_id.ids) == [1, 2] and list(should[2].labels.any_of) == [7]
    assert should[3].field.match.integer == 3


def _shop(client, name):
    colors = ["red", "blue", "green", "red", "blue", "red", "green", "red", "blue", "red"]
    payloads = [{"color": c, "price": float(10 * i), "tags": ["new"] if i % 3 == 0 else keyword_list()} for i, c in enumerate(colors)]
    payloads[9].pop("tags")
    client.create_collection(name, dimension=2)
    vectors = np.column_stack([np.arange(10), np.zeros(10)]).astype(np.float32)
    client.upsert(name, np.arange(10), vectors, payloads=payloads)


def test_search_count_and_scroll_select_what_the_filter_says(client, name):
    _shop(client, name)
    cheap_red = Filter(must=[Match("color", "red"), Range("price", lt=50)])
    assert client.count(name, cheap_red) == 2
    hits = client.search(name, [0.0, 0.0], k=10, filter=cheap_red, with_payload=True)
    assert hits.ids.tolist() == [0, 3]
    assert all(p["color"] == "red" and p["price"] < 50 for p in hits.payloads)
    scrolled = np.concatenate([page.ids for page in client.scroll(name, cheap_red, page_size=1)])
    assert scrolled.tolist() == [0, 3]


def test_should_must_not_and_emptiness(client, name):
    _shop(client, name)
    red_or_green_not_expensive = Filter(should=[Match("color", "red"), Match("color", "green")],
                                        must_not=[Range("price", gte=60)])
    assert client.search(name, [0.0, 0.0], k=10, filter=red_or_green_not_expensive).ids.tolist() == [0, 2, 3, 5]
    assert client.count(name, Filter(must=[Match("tags", "new")])) == 3
    assert client.count(name, Filter(must=[IsNull("tags")])) == 1
    assert client.count(name, Filter(must=[IsEmpty("tags")])) == 7
    assert client.search_batch(name, [[0, 0], [9, 0]], k=2, filter=Filter(must=[Match("color", "blue")])).ids.tolist() == [[1, 4], [8, 4]]
