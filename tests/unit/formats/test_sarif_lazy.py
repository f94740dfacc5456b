"""The run-by-run SARIF path reads exactly what the whole-document path reads.

``LazyLog`` splits a log into raw runs and raw results, validates the envelope, each run without
its results and each distinct result, and memoises repeated results. These tests hold it to the
ordinary path (decode everything, validate against the whole schema, read) on every corpus log
and on stacked logs built from them.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from clearinghouse.core.errors import SchemaError
from clearinghouse.formats import sarif
from clearinghouse.formats.decode import decode
from clearinghouse.formats.limits import DEFAULT_LIMITS
from clearinghouse.formats.records import FindingRecord


def _eager(data: bytes) -> list[FindingRecord]:
    doc = decode(data)
    sarif.READER.validate(doc)
    return list(sarif.READER.read(doc, limits=DEFAULT_LIMITS))


def _lazy(data: bytes) -> list[FindingRecord]:
    log = sarif.LazyLog.open(data)
    assert log is not None
    return list(log.read(limits=DEFAULT_LIMITS))


def _logs(corpus: Path) -> list[Path]:
    return sorted((corpus / "sarif" / "logs").rglob("*.sarif*"))


@pytest.mark.corpus
def test_every_corpus_log_reads_the_same_either_way(corpus: Path) -> None:
    compared = refused = 0
    for path in _logs(corpus):
        data = path.read_bytes()
        if sarif.LazyLog.open(data) is None:
            continue  # not splittable (runs is not an array): the ordinary path judges it
        try:
            expected = _eager(data)
        except SchemaError:
            with pytest.raises(SchemaError):
                _lazy(data)
            refused += 1
            continue
        assert _lazy(data) == expected, path.name
        compared += 1
    assert compared >= 30
    assert refused >= 3


@pytest.mark.corpus
def test_stacked_runs_read_the_same_and_keep_their_pointers(corpus: Path) -> None:
    source = corpus / "sarif/logs/defectdojo/sarif/codeQL-output.sarif"
    doc = orjson.loads(source.read_bytes())
    doc["runs"] = doc["runs"] * 4  # a CI system stacking the same scan four times
    data = orjson.dumps(doc)
    lazy = _lazy(data)
    assert lazy == _eager(data)
    per_run = len(lazy) // 4
    assert lazy[per_run].pointer == "/runs/1/results/0"
    assert lazy[per_run]._replace(pointer="") == lazy[0]._replace(pointer="")


def test_an_invalid_repeated_result_is_refused_with_its_own_pointer() -> None:
    result = {"message": {"text": "m"}, "ruleId": "r"}
    bad = {"message": {"text": "m"}, "ruleId": "r", "level": "severe"}
    run = {"tool": {"driver": {"name": "t"}}, "results": [result, result]}
    doc = {"version": "2.1.0", "runs": [run, {**run, "results": [result, bad]}]}
    with pytest.raises(SchemaError) as caught:
        _lazy(orjson.dumps(doc))
    assert caught.value.pointer == "/runs/1/results/1/level"


def test_a_run_whose_results_are_not_an_array_is_refused() -> None:
    doc = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "t"}}, "results": 42}]}
    with pytest.raises(SchemaError) as caught:
        _lazy(orjson.dumps(doc))
    assert caught.value.pointer == "/runs/0/results"


def test_not_a_sarif_log_is_left_to_the_ordinary_path() -> None:
    assert sarif.LazyLog.open(b'{"id": "GHSA-1", "modified": "x"}') is None
    assert sarif.LazyLog.open(b"[1, 2]") is None
    assert sarif.LazyLog.open(b'{"runs": 42, "version": "2.1.0"}') is None
    assert sarif.LazyLog.open(b"not json") is None
