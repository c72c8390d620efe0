"""Regenerate the reinforcement fine-tuning sample: `python samples/generate_rft.py`.

Vietnamese arithmetic word problems with numeric reference answers, drawn deterministically from templates:
- `rft/vi-arithmetic.jsonl`: 120 prompts in the rft-openai-chat format (the format takes 100 to 20,000), each
  `{"messages": [system, user], "reference_answer": "<number>"}`, graded by the built-in numeric_tolerance grader;
- `evaluation/vi-arithmetic.jsonl`: 40 of those problems asked again with another lead-in, `{"prompt",
  "reference"}`, for the profile's evaluation (exact match of the number).

The evaluation asks problems the job trained on: the emulator's candidate answers by nearest neighbour over its
training prompts, so only those can show a trained model apart from the baseline. A real team would hold out
problems of its own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
TRAINING = HERE / "rft" / "vi-arithmetic.jsonl"
EVALUATION = HERE / "evaluation" / "vi-arithmetic.jsonl"
RECORDS = 120
EVALUATION_EVERY = 3  # every third training problem is asked again in the evaluation set
SYSTEM = "Bạn là trợ lý giải toán tiểu học. Giải ngắn gọn và kết thúc bằng dòng 'Đáp số: <số>'."
NAMES = ["Lan", "Minh", "An", "Hoa", "Bình", "Mai", "Tuấn", "Linh", "Nam", "Thảo", "Hùng", "Vy"]

Problem = Callable[[str, int, int], tuple[str, int]]
TEMPLATES: list[Problem] = [
    lambda n, a, b: (f"{n} có {a} quả táo, mẹ cho thêm {b} quả. Hỏi {n} có tất cả bao nhiêu quả táo?", a + b),
    lambda n, a, b: (
        f"Cửa hàng của cô {n} có {a + b} ki-lô-gam gạo, đã bán {b} ki-lô-gam. Hỏi cửa hàng còn lại bao nhiêu ki-lô-gam gạo?",
        a,
    ),
    lambda n, a, b: (f"Mỗi hộp bút của {n} có {a} cái bút. Hỏi {b} hộp như thế có bao nhiêu cái bút?", a * b),
    lambda n, a, b: (f"{n} chia đều {a * b} cái kẹo cho {b} bạn. Hỏi mỗi bạn được bao nhiêu cái kẹo?", a),
    lambda n, a, b: (
        f"Mảnh vườn nhà {n} hình chữ nhật dài {a} mét, rộng {b} mét. Hỏi chu vi mảnh vườn là bao nhiêu mét?",
        2 * (a + b),
    ),
    lambda n, a, b: (
        f"{n} đi xe đạp với vận tốc {a} ki-lô-mét mỗi giờ trong {b} giờ. Hỏi {n} đi được bao nhiêu ki-lô-mét?",
        a * b,
    ),
    lambda n, a, b: (f"Lớp của {n} có {a} bạn nam và {b} bạn nữ. Hỏi lớp có tất cả bao nhiêu học sinh?", a + b),
    lambda n, a, b: (
        f"{n} có {a + b} nghìn đồng, mua một quyển vở giá {b} nghìn đồng. Hỏi {n} còn lại bao nhiêu nghìn đồng?",
        a,
    ),
]


def problems() -> list[tuple[str, str]]:
    """(question, reference answer) pairs, no two alike."""
    draw = random.Random(17)  # fixed seed: the same file every time
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    while len(out) < RECORDS:
        template = TEMPLATES[len(out) % len(TEMPLATES)]
        question, answer = template(draw.choice(NAMES), draw.randint(3, 60), draw.randint(2, 9))
        if question not in seen:
            seen.add(question)
            out.append((question, str(answer)))
    return out


def training() -> list[dict]:
    return [
        {
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            "reference_answer": answer,
        }
        for question, answer in problems()
    ]


def evaluation() -> list[dict]:
    return [
        {"prompt": f"Bài toán: {question}", "reference": answer} for question, answer in problems()[::EVALUATION_EVERY]
    ]


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    _write(TRAINING, training())
    _write(EVALUATION, evaluation())


if __name__ == "__main__":
    main()
