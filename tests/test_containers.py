"""Several containers serving one learner at once never lose or duplicate a change,
even when one is killed in the middle of a run."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from sessions_cache import journal, store
from tests.containers import Container
from tests.engine_support import learner_create

pytestmark = pytest.mark.slow
ids = itertools.count(1_830_000_000_000)


@pytest.fixture
def containers(tmp_path):
    started = [Container(f"c{i}", tmp_path / f"cache{i}").start() for i in range(3)]
    yield started
    for container in started:
        container.stop()


def post_revlog(container, token, rid):
    """'ack' (2xx), 'refused' (an error answer: nothing applied) or 'unknown' (no answer)."""
    request = urllib.request.Request(
        container.url + "/api/test/revlog",
        data=json.dumps({"ids": [rid]}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return "ack" if response.status < 300 else "refused"
    except urllib.error.HTTPError:
        return "refused"
    except OSError:
        return "unknown"


def journal_revlog_ids(username):
    """Every revlog id each journal entry inserted, entry by entry."""
    entries, _ = store.journal_read(username, 0)
    per_entry = []
    for entry in entries:
        ops = journal.entry_decode(store.entry_payload(username, entry))
        per_entry.append([op[2] for op in ops if op[1] == "revlog" and op[0] == "i"])
    return [e.seq for e in entries], per_entry


def final_ids(container, token):
    request = urllib.request.Request(
        container.url + "/api/test/revlog", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["ids"]


def run(containers, learner, count, workers=6, on_halfway=None):
    outcomes: dict[int, str] = {}
    lock = threading.Lock()
    halfway = threading.Event()

    def one(index):
        rid = next(ids)
        outcome = post_revlog(containers[index % len(containers)], learner.token, rid)
        with lock:
            outcomes[rid] = outcome
            if len(outcomes) == count // 2 and on_halfway and not halfway.is_set():
                halfway.set()
                on_halfway()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, range(count)))
    return outcomes


def assert_exactly(learner, containers, acknowledged, unknown=frozenset()):
    seqs, per_entry = journal_revlog_ids(learner.username)
    assert seqs == list(range(1, len(seqs) + 1)), "the journal's seq is contiguous"
    journaled = [rid for rids in per_entry for rid in rids]
    assert len(journaled) == len(set(journaled)), "no change applied twice"
    assert all(len(rids) == 1 for rids in per_entry), "one entry per request"
    assert set(acknowledged) <= set(journaled), "no acknowledged change lost"
    assert set(journaled) - set(acknowledged) <= set(unknown), "only unanswered extras"
    for container in containers:
        ours = {rid for rid in final_ids(container, learner.token) if rid >= 1_830_000_000_000}
        assert ours == set(journaled), f"{container.name} serves exactly the journal"


def test_three_containers_serving_one_learner_concurrently_lose_and_duplicate_nothing(
    containers, settings
):
    learner = learner_create("shared")
    outcomes = run(containers, learner, 60)
    acknowledged = [rid for rid, outcome in outcomes.items() if outcome == "ack"]
    assert len(acknowledged) >= 30
    assert "unknown" not in outcomes.values()
    assert_exactly(learner, containers, acknowledged)


def test_killing_a_container_mid_run_loses_no_acknowledged_change(containers):
    learner = learner_create("killed")
    victim = containers[1]
    outcomes = run(containers, learner, 60, on_halfway=victim.kill)
    victim.start()  # the same cache directory, as a restarted container would have
    more = run(containers, learner, 15)
    outcomes.update(more)
    acknowledged = [rid for rid, outcome in outcomes.items() if outcome == "ack"]
    unknown = [rid for rid, outcome in outcomes.items() if outcome == "unknown"]
    assert len(acknowledged) >= 40
    assert_exactly(learner, containers, acknowledged, unknown)
