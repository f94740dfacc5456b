"""Build a large, realistic SARIF log for the intake benchmark from real scanner output.

Two real scanners from PyPI are run over real source trees found on this machine:

* **bandit** (``bandit -f sarif -r``) over the installed Python standard library, and
* **flawfinder** (``flawfinder --sarif``) over the C headers of the system and of the
  interpreter (``/usr/include``, the Python include directory).

Their runs are then stacked the way a CI system stacks repeated scans of a slowly changing
code base: every "CI scan" is a copy of the previous one in which a small fraction of results
moved by a few lines (an edit above them), a few disappeared (fixed) and a few appeared (new
code), with its own ``automationDetails`` and invocation times. Unchanged results are shared
between scans in memory, so building a 200,000-result log is cheap; the expensive part is the
first scan of the trees, which is cached.

What this module does not do: it never fabricates a finding from nothing (a new result is a
real result moved to another line with a re-derived fingerprint), never edits the scanned
trees, and never contacts the network. It is benchmark scaffolding, not part of the package.

Cache: ``benchmarks/.work/`` (gitignored). Raw scans are keyed by the scanner versions and the
trees scanned; the stacked log additionally by the result count, the seed and the drift rates,
so a re-run with the same parameters reuses the file.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import random
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

# Bump when the stacking below changes, so stale cached logs are not reused.
GENERATOR_VERSION = 1
WORK_DIR = Path(__file__).resolve().parent / ".work"

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DriftRates:
    """Per-scan fractions of results that move, vanish or appear between two CI scans."""

    shifted: float = 0.03
    removed: float = 0.005
    added: float = 0.005
    max_shift_lines: int = 6


@dataclass(frozen=True, slots=True)
class ScanTrees:
    """The real source trees each scanner reads."""

    python: tuple[str, ...]
    python_excluded: tuple[str, ...]
    c: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Corpus:
    """A generated SARIF log on disk and what it holds."""

    path: Path
    results: int
    runs: int
    ci_scans: int
    base_results: dict[str, int]
    size_bytes: int
    generated_s: float
    from_cache: bool


class CorpusError(Exception):
    """The corpus could not be built (a scanner is missing or produced no usable SARIF)."""


def default_trees() -> ScanTrees:
    """Pick real trees that exist on this machine: the stdlib and the system/Python C headers."""
    stdlib = sysconfig.get_paths()["stdlib"]
    python = (stdlib,) if Path(stdlib).is_dir() else ()
    # pyenv and some distributions install site-packages inside the stdlib directory; those are
    # third-party code of whatever happens to be installed, so leave them out for stability.
    excluded = tuple(
        str(p)
        for p in (Path(stdlib) / "site-packages", Path(stdlib) / "dist-packages")
        if p.is_dir()
    )
    include = sysconfig.get_paths()["include"]
    c_candidates = [include, "/usr/include"]
    c = tuple(dict.fromkeys(p for p in c_candidates if Path(p).is_dir()))
    if not python or not c:
        raise CorpusError(f"no source trees found to scan (python={python!r}, c={c!r})")
    return ScanTrees(python=python, python_excluded=excluded, c=c)


def _tool_versions() -> dict[str, str]:
    try:
        return {
            "bandit": importlib.metadata.version("bandit"),
            "flawfinder": importlib.metadata.version("flawfinder"),
            "sarif-om": importlib.metadata.version("sarif-om"),
        }
    except importlib.metadata.PackageNotFoundError as exc:
        raise CorpusError(
            f"scanner package {exc.name!r} is not installed; install the pinned versions: "
            ".venv/bin/pip install 'bandit[sarif]==1.9.4' flawfinder==2.0.20 "
            "sarif-om==1.0.4 jschema-to-python==1.2.3"
        ) from exc


def _key(payload: JsonObject) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _bin(name: str) -> str:
    """The scanner's script beside this interpreter (the venv), else whatever PATH has."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class _BanditFormatterCrash(Exception):
    """bandit 1.9.4's SARIF formatter raised on one of the issues in this batch."""


def _bandit_batch(paths: Sequence[str], excluded: Sequence[str], out: Path) -> JsonObject:
    cmd = [_bin("bandit"), "-q", "-f", "sarif", "-o", str(out), "-r", *paths]
    if excluded:
        cmd += ["-x", ",".join(excluded)]
    out.unlink(missing_ok=True)
    # bandit exits 1 when it finds issues; the SARIF file is what tells success from failure.
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        doc: JsonObject = orjson.loads(out.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        if "Unable to output report using 'sarif' formatter" in proc.stderr:
            raise _BanditFormatterCrash(proc.stderr.strip().splitlines()[-1]) from exc
        raise CorpusError(
            f"bandit produced no SARIF (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
        ) from exc
    finally:
        out.unlink(missing_ok=True)
    return doc


def _children(path: str, excluded: Sequence[str]) -> list[str]:
    entries = sorted(Path(path).iterdir()) if Path(path).is_dir() else []
    return [
        str(entry)
        for entry in entries
        if str(entry) not in excluded
        and entry.name != "__pycache__"
        and (entry.is_dir() or entry.suffix == ".py")
    ]


def _bandit_docs(
    paths: Sequence[str], excluded: Sequence[str], work: Path, skipped: list[str]
) -> list[JsonObject]:
    """Scan ``paths``; where bandit's SARIF formatter crashes, bisect down to the one file.

    bandit 1.9.4's formatter raises IndexError for a few issues whose code snippet does not
    contain the reported line, and then writes nothing for the whole invocation. Splitting the
    batch keeps every other real result; the offending files are listed in ``skipped``.
    """
    out = work / f"bandit-{hashlib.sha256('|'.join(paths).encode()).hexdigest()[:12]}.sarif"
    try:
        return [_bandit_batch(paths, excluded, out)]
    except _BanditFormatterCrash:
        if len(paths) > 1:
            half = len(paths) // 2
            return _bandit_docs(paths[:half], excluded, work, skipped) + _bandit_docs(
                paths[half:], excluded, work, skipped
            )
        inner = _children(paths[0], excluded)
        if not inner:
            skipped.append(paths[0])
            return []
        return _bandit_docs(inner, excluded, work, skipped)


def _merge_bandit(docs: Sequence[JsonObject]) -> JsonObject:
    """One bandit run out of per-batch runs: union of rules, re-indexed results, summed totals."""
    rules: list[JsonObject] = []
    rule_index: dict[str, int] = {}
    results: list[JsonObject] = []
    metrics: JsonObject = {"_totals": {}}
    first_run: JsonObject | None = None
    for doc in docs:
        for run in doc.get("runs", []):
            first_run = first_run or run
            local_rules = run.get("tool", {}).get("driver", {}).get("rules", [])
            for rule in local_rules:
                if rule["id"] not in rule_index:
                    rule_index[rule["id"]] = len(rules)
                    rules.append(rule)
            for result in run.get("results", []):
                results.append({**result, "ruleIndex": rule_index[result["ruleId"]]})
            run_metrics = run.get("properties", {}).get("metrics", {})
            for name, values in run_metrics.items():
                if name == "_totals":
                    for counter, value in values.items():
                        metrics["_totals"][counter] = metrics["_totals"].get(counter, 0) + value
                else:
                    metrics[name] = values
    if first_run is None:
        raise CorpusError("bandit produced no runs")
    driver = {**first_run["tool"]["driver"], "rules": rules}
    return {
        **first_run,
        "tool": {**first_run["tool"], "driver": driver},
        "properties": {**first_run.get("properties", {}), "metrics": metrics},
        "results": results,
    }


def _run_bandit(trees: ScanTrees, work: Path, *, log: bool) -> JsonObject:
    excluded = list(trees.python_excluded)
    batches: list[list[str]] = []
    for tree in trees.python:
        entries = _children(tree, excluded)
        batches.extend([entry] for entry in entries if Path(entry).is_dir())
        files = [entry for entry in entries if not Path(entry).is_dir()]
        batches.extend(files[i : i + 40] for i in range(0, len(files), 40))
    skipped: list[str] = []
    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        chunks = list(pool.map(lambda batch: _bandit_docs(batch, excluded, work, skipped), batches))
    if skipped and log:
        print(
            f"[corpus] bandit's SARIF formatter crashed on {len(skipped)} file(s), left out: "
            + ", ".join(skipped[:5]),
            file=sys.stderr,
        )
    merged = _merge_bandit([doc for chunk in chunks for doc in chunk])
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [merged],
    }


def _run_flawfinder(trees: ScanTrees) -> JsonObject:
    cmd = [_bin("flawfinder"), "--sarif", *trees.c]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    # flawfinder prints encoding warnings for non-UTF-8 headers on stdout before the SARIF
    # document; the document itself starts at the first line that is exactly "{".
    raw = proc.stdout
    start = 0 if raw.startswith(b"{") else raw.find(b"\n{") + 1
    try:
        if start <= 0 and not raw.startswith(b"{"):
            raise ValueError("no JSON document in output")
        doc: JsonObject = orjson.loads(raw[start:])
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise CorpusError(
            f"flawfinder produced no SARIF (exit {proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()[-500:]}"
        ) from exc
    return doc


def scan(trees: ScanTrees, *, log: bool = True) -> tuple[list[JsonObject], dict[str, float]]:
    """Run both scanners (or reuse their cached output) and return their runs and timings."""
    key = _key({"v": GENERATOR_VERSION, "tools": _tool_versions(), "trees": asdict(trees)})
    scan_dir = WORK_DIR / "scans" / key
    timings: dict[str, float] = {}
    runs: list[JsonObject] = []
    for tool in ("bandit", "flawfinder"):
        cached = scan_dir / f"{tool}.sarif"
        if cached.exists():
            doc = orjson.loads(cached.read_bytes())
            timings[tool] = 0.0
        else:
            if log:
                print(
                    f"[corpus] running {tool} over the source trees (one-off)...", file=sys.stderr
                )
            started = time.perf_counter()
            if tool == "bandit":
                doc = _run_bandit(trees, scan_dir / "tmp", log=log)
            else:
                doc = _run_flawfinder(trees)
            timings[tool] = time.perf_counter() - started
            _atomic_write(cached, orjson.dumps(doc))
            if log:
                count = sum(len(r.get("results", [])) for r in doc.get("runs", []))
                print(f"[corpus] {tool}: {count} results in {timings[tool]:.0f}s", file=sys.stderr)
        doc_runs = doc.get("runs", [])
        if not doc_runs or not any(r.get("results") for r in doc_runs):
            raise CorpusError(f"{tool} found nothing in {asdict(trees)}; pick other trees")
        runs.extend(doc_runs)
    return runs, timings


def _shift_location(location: JsonObject, delta: int) -> JsonObject:
    physical = location.get("physicalLocation")
    if not isinstance(physical, dict):
        return location
    moved = dict(physical)
    for region_key in ("region", "contextRegion"):
        region = physical.get(region_key)
        if isinstance(region, dict):
            shifted = dict(region)
            for line_key in ("startLine", "endLine"):
                line = region.get(line_key)
                if isinstance(line, int):
                    shifted[line_key] = max(1, line + delta)
            moved[region_key] = shifted
    return {**location, "physicalLocation": moved}


def _shifted(result: JsonObject, delta: int) -> JsonObject:
    """The same finding after an edit above it: lines move, content fingerprints do not."""
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations:
        return result
    return {**result, "locations": [_shift_location(loc, delta) for loc in locations]}


def _new_finding(result: JsonObject, rng: random.Random, scan_no: int) -> JsonObject:
    """A real result as if the same pattern appeared in new code further down the file."""
    moved = _shifted(result, rng.randint(20, 400))
    for fp_key in ("fingerprints", "partialFingerprints"):
        prints = moved.get(fp_key)
        if isinstance(prints, dict):
            salt = f"{scan_no}:{rng.random()}"
            moved[fp_key] = {
                name: hashlib.sha256(f"{value}:{salt}".encode()).hexdigest()
                for name, value in prints.items()
            }
    return moved


def _drift(
    results: list[JsonObject], rng: random.Random, rates: DriftRates, scan_no: int
) -> list[JsonObject]:
    out: list[JsonObject] = []
    for result in results:
        roll = rng.random()
        if roll < rates.removed:
            continue
        if roll < rates.removed + rates.shifted:
            delta = rng.choice((-1, 1)) * rng.randint(1, rates.max_shift_lines)
            out.append(_shifted(result, delta))
        else:
            out.append(result)
    for _ in range(round(len(results) * rates.added)):
        out.append(_new_finding(rng.choice(results), rng, scan_no))
    return out


def _ci_run(base: JsonObject, results: list[JsonObject], scan_no: int, when: float) -> JsonObject:
    driver = base.get("tool", {}).get("driver", {})
    tool = str(driver.get("name", "tool")).lower()
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when + 60 + scan_no % 240))
    invocation = {"executionSuccessful": True, "startTimeUtc": start, "endTimeUtc": end}
    return {
        **base,
        "automationDetails": {
            "id": f"ci-nightly/{tool}/{scan_no:05d}",
            # A stable UUID derived from the scan keeps the file reproducible.
            "guid": str(
                uuid.UUID(
                    bytes=hashlib.sha256(f"{tool}:{scan_no}".encode()).digest()[:16], version=4
                )
            ),
        },
        "invocations": [invocation],
        "results": results,
    }


def stack(
    base_runs: Sequence[JsonObject], *, results: int, seed: int, rates: DriftRates
) -> tuple[JsonObject, int]:
    """Stack drifting CI scans of ``base_runs`` until exactly ``results`` results are held."""
    rng = random.Random(seed)
    states = [list(run.get("results", [])) for run in base_runs]
    runs: list[JsonObject] = []
    total = 0
    scan_no = 0
    # A fixed epoch keeps the file byte-for-byte reproducible for a given seed.
    when = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    while total < results:
        scan_no += 1
        for index, base in enumerate(base_runs):
            if scan_no > 1:
                states[index] = _drift(states[index], rng, rates, scan_no)
            take = states[index][: results - total]
            if not take:
                continue
            runs.append(_ci_run(base, take, scan_no, when + index * 300))
            total += len(take)
            if total >= results:
                break
        when += 86_400 + rng.randint(-3_600, 3_600)
    document: JsonObject = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": runs,
    }
    return document, scan_no


def build(
    *,
    results: int,
    seed: int = 20260101,
    rates: DriftRates | None = None,
    trees: ScanTrees | None = None,
    log: bool = True,
) -> Corpus:
    """Return the cached corpus for these parameters, generating it first if needed."""
    rates = rates or DriftRates()
    trees = trees or default_trees()
    key = _key(
        {
            "v": GENERATOR_VERSION,
            "tools": _tool_versions(),
            "trees": asdict(trees),
            "results": results,
            "seed": seed,
            "rates": asdict(rates),
        }
    )
    path = WORK_DIR / f"corpus-{results}-{key}.sarif"
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return Corpus(
            path=path,
            results=int(meta["results"]),
            runs=int(meta["runs"]),
            ci_scans=int(meta["ci_scans"]),
            base_results={str(k): int(v) for k, v in meta["base_results"].items()},
            size_bytes=path.stat().st_size,
            generated_s=float(meta["generated_s"]),
            from_cache=True,
        )
    started = time.perf_counter()
    base_runs, _ = scan(trees, log=log)
    base_results: dict[str, int] = {}
    for run in base_runs:
        name = str(run.get("tool", {}).get("driver", {}).get("name", "tool"))
        base_results[name] = base_results.get(name, 0) + len(run.get("results", []))
    if log:
        print(f"[corpus] stacking CI scans up to {results} results...", file=sys.stderr)
    document, ci_scans = stack(base_runs, results=results, seed=seed, rates=rates)
    data = orjson.dumps(document)
    held = sum(len(run["results"]) for run in document["runs"])
    _atomic_write(path, data)
    generated_s = time.perf_counter() - started
    meta = {
        "results": held,
        "runs": len(document["runs"]),
        "ci_scans": ci_scans,
        "base_results": base_results,
        "generated_s": generated_s,
        "tools": _tool_versions(),
        "trees": asdict(trees),
        "seed": seed,
        "rates": asdict(rates),
    }
    _atomic_write(meta_path, json.dumps(meta, indent=2).encode())
    return Corpus(
        path=path,
        results=held,
        runs=len(document["runs"]),
        ci_scans=ci_scans,
        base_results=base_results,
        size_bytes=len(data),
        generated_s=generated_s,
        from_cache=False,
    )
