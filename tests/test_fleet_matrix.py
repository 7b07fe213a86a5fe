"""The "where is this model" matrix, without a UI: cells, names, the reference digest."""

from __future__ import annotations

from ollama_tui.api.models import LocalModel
from ollama_tui.fleet_matrix import MatrixRow, Presence, fleet_matrix

SAME, DIFF, ABSENT, UNKNOWN = Presence.SAME, Presence.DIFFERENT, Presence.ABSENT, Presence.UNKNOWN


def model(name: str, digest: str = "a" * 64) -> LocalModel:
    return LocalModel.from_json({"name": name, "digest": digest, "size": 1})


def by_name(rows: list[MatrixRow]) -> dict[str, MatrixRow]:
    return {row.name: row for row in rows}


def test_same_different_and_absent_cells() -> None:
    rows = by_name(
        fleet_matrix(
            [
                [model("llama3.2:latest", "a" * 64), model("phi3:mini")],
                [model("llama3.2:latest", "b" * 64)],
                [model("llama3.2:latest", "a" * 64)],
            ]
        )
    )
    assert rows["llama3.2:latest"].cells == (SAME, DIFF, SAME)
    assert rows["llama3.2:latest"].diverged
    assert rows["llama3.2:latest"].lacking == (1,)
    assert rows["phi3:mini"].cells == (SAME, ABSENT, ABSENT)
    assert rows["phi3:mini"].lacking == (1, 2)
    assert not rows["phi3:mini"].diverged
    assert [str(c.value) for c in rows["llama3.2:latest"].cells] == ["✓", "≠", "✓"]
    assert ABSENT.value == ""


def test_names_are_one_row_as_the_server_compares_them() -> None:
    rows = fleet_matrix(
        [
            [model("llama3.2")],
            [model("Llama3.2:latest")],
            [model("registry.ollama.ai/library/llama3.2:latest")],
            [model("library/LLAMA3.2")],
        ]
    )
    assert len(rows) == 1
    assert rows[0].name == "llama3.2:latest"  # the first server's spelling, normalized
    assert rows[0].cells == (SAME,) * 4
    # Another namespace or tag is another model.
    rows = fleet_matrix([[model("me/llama3.2"), model("llama3.2:1b")], [model("llama3.2")]])
    assert [r.name for r in rows] == ["llama3.2:1b", "llama3.2:latest", "me/llama3.2:latest"]


def test_reference_is_the_most_common_digest() -> None:
    a, b = "a" * 64, "b" * 64
    rows = fleet_matrix([[model("m", a)], [model("m", b)], [model("m", b)]])
    assert rows[0].cells == (DIFF, SAME, SAME)
    assert rows[0].reference == 1  # the first server with the reference digest: the source
    assert rows[0].source.digest == b
    assert rows[0].lacking == (0,)


def test_a_tie_goes_to_the_leftmost_server() -> None:
    a, b = "a" * 64, "b" * 64
    rows = fleet_matrix([[], [model("m", b)], [model("m", a)], [model("m", a)], [model("m", b)]])
    assert rows[0].cells == (ABSENT, SAME, DIFF, DIFF, SAME)
    assert rows[0].reference == 1
    assert rows[0].lacking == (0, 2, 3)


def test_a_server_not_heard_from_is_unknown_not_absent() -> None:
    rows = fleet_matrix([[model("m")], None, []])
    assert rows[0].cells == (SAME, UNKNOWN, ABSENT)
    assert rows[0].lacking == (2,)  # never a target: nobody knows what it has


def test_a_name_listed_twice_on_one_server_counts_once() -> None:
    a, b = "a" * 64, "b" * 64
    rows = fleet_matrix([[model("m", a), model("M:latest", b)], [model("m", b)]])
    assert len(rows) == 1
    assert rows[0].models[0] is not None and rows[0].models[0].digest == a
    assert rows[0].cells == (SAME, DIFF)


def test_hostile_names_keep_their_own_rows() -> None:
    hostile = [
        "evil\x1b[31m:latest",
        "[bold]markup[/bold]",
        "spaced name",
        "",
        "a" * 5000,
        "ünïcode:tag",
        "zero\u200bwidth",
    ]
    rows = fleet_matrix([[model(n) for n in hostile], [model(hostile[0])]])
    assert len(rows) == len(hostile)
    names = {r.name for r in rows}
    assert {model(n).name for n in hostile} == names  # as listed (the table escapes them)
    evil = next(r for r in rows if r.name == hostile[0])
    assert evil.cells == (SAME, SAME)
    # An invalid name and a valid one that folds to the same text stay apart from valid keys.
    rows = fleet_matrix([[model("spaced name")], [model("SPACED NAME")]])
    assert len(rows) == 1 and rows[0].cells == (SAME, SAME)


def test_empty_fleet_and_empty_servers() -> None:
    assert fleet_matrix([]) == []
    assert fleet_matrix([[], [], None]) == []


def test_thousands_of_names_quickly() -> None:
    import time

    servers = [[model(f"m{i}-{s % 2}:{i % 7}") for i in range(2000)] for s in range(10)]
    start = time.perf_counter()
    rows = fleet_matrix(servers)
    assert time.perf_counter() - start < 1.0
    assert len(rows) == 4000
