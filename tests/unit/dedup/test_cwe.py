"""The CWE hierarchy from view 1000 and the compatibility rule built on it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearinghouse.dedup import cwe

SAMPLE = st.sampled_from([20, 74, 79, 89, 118, 119, 125, 416, 664, 707, 787, 943, 999_999])


def test_direct_parents_come_from_view_1000_only() -> None:
    assert cwe.parents(787) == frozenset({119})
    # CWE-119 is also ChildOf CWE-20 in view 700; that edge must not leak in.
    assert cwe.parents(119) == frozenset({118})
    assert cwe.parents(664) == frozenset()  # a pillar


def test_ancestors_are_transitive() -> None:
    assert {119, 118, 664} <= cwe.ancestors(787)
    assert 787 not in cwe.ancestors(787)
    assert {943, 74, 707} <= cwe.ancestors(89)


def test_parent_and_child_are_compatible_both_ways() -> None:
    assert cwe.compatible(787, 119)
    assert cwe.compatible(119, 787)
    assert cwe.compatible(787, 664)  # grandparent pillar
    assert cwe.compatible(787, 787)


def test_siblings_and_cousins_are_not_compatible() -> None:
    assert not cwe.compatible(787, 125)  # both children of 119
    assert not cwe.compatible(79, 89)  # cousins under 74
    assert not cwe.compatible(787, 20)


def test_unknown_ids_are_compatible_only_with_themselves() -> None:
    assert not cwe.known(999_999)
    assert cwe.parents(999_999) == frozenset()
    assert cwe.compatible(999_999, 999_999)
    assert not cwe.compatible(999_999, 787)
    assert not cwe.known(16)  # a category, not a weakness of view 1000


def test_sets_compatible_when_any_pair_is() -> None:
    assert cwe.compatible_sets((79, 787), (119,))
    assert not cwe.compatible_sets((79, 125), (787,))


def test_empty_sets_are_never_compatible() -> None:
    assert not cwe.compatible_sets((), ())
    assert not cwe.compatible_sets((), (787,))
    assert not cwe.compatible_sets((787,), ())


def test_normalise_sorts_dedups_and_drops_non_positive() -> None:
    assert cwe.normalise([787, 119, 787, 0, -1]) == (119, 787)


@given(SAMPLE, SAMPLE)
def test_compatibility_is_symmetric_and_reflexive(a: int, b: int) -> None:
    assert cwe.compatible(a, a)
    assert cwe.compatible(a, b) == cwe.compatible(b, a)
