"""Name folding (Norwegian letters, diacritics), initials and E.164 phone numbers."""
import pytest

from engine.directory.names import fold, initials
from store.phones import PhoneNumberError, looks_like_phone, phone_digits_for_search, to_e164


@pytest.mark.parametrize("a,b", [
    ("Åsen", "Aasen"), ("Sørli", "Soerli"), ("Ærø", "Aeroe"), ("ØDEGÅRD", "oedegaard"),
    ("José Martínez", "jose martinez"), ("Lars-Erik", "lars erik"), ("  Kari   Nordmann ", "kari nordmann"),
])
def test_given_norwegian_spellings_when_folded_then_they_are_equal(a, b):
    assert fold(a) == fold(b)


def test_given_different_letters_when_folded_then_they_stay_different():
    assert fold("Sørli") != fold("Sarli")
    assert fold("Kari") != fold("Karin")


def test_given_punctuation_and_sql_when_folded_then_only_letters_digits_and_spaces_remain():
    assert fold("x' OR 1=1; --") == "x or 1 1"
    assert fold("<script>") == "script"


def test_given_hyphenated_names_when_initials_then_each_part_counts():
    assert initials("Kari-Anne", "Ødegård") == "kao"
    assert initials("Ola", "Nordmann") == "on"


@pytest.mark.parametrize("raw,e164", [
    ("+47 22 33 44 55", "+4722334455"), ("0047 22334455", "+4722334455"), ("22 33 44 55", "+4722334455"),
    ("(22) 33-44-55", "+4722334455"), ("915 55 001", "+4791555001"), ("tel:+47-22-33-44-55", "+4722334455"),
    ("+46 8 123 456 78", "+46812345678"), ("0046 8 12345678", "+46812345678"), ("02800", "02800"), ("", ""),
])
def test_given_any_phone_format_when_normalised_then_e164(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["22 33 44 AB", "call me", "+", "12"])
def test_given_garbage_when_normalised_then_typed_error(raw):
    with pytest.raises(PhoneNumberError) as exc:
        to_e164(raw)
    assert exc.value.error_id == "directory.phone_invalid"


def test_given_phone_queries_when_searching_then_digits_are_normalised():
    assert looks_like_phone("22 33 44 55") and looks_like_phone("+47 4455") and not looks_like_phone("kari")
    assert phone_digits_for_search("22 33 44 55") == "4722334455"
    assert phone_digits_for_search("0047 22334455") == "4722334455"
    assert phone_digits_for_search("4455") == "4455"


from hypothesis import given, strategies as st  # noqa: E402


@given(st.text(max_size=60))
def test_property_fold_gives_only_search_alphabet_and_is_idempotent(text):
    folded = fold(text)
    assert set(folded) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")
    assert fold(folded) == folded
    assert "  " not in folded and folded == folded.strip()


@given(st.from_regex(r"(\+47|0047)? ?[2-9]\d( ?\d\d){3}", fullmatch=True))
def test_property_norwegian_numbers_in_any_spacing_normalise_to_one_e164(raw):
    e164 = to_e164(raw)
    assert e164.startswith("+47") and len(e164) == 11
    assert to_e164(e164) == e164
    assert to_e164(raw.replace(" ", "")) == e164
