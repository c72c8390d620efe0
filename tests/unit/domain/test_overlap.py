"""Validate warns where the training data repeats an evaluation prompt: that score would be recall."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from lambdas.domain.catalogue import CustomizationType, DatasetFormat
from lambdas.domain.metrics import normalize
from lambdas.domain.overlap import EvaluationPrompts, normalized, training_prompt
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import NOVA_MICRO, TITAN_EXPRESS, conv, jsonl, pcs

FT = CustomizationType.FINE_TUNING

# Vietnamese as keyboards and tokenizers deliver it: precomposed (NFC) and decomposed (NFD).
CAPITAL = "Thủ đô của Việt Nam là thành phố nào?"
CAPITAL_NFD = unicodedata.normalize("NFD", "THỦ ĐÔ CỦA VIỆT NAM, LÀ THÀNH PHỐ NÀO")


@pytest.mark.parametrize(
    "text",
    [
        CAPITAL,
        CAPITAL_NFD,
        "  Xin chào!!  Bạn khỏe không…  ",
        "A/B testing — “quoted” (yes) ¿qué? «non»",
        "Price: 5$ + 3€ = 8 — ½",
        "Straße İstanbul ǅ ﬁ",
        "snake_case ‿ hindi हिन्दी thai ภาษาไทย",
        "",
    ],
)
def test_the_fast_normalization_is_the_metrics_normalization(text):
    assert normalized(text) == normalize(text)


def test_every_punctuation_character_becomes_a_space_as_in_the_metrics():
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] == "P")
    assert normalized(f"a{every}b") == "a b" == normalize(f"a{every}b")


def test_vietnamese_matches_across_forms_case_and_punctuation_but_not_without_its_diacritics():
    prompts = EvaluationPrompts.of([(3, CAPITAL)])
    assert prompts.match(CAPITAL) == (3, True)
    assert prompts.match(CAPITAL_NFD) == (3, False)
    assert prompts.match("thu do cua viet nam la thanh pho nao") is None  # another text without its marks
    assert prompts.match("Cho tôi hỏi: thủ đô của Việt Nam là thành phố nào?") is None  # not the same prompt
    assert prompts.lines == {3}


def test_the_prompt_of_a_record_is_its_first_user_turn():
    record = conv(user="Câu hỏi?", assistant="Trả lời.")
    assert training_prompt(record, DatasetFormat.CONVERSATION_2024) == "Câu hỏi?"
    assert training_prompt({"prompt": "p", "completion": "c"}, DatasetFormat.PROMPT_COMPLETION) == "p"
    assert training_prompt({"input": "a passage"}, DatasetFormat.CONTINUED_PRE_TRAINING) is None


def test_validation_names_both_lines_for_each_repeat_as_a_warning():
    evaluation = EvaluationPrompts.of([(1, "Không liên quan?"), (2, CAPITAL), (5, "Question number 3?")])
    training = [conv(user=f"Question number {i}?") for i in range(6)]  # line 4 repeats evaluation line 5
    training.insert(1, conv(user=CAPITAL_NFD + " ?!"))  # line 2: evaluation line 2 after normalization
    training.append(conv(user="question   NUMBER 3"))  # line 8: evaluation line 5 again, normalized
    report = validate_dataset(jsonl(*training), NOVA_MICRO, FT, evaluation_prompts=evaluation)
    assert report.valid  # a warning: Bedrock would train on it, the score is what it overstates
    found = report.issues("evaluation-overlaps-training")
    assert [(i.split, i.line, i.severity.value) for i in found] == [
        ("training", 2, "warning"),
        ("training", 5, "warning"),
        ("training", 8, "warning"),
    ]
    assert found[0].message.startswith("evaluation line 2 repeats training line 2 (after normalization);")
    assert found[1].message.startswith("evaluation line 5 repeats training line 5;")
    assert found[2].message.startswith("evaluation line 5 repeats training line 8 (after normalization);")
    assert str(found[1]).startswith("training line 5: evaluation line 5 repeats training line 5")
    assert report.counts()["evaluation-overlaps-training"] == 3
    assert any(
        note.startswith("2 of the 3 evaluation prompts also appear in the training data") for note in report.notes
    )


def test_the_count_is_complete_and_the_examples_capped_like_every_finding():
    records = pcs(30)
    evaluation = EvaluationPrompts.of((n, r["prompt"].upper()) for n, r in enumerate(records, start=1))
    report = validate_dataset(
        jsonl(*records), TITAN_EXPRESS, FT, evaluation_prompts=evaluation, max_examples_per_kind=4
    )
    [group] = [g for g in report.warnings if g.kind == "evaluation-overlaps-training"]
    assert group.count == 30 and [i.line for i in group.examples] == [1, 2, 3, 4]


def test_the_validation_file_is_not_checked_against_the_evaluation_set():
    evaluation = EvaluationPrompts.of([(1, "Summarise ticket 0.")])
    report = validate_dataset(
        jsonl(*pcs(3)[1:]), TITAN_EXPRESS, FT, validation_source=jsonl(*pcs(1)), evaluation_prompts=evaluation
    )
    assert "evaluation-overlaps-training" not in report.counts()


def test_without_an_evaluation_set_nothing_is_checked():
    report = validate_dataset(jsonl(*pcs(3)), TITAN_EXPRESS, FT)
    assert "evaluation-overlaps-training" not in report.counts()
    assert not any("evaluation prompts" in note for note in report.notes)
