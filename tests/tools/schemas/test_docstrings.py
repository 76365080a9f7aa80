"""Docstring parsing: the first paragraph and the Google-style `Args:` section."""

from tools.schemas.docstrings import parse_docstring


def test_summary_is_the_first_paragraph_joined_into_one_line():
    parsed = parse_docstring(
        """Look up the weather
        for a city.

        A second paragraph the model does not need.
        """
    )
    assert parsed.summary == "Look up the weather for a city."


def test_args_section_with_types_and_continuation_lines():
    parsed = parse_docstring(
        """Book a table.

        Args:
            restaurant (str): Name of the restaurant,
                as the user said it.
            people: How many guests.

        Returns:
            people: this is in Returns and must not be read as an argument.
        """
    )
    assert parsed.args == {
        "restaurant": "Name of the restaurant, as the user said it.",
        "people": "How many guests.",
    }


def test_docstring_starting_with_args_has_no_summary():
    parsed = parse_docstring("Args:\n    x: the x.")
    assert parsed.summary == ""
    assert parsed.args == {"x": "the x."}


def test_summary_line_ending_in_colon_is_not_taken_for_a_section():
    parsed = parse_docstring("Do these steps:\n  one, two.")
    assert parsed.summary == "Do these steps: one, two."
    assert parsed.args == {}


def test_missing_docstring_gives_empty_result():
    assert parse_docstring(None).summary == ""
    assert parse_docstring("   ").args == {}
