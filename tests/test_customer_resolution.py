"""Customer references are never guessed: legal forms, single letters, wildcards, injection strings, control and
fullwidth characters, and ordinary words (places, trade vocabulary) resolve to nobody, through the resolver tool,
every customer-level tool and the REST API; whole names, leading words, external ids and clear typos still resolve;
partial words only ever suggest candidates. Database cases run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from assistant.service import AssistantService
from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session
from db.queries.staff import get_staff_user
from integrations.api.app import create_app
from tests.support import clock
from tests.support.surfaces import bearer, issue_keys
from tools.context import Actor, ToolContext
from tools.name_matching import NameIndex, match_name, query_key
from tools.reference_words import has_control_characters, is_common_word, is_filler, is_ordinary
from tools.registry import call_tool

# References that name nobody. The fullwidth and control-character ones are refused as input errors.
NOBODY = [
    "a", "A", "inc", "Inc.", "LLC", "L.L.C.", "Ltd", "GmbH", "corp", "Corp.", "co", "sa", "ag", "g", "x", "%", "_", "*",
    "%%", "a%", "%a%", "_cme", "'", '"', "--", '"); UPDATE customer SET name=\'x\' --', "' OR 1=1 --",
    "1' OR '1'='1", "; DROP TABLE customer; --", "the", "of", "and", "& co", "inc llc", "ac", "UK", "US", "Mexico",
    "Germany", "EMEA", "North America", "EOM", "report", "statement", "sitting", "older", "overdue", "invoice", "total",
    "today", "aging", "ageing", "book", "portfolio", "top", "all", "group", "holdings", "industries", "international",
    "global", "systems", "logistics", "acme " * 30, "z" * 200, "0", "99999",
]  # fmt: skip
REFUSED = ["acme\x00", "ac\x1bme", "Ac\u200bme", "acme\u202e", "\x07", "Ａｃｍｅ", "ＡＣＭＥ", "Ｃ０００００１"]
BLANK = ["", " ", "   \t "]
# reference → the customer it clearly names (seeded demo portfolio)
CLEAR = {
    "Acme": "Acme Corporation",
    "ACME CORP": "Acme Corporation",
    "acme europe": "Acme Europe B.V.",
    "Acme Europe B.V.": "Acme Europe B.V.",
    "acme logistic": "Acme Logistics LLC",
    "Globex": "Globex Industries",
    "globex's": "Globex Industries",
    "Umbrela": "Umbrella Health GmbH",
    "Umbrella": "Umbrella Health GmbH",
    "Soylant Foods": "Soylent Foods",
    "Initech Ltd": "Initech Ltd",
    "Duarte & Richter": "Duarte & Richter Inc",
    "Riverwave": "City of Riverwave",
    "c000005": "Initech Ltd",
    "C000017": "Peakworth Builders LLC",
    " C000004 ": "Globex Industries",
}
# reference → customers offered as candidates (never resolved)
CANDIDATES = {
    "acm": {"Acme Corporation", "Acme Europe B.V.", "Acme Logistics LLC"},
    "peak": {"Peakworth Builders LLC", "Peakway Group Pty Ltd", "Peakspring Group LLC"},
    "Richter": {"Duarte & Richter Inc", "Zimmer & Richter Ltd"},
    "glbex": {"Globex Industries", "Glenmont Clinics Inc"},
    "Vandela": {"Vandelay Imports"},
}


# --- the rule without a database --------------------------------------------------------------------------------


def _index(names: list[str], parents: dict[int, int] | None = None) -> NameIndex:
    """The names get ids 1, 2, …; `parents` maps a subsidiary's id to its parent's."""
    parents = parents or {}
    from db.models.party import customer_name_key

    return NameIndex.build(
        (len(names), len(names), ""),
        [(i + 1, customer_name_key(n), f"C{i + 1}", parents.get(i + 1), n) for i, n in enumerate(names)],
    )


BOOK = [
    "Acme Corporation",
    "Acme Europe B.V.",
    "A Plus Ltd",
    "Total SA",
    "Mexico Trading SA de CV",
    "Globex Industries",
]


def test_words_are_classified() -> None:
    assert all(is_filler(w) for w in ("inc", "LLC", "L.L.C.", "gmbh", "Corp.", "of", "&"))
    assert all(is_ordinary(w) for w in ("uk", "Mexico", "germany", "emea", "EOM", "report", "statement", "sitting"))
    assert not any(is_ordinary(w) for w in ("acme", "globex", "umbrella", "stark"))
    assert is_common_word("holdings") and is_common_word("reports") and is_common_word("umbrella")
    assert not is_common_word("globex") and not is_common_word("initech")
    assert query_key("Ａｃｍｅ Corp.") == "acme" and query_key("Globex's") == "globex"
    assert has_control_characters("ac\x00me") and has_control_characters("ac\u200bme")
    assert not has_control_characters("Duarte & Richter\tInc")


@pytest.mark.parametrize("reference", NOBODY)
def test_nobody_without_a_database(reference: str) -> None:
    ranked, decisive = match_name(_index([n for n in BOOK if not n.startswith(("Total", "Mexico"))]), reference, 5)
    assert not decisive
    assert ranked == [], ranked


def test_ordinary_words_name_a_customer_only_as_the_whole_name() -> None:
    index = _index(BOOK)
    ranked, decisive = match_name(index, "Total", 5)
    assert decisive and index.keys[ranked[0][0]] == "total"
    assert match_name(index, "mexico", 5) == ([], False)  # the leading word of a name made of place words
    ranked, decisive = match_name(index, "Mexico Trading SA de CV", 5)
    assert decisive
    assert index.ordinary_names() == frozenset({"total"})


def test_a_one_letter_name_is_reached_only_by_its_id() -> None:
    index = _index(BOOK)
    assert match_name(index, "a", 5) == ([], False)
    assert match_name(index, "A Plus", 5)[1]  # its whole name still resolves


# --- the resolver tool and every customer-level tool ------------------------------------------------------------


def _ctx(url: str, who: str = "avery") -> ToolContext:
    with read_session(url) as session:
        return ToolContext(actor=Actor.from_user(get_staff_user(session, who)), database_url=url)


def _resolve(url: str, reference: str) -> dict[str, Any]:
    return call_tool("resolve_customer", {"query": reference}, _ctx(url)).model_dump(mode="json")


def test_references_that_name_nobody(seeded_db_url: str) -> None:
    ctx = _ctx(seeded_db_url)
    for reference in NOBODY:
        result = call_tool("resolve_customer", {"query": reference[:200]}, ctx).model_dump(mode="json")
        assert result["status"] == "not_found", (reference, result)
        assert result["candidates"] == [] and result["customer"] is None
        with pytest.raises(CreditDeskError) as refused:
            call_tool("get_customer_exposure", {"customer": reference[:200]}, ctx)
        assert refused.value.code is ErrorCode.NOT_FOUND, reference
    for reference in REFUSED + BLANK:
        for tool, args in (("resolve_customer", {"query": reference}), ("score_customer", {"customer": reference})):
            with pytest.raises(CreditDeskError) as refused:
                call_tool(tool, args, ctx)
            assert refused.value.code is ErrorCode.INVALID_INPUT, (tool, reference)


def test_clear_references_still_resolve(seeded_db_url: str) -> None:
    for reference, name in CLEAR.items():
        result = _resolve(seeded_db_url, reference)
        assert result["status"] == "resolved", (reference, result)
        assert result["customer"]["name"] == name
    exposure = call_tool("get_customer_exposure", {"customer": "globex"}, _ctx(seeded_db_url))
    assert exposure.model_dump(mode="json")["customer"]["name"] == "Globex Industries"


def test_partial_references_only_suggest(seeded_db_url: str) -> None:
    for reference, names in CANDIDATES.items():
        result = _resolve(seeded_db_url, reference)
        assert result["status"] == "ambiguous", (reference, result)
        assert result["customer"] is None
        assert {c["customer"]["name"] for c in result["candidates"]} == names
        with pytest.raises(CreditDeskError) as refused:
            call_tool("get_customer_exposure", {"customer": reference}, _ctx(seeded_db_url))
        assert refused.value.code is ErrorCode.AMBIGUOUS


def test_an_ordinary_word_of_names_is_matched_only_when_asked_for(seeded_db_url: str) -> None:
    """`name_word`: "the ventures one", "the city account" — the names holding that word, to choose from; one only
    when exactly one name holds it and the user may see it; never more than one word."""

    def resolve(query: str, who: str = "avery", **extra: object) -> dict[str, Any]:
        return call_tool("resolve_customer", {"query": query, **extra}, _ctx(seeded_db_url, who)).model_dump(
            mode="json"
        )

    assert resolve("ventures")["status"] == "not_found" and resolve("city")["status"] == "not_found"
    several = resolve("ventures", name_word=True)
    assert several["status"] == "ambiguous" and several["customer"] is None
    assert {c["customer"]["name"] for c in several["candidates"]} == {
        "Northview Ventures Ltd", "Fairdale Ventures KG", "Fournier Ventures GmbH", "Newpoint Systems Ventures Pte Ltd"
    }  # fmt: skip
    assert resolve("city", name_word=True)["customer"]["name"] == "City of Riverwave"
    assert resolve("city", "cameron", name_word=True)["status"] == "not_found"  # casey's customer
    assert {c["customer"]["name"] for c in resolve("ventures", "cameron", name_word=True)["candidates"]} == {
        "Northview Ventures Ltd", "Newpoint Systems Ventures Pte Ltd"
    }  # fmt: skip
    assert resolve("north america", name_word=True)["status"] == "not_found"  # one word only, never a phrase


def test_future_as_of_is_refused_by_the_tool(seeded_db_url: str) -> None:
    tomorrow = clock.today() + timedelta(days=1)
    for tool in ("get_customer_exposure", "score_customer"):
        with pytest.raises(CreditDeskError) as refused:
            call_tool(tool, {"customer": "Acme", "as_of": tomorrow}, _ctx(seeded_db_url))
        assert refused.value.code is ErrorCode.INVALID_INPUT
        assert "future" in refused.value.message


# --- the REST API -------------------------------------------------------------------------------------------------


@dataclass
class Api:
    client: TestClient
    key: str

    def exposure(self, reference: str) -> Any:
        return self.client.get(f"/v1/customers/{quote(reference, safe='')}/exposure", headers=bearer(self.key))


@pytest.fixture
def api(seeded_db_url: str) -> Iterator[Api]:
    app = create_app(database_url=seeded_db_url, service=AssistantService(database_url=seeded_db_url, engine="planner"))
    with TestClient(app) as client:
        yield Api(client=client, key=issue_keys(seeded_db_url, ("avery",))["avery"])


def test_api_never_answers_for_a_guessed_customer(api: Api) -> None:
    for reference in NOBODY:
        response = api.exposure(reference)
        expected = 422 if len(reference) > 200 else 404  # the path refuses what the tool would never match
        assert response.status_code == expected, (reference, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Acme" not in response.text and "Globex" not in response.text
    for reference in REFUSED + BLANK[1:]:
        response = api.exposure(reference)
        assert response.status_code == 422, (reference, response.status_code)
        assert "Acme Corporation" not in response.text
    for reference, names in CANDIDATES.items():
        response = api.exposure(reference)
        assert response.status_code == 409, (reference, response.status_code)
        assert all(name in response.json()["detail"] for name in names)
    for reference in ("acme", "C000001", "c000001", "1"):
        response = api.exposure(reference)
        assert response.status_code == 200, (reference, response.text)
        assert response.json()["customer"]["name"] == "Acme Corporation"


def test_a_word_leading_one_name_and_whole_inside_another_is_not_decisive() -> None:
    index = _index(["Dalton Group Ltd.", "Schmidt & Dalton Inc", "Daltonia Foods"])
    ranked, decisive = match_name(index, "dalton", 5)
    assert not decisive
    assert [index.ids[position] for position, _, _ in ranked] == [1, 2, 3]
    ranked, decisive = match_name(index, "dalton group", 5)
    assert decisive and index.ids[ranked[0][0]] == 1


def test_dictionary_words_inside_several_names_are_candidates_never_a_match() -> None:
    index = _index(["Southway Transit Authority", "Cedarshore Transit Authority", "Oakfield Transit Authority Board"])
    ranked, decisive = match_name(index, "transit authority", 5)
    assert not decisive and [index.ids[p] for p, _, _ in ranked] == [1, 2, 3]
    ranked, decisive = match_name(index, "authority board", 5)
    assert not decisive and [index.ids[p] for p, _, _ in ranked] == [3]


def test_a_possessive_typed_without_its_apostrophe_still_names_the_customer() -> None:
    index = _index(["Stark Components Inc", "Starling Ltd", "Industries United Ltd"])
    ranked, decisive = match_name(index, "starks", 5)
    assert decisive and index.ids[ranked[0][0]] == 1
    assert not match_name(index, "starkss", 5)[0]


def test_two_words_typed_apart_that_make_one_word_of_a_name_still_name_it() -> None:
    index = _index(["Eaglelight Renewables", "Eagle Foods Ltd", "Lightpath Energy"])
    ranked, decisive = match_name(index, "eagle light renewables", 5)
    assert decisive and index.ids[ranked[0][0]] == 1
    ranked, decisive = match_name(index, "eagle foods", 5)
    assert decisive and index.ids[ranked[0][0]] == 2
    assert not match_name(index, "eagle dark renewables", 5)[1]


def test_a_common_word_leading_one_name_and_starting_another_is_not_decisive() -> None:
    index = _index(["Crystal Land Components LLC", "Crystalwood Ventures Ltd", "Hooli Cloud Inc", "Land Crystal Co"])
    ranked, decisive = match_name(index, "crystal", 5)
    assert not decisive
    assert [index.ids[position] for position, _, _ in ranked] == [1, 2]
    assert [how for _, _, how in ranked] == ["name words", "start of name"]
    for reference in ("crystal land", "crystalwood", "hooli"):
        ranked, decisive = match_name(index, reference, 5)
        assert decisive, reference


def test_a_name_typed_without_its_legal_form_is_not_decisive_when_another_name_starts_the_same_way() -> None:
    names = ["Highbridge Company SAS", "Highbridge Enterprises S. de R.L.", "Acme Corporation", "Acme Europe B.V."]
    index = _index(names, parents={4: 3})
    ranked, decisive = match_name(index, "highbridge", 5)
    assert not decisive
    assert [index.ids[position] for position, _, _ in ranked] == [1, 2]
    for reference in ("Highbridge Company", "highbridge sas", "highbridge enterprises"):
        ranked, decisive = match_name(index, reference, 5)
        assert decisive, reference
    ranked, decisive = match_name(index, "acme", 5)  # the other Acme is its own subsidiary: the group head is meant
    assert decisive and index.ids[ranked[0][0]] == 3
    assert not match_name(_index(names), "acme", 5)[1]  # two unrelated companies called Acme
    ranked, decisive = match_name(_index(["Limit Works", "Limit Works Big Book"]), "limit works", 5)
    assert decisive and ranked[0][0] == 0  # the whole name typed, with no legal form to leave off
