import pytest

from parsers.municipalities import all_municipalities, find_municipality


def test_registry_holds_denmarks_98_municipalities_with_unique_codes():
    rows = all_municipalities()
    assert len(rows) == 98
    assert len({m.code for m in rows}) == 98


def test_every_official_and_short_name_finds_itself():
    for m in all_municipalities():
        assert find_municipality(m.official_name) == m
        assert find_municipality(m.name) == m


@pytest.mark.parametrize(("typed", "code"), [
    ("Aarhus Kommune", "751"), ("Århus", "751"), ("Kommune: Aarhus", "751"), ("Høje Taastrup", "169"),
    ("høje-taastrup kommune", "169"), ("Københavns Kommune", "101"), ("Bornholm", "400"),
])
def test_common_spellings_resolve_to_the_canonical_municipality(typed, code):
    found = find_municipality(typed)
    assert found is not None and found.code == code


def test_unknown_names_resolve_to_nothing():
    assert find_municipality("Gotham") is None
    assert find_municipality("") is None
