"""The progress link's codec: what the address bar holds is read back exactly; mangled links are refused."""

import pytest

from ui.progress import MAX_CHARS, MAX_ITEMS, decode_done, decode_teacher, encode_done


def test_done_items_are_grouped_by_part_and_sorted():
    items = {"lesson.4", "exercise.matrix", "lesson.1", "exercise.diagonal", "exercise.box_sum"}
    text = encode_done(items)
    assert text == "exercise.box_sum.diagonal.matrix~lesson.1.4"
    assert decode_done(text) == items
    assert encode_done([]) == "" and decode_done("") == set()


@pytest.mark.parametrize("items", [{"lesson.1"}, {"a.b", "a.c", "b.a"}, {f"lesson.{n}" for n in range(40)}])
def test_done_round_trips(items):
    assert decode_done(encode_done(items)) == items


def test_empty_groups_are_ignored_and_duplicates_counted_once():
    assert decode_done("~lesson.1~~lesson.1.2~") == {"lesson.1", "lesson.2"}


@pytest.mark.parametrize("text", ["lesson", "lesson.", "Lesson.1", "lesson.1.A", "lesson.1,2", "les son.1",
                                  "1.lesson", "lesson..1", "<b>.x", "lesson.1/2"])
def test_a_mangled_name_is_refused_without_repeating_it(text):
    with pytest.raises(ValueError, match=r"^a name in it is not a step or an exercise$"):
        decode_done(text)


def test_oversized_links_are_refused():
    with pytest.raises(ValueError, match=f"it is longer than {MAX_CHARS} characters"):
        decode_done("lesson." + "1" * MAX_CHARS)
    many = "lesson." + ".".join(str(n) for n in range(MAX_ITEMS + 1))
    assert len(many) <= MAX_CHARS
    with pytest.raises(ValueError, match=f"it lists more than {MAX_ITEMS} steps and exercises"):
        decode_done(many)


@pytest.mark.parametrize("item", ["lesson", "Lesson.1", "lesson.1.2", "", "lesson.-1"])
def test_encoding_refuses_ids_it_could_not_read_back(item):
    with pytest.raises(ValueError, match=r"a progress item is '<part>\.<name>' in lower case"):
        encode_done([item])


def test_the_teacher_flag():
    assert decode_teacher("1") is True and decode_teacher("0") is False
    for text in ("yes", "true", "", "2"):
        with pytest.raises(ValueError, match=r"the teacher view is teacher=1 \(on\) or teacher=0 \(off\)"):
            decode_teacher(text)
