"""Disk counted per weights blob (``ollama_tui.disk``), against the simulator's own answers."""

from __future__ import annotations

from ollama_tui.api import LocalModel, OllamaClient
from ollama_tui.disk import disk_usage, freed_by_deleting, sharing_weights, weights_digest

GB = 1_000_000_000
W1, W2 = "a" * 64, "b" * 64


def model(name: str, digest: str, size: int, parent: str = "") -> LocalModel:
    return LocalModel.from_json(
        {"name": name, "digest": digest, "size": size, "details": {"parent_model": parent}}
    )


def test_the_from_line_names_the_weights_blob() -> None:
    assert weights_digest(f"# x\nFROM /root/.ollama/models/blobs/sha256-{W1}\n") == W1
    assert weights_digest(f"FROM C:\\models\\blobs\\sha256-{W1.upper()}") == W1
    assert weights_digest("FROM llama3.2:latest\n") is None
    assert weights_digest(f"SYSTEM FROM /blobs/sha256-{W1}") is None


def test_copies_and_derivatives_count_their_weights_once() -> None:
    base = model("mistral:7b", "d1", 4 * GB)
    copy = model("mine:latest", "d1", 4 * GB)
    derived = model("mistral-pirate:latest", "d2", 4 * GB + 4_000, parent="mistral:7b")
    other = model("qwen:7b", "d3", 5 * GB)
    weights = {"d1": W1, "d2": W1, "d3": W2}
    usage = disk_usage([base, copy, derived, other], weights)
    assert usage.complete
    assert usage.total == 4 * GB + 4_000 + 5 * GB  # not 17 GB
    installed = [base, copy, derived, other]
    assert set(sharing_weights(copy, installed, weights)[0]) == {"mistral:7b", derived.name}
    assert sharing_weights(other, installed, weights) == ((), True)
    before = disk_usage([base, other], weights).total
    assert usage.total - before <= 4_000  # two copies and a derivative: its new layers at most


def test_until_shows_arrive_a_derivative_is_assumed_to_share_its_parent() -> None:
    base = model("mistral:7b", "d1", 4 * GB)
    derived = model("pirate:latest", "d2", 4 * GB + 4_000, parent="mistral:7b")
    usage = disk_usage([base, derived], {})
    assert not usage.complete
    assert usage.total == 4 * GB + 4_000


def test_deleting_a_copy_frees_almost_nothing_and_names_who_keeps_the_weights() -> None:
    base = model("llama3.2:latest", "d1", 2 * GB)
    copy = model("backup:latest", "d1", 2 * GB)
    derived = model("tutor:latest", "d2", 2 * GB + 4_000, parent="llama3.2:latest")
    lone = model("qwen:7b", "d3", 5 * GB)
    installed = [base, copy, derived, lone]
    weights = {"d1": W1, "d2": W1, "d3": W2}
    freed = freed_by_deleting([copy], installed, weights)
    assert freed.size == 0
    assert set(freed.kept_by) == {"llama3.2:latest", "tutor:latest"}
    freed = freed_by_deleting([derived], installed, weights)
    assert freed.size == 4_000
    assert freed.kept_by == ("llama3.2:latest", "backup:latest")
    everything = freed_by_deleting([base, copy, derived], installed, weights)
    assert everything.size == 2 * GB + 4_000 and everything.kept_by == ()
    assert freed_by_deleting([lone], installed, weights).size == 5 * GB


def test_cloud_models_take_nothing() -> None:
    cloud = LocalModel.from_json(
        {"name": "gpt-oss:120b-cloud", "digest": "c", "size": 384, "remote_host": "https://x"}
    )
    assert disk_usage([cloud], {}).total == 0


async def test_the_simulator_names_shared_weights_in_show(sim: object) -> None:
    """A copy and a model created FROM the base name the same blob, as a real server does."""
    url = str(sim.url)  # type: ignore[attr-defined]
    async with OllamaClient(url) as client:
        installed = await client.list_models()
        base = installed[0]
        await client.copy(base.name, "copy-of-base:latest")
        modelfile = f"FROM {base.name}\nSYSTEM Be terse.\n"
        async for _ in client.create("derived:latest", modelfile, from_model=base.name):
            pass
        models = {m.name: m for m in await client.list_models()}
        weights = {}
        for m in models.values():
            found = weights_digest((await client.show(m.name)).modelfile)
            if found:
                weights[m.digest] = found
        assert weights[models["copy-of-base:latest"].digest] == weights[base.digest]
        assert weights[models["derived:latest"].digest] == weights[base.digest]
        with_copies = disk_usage(models.values(), weights).total
        without = disk_usage(
            [m for n, m in models.items() if n not in ("copy-of-base:latest", "derived:latest")],
            weights,
        ).total
        assert with_copies - without <= models["derived:latest"].size - base.size + 4096


async def test_the_weights_index_asks_each_digest_once_four_at_a_time(sim: object) -> None:
    import asyncio

    from ollama_tui.disk import WeightsIndex

    url = str(sim.url)  # type: ignore[attr-defined]
    for i in range(30):
        sim.add_model(f"bulk{i}:latest", like="qwen2.5:0.5b", digest=f"{i:064x}")  # type: ignore[attr-defined]
    async with OllamaClient(url) as client:
        base = (await client.list_models())[0]
        await client.copy(base.name, "same-digest:latest")
        installed = await client.list_models()
        asked: list[str] = []

        async def show(name: str):  # type: ignore[no-untyped-def]
            asked.append(name)
            await asyncio.sleep(0.01)
            return await client.show(name)

        changes = 0

        def changed() -> None:
            nonlocal changes
            changes += 1

        index = WeightsIndex(show, changed=changed)
        await index.learn(installed)
        digests = {m.digest for m in installed if not m.is_remote}
        assert len(asked) == len(digests)  # the copy shares its source's digest: not asked
        assert index.peak_in_flight == 4
        assert changes == len(index.weights) > 30
        usage = disk_usage(installed, index.weights)
        assert usage.complete
        assert "same-digest:latest" in sharing_weights(base, installed, index.weights)[0]
        asked.clear()
        await index.learn(installed)
        assert asked == []
        index.forget_gone([m for m in installed if m.name != "bulk0:latest"])
        assert len(index.weights) == changes - 1


def test_before_all_weights_are_known_deleting_frees_at_most_the_unshared_sizes() -> None:
    from ollama_tui.disk import deleting_frees

    base = model("llama3.2:latest", "d1", 2 * GB)
    copy = model("backup:latest", "d1", 2 * GB)
    derived = model("tutor:latest", "d2", 2 * GB + 4_000, parent="llama3.2:latest")
    installed = [base, copy, derived]
    # Nothing known: a copy still shares (same manifest); the derivative may not: "up to".
    freed = deleting_frees([copy], installed, {})
    assert (freed.size, freed.exact, freed.kept_by) == (0, False, ("llama3.2:latest",))
    freed = deleting_frees([derived], installed, {})
    assert (freed.size, freed.exact, freed.kept_by) == (2 * GB + 4_000, False, ())
    # Everything known: exact, and the copies of the deleted model are named first.
    freed = deleting_frees([copy], installed, {"d1": W1, "d2": W1})
    assert (freed.size, freed.exact) == (0, True)
    assert freed.kept_by == ("llama3.2:latest", "tutor:latest")


def test_who_shares_a_models_weights_and_whether_that_is_all() -> None:
    from ollama_tui.disk import sharing_weights

    base = model("llama3.2:latest", "d1", 2 * GB)
    copy = model("backup:latest", "d1", 2 * GB)
    derived = model("tutor:latest", "d2", 2 * GB + 4_000)
    other = model("qwen:7b", "d3", 5 * GB)
    installed = [base, copy, derived, other]
    assert sharing_weights(derived, installed, {}) == ((), False)
    assert sharing_weights(derived, installed, {"d1": W1}, blob=W1) == (
        ("llama3.2:latest", "backup:latest"),
        False,  # qwen's weights are not known: it might share them too
    )
    everything = {"d1": W1, "d2": W1, "d3": W2}
    assert sharing_weights(base, installed, everything) == (("backup:latest", "tutor:latest"), True)
    assert sharing_weights(other, installed, everything) == ((), True)


def test_the_dialog_sentence_and_the_figure() -> None:
    from ollama_tui.disk import Freed
    from ollama_tui.formatting import disk_figure, listed
    from ollama_tui.screens.delete import freed_sentence

    assert disk_figure(4 * GB, True) == "4 GB" and disk_figure(4 * GB, False) == "≥4 GB"
    assert listed(["a"]) == "a" and listed(["a", "b"]) == "a and b"
    assert listed(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"
    assert listed(["x\x1b[31m"]) == "x\\x1b[31m"  # escaped: untrusted server text
    one = [model("backup:latest", "d1", 2 * GB)]
    assert freed_sentence(one, Freed(0, ("llama3.2:latest",))) == (
        "Frees almost nothing — the weights stay, shared with llama3.2:latest."
    )
    assert freed_sentence(one, Freed(4_000, ("a",))) == (
        "Frees 4 KB of disk space — the weights stay, shared with a."
    )
    assert freed_sentence(one, Freed(2 * GB, ())) == "Frees 2 GB of disk space."
    assert freed_sentence(one, Freed(2 * GB, (), exact=False)) == (
        "Frees up to 2 GB of disk space (which models share weights is not known yet)."
    )
    two = [*one, model("tutor:latest", "d2", 2 * GB)]
    assert freed_sentence(two, Freed(4_000, ("a", "b", "c", "d"), exact=False)) == (
        "Frees up to 4 KB of disk space — shared weights stay, shared with a, b, c and 1 more."
    )
    unknown = [LocalModel.from_json({"name": "odd:latest", "digest": "d9"})]
    assert freed_sentence(unknown, None) == "Frees an unknown amount of disk space."
    assert freed_sentence(one, None) == "Frees up to 2 GB of disk space."  # no index at hand


async def test_a_session_learns_once_more_when_its_list_changed_meanwhile() -> None:
    """One learning at a time per server: a list that changes while it runs is learnt after."""
    import asyncio

    from ollama_tui.api import ModelShow
    from ollama_tui.disk import WeightsIndex
    from ollama_tui.session import ServerSession

    session = ServerSession(None, "http://127.0.0.1:9")
    gate = asyncio.Event()
    asked: list[str] = []

    async def show(name: str) -> ModelShow:
        asked.append(name)
        await gate.wait()
        blob = W1 if name != "qwen:7b" else W2
        return ModelShow.from_json({"modelfile": f"FROM /m/blobs/sha256-{blob}\n"})

    session.weights = WeightsIndex(show, changed=session._weights_learnt)
    base, copy = model("llama3.2:latest", "d1", 2 * GB), model("backup:latest", "d1", 2 * GB)
    session.installed = [base, copy]
    task = asyncio.create_task(session.learn_weights())
    while not asked:
        await asyncio.sleep(0.001)
    assert asked == ["llama3.2:latest"] and not session.disk_in_use().complete
    session.installed = [base, copy, model("qwen:7b", "d3", 5 * GB)]
    session.weights_again = True  # what the app sets instead of starting a second learning
    gate.set()
    await task
    assert asked == ["llama3.2:latest", "qwen:7b"]
    usage = session.disk_in_use()
    assert usage.complete and usage.total == 7 * GB
    await session.aclose()


async def test_models_whose_weights_cannot_be_known_stand_alone_and_complete_the_figure() -> None:
    """A name the client refuses, or a Modelfile naming no blob: asked once, then counted on
    their own (their manifest digest), so the figure is no longer "at least" for good."""
    from ollama_tui.api import InvalidInput, ModelShow
    from ollama_tui.disk import WeightsIndex

    known = model("llama3.2:latest", "d1", 2 * GB)
    refused = model("bad name with spaces", "d2", 3 * GB)
    copy = model("also bad", "d2", 3 * GB)  # the same manifest: a copy, counted once
    blobless = model("odd:latest", "d3", 1 * GB)
    asked: list[str] = []

    async def show(name: str) -> ModelShow:
        asked.append(name)
        if " " in name:
            raise InvalidInput(f"{name!r} is not a model name")
        blob = f"FROM /blobs/sha256-{W1}\n" if name == known.name else "FROM odd\n"
        return ModelShow.from_json({"modelfile": blob})

    index = WeightsIndex(show)
    installed = [known, refused, copy, blobless]
    await index.learn(installed)
    await index.learn(installed)  # nothing left to ask
    assert sorted(asked) == sorted([known.name, refused.name, blobless.name])
    usage = disk_usage(installed, index.weights)
    assert usage.complete
    assert usage.total == 6 * GB
    assert sharing_weights(copy, installed, index.weights) == ((refused.name,), True)
