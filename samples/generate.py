"""Regenerate the sample datasets: `python samples/generate.py`.

Small, valid datasets for each format (sized to the models' minimum record counts) and one deliberately
broken file. The demo and the CLI tests use them; `tuneforge validate` on each gives the result listed
in samples/README.md.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
SCHEMA = "bedrock-conversation-2024"

VI_QA = [
    ("Thủ đô của Việt Nam là thành phố nào?", "Thủ đô của Việt Nam là Hà Nội."),
    ("Sông nào dài nhất chảy qua Việt Nam?", "Sông Mê Kông là con sông dài nhất chảy qua Việt Nam."),
    ("Đỉnh núi cao nhất Việt Nam tên là gì?", "Đỉnh Fansipan, cao khoảng 3.143 mét, thuộc dãy Hoàng Liên Sơn."),
    (
        "Tết Nguyên Đán thường rơi vào tháng nào dương lịch?",
        "Tết Nguyên Đán thường rơi vào cuối tháng Một hoặc tháng Hai dương lịch.",
    ),
    ("Món phở có nguồn gốc từ vùng nào?", "Phở có nguồn gốc từ miền Bắc Việt Nam, gắn với Nam Định và Hà Nội."),
    ("Vịnh Hạ Long nằm ở tỉnh nào?", "Vịnh Hạ Long nằm ở tỉnh Quảng Ninh."),
    ("Đơn vị tiền tệ của Việt Nam là gì?", "Đơn vị tiền tệ của Việt Nam là đồng (VND)."),
    (
        "Thành phố lớn nhất Việt Nam theo dân số là thành phố nào?",
        "Thành phố Hồ Chí Minh là thành phố đông dân nhất Việt Nam.",
    ),
    ("Phố cổ Hội An thuộc tỉnh nào?", "Phố cổ Hội An thuộc tỉnh Quảng Nam."),
    ("Áo dài là gì?", "Áo dài là trang phục truyền thống của Việt Nam, gồm áo dài tà và quần dài."),
    ("Cố đô Huế từng là kinh đô của triều đại nào?", "Huế là kinh đô của triều Nguyễn từ năm 1802 đến năm 1945."),
    (
        "Đồng bằng sông Cửu Long nổi tiếng về sản phẩm nông nghiệp nào?",
        "Đồng bằng sông Cửu Long nổi tiếng là vựa lúa và trái cây lớn nhất cả nước.",
    ),
    (
        "Cà phê Việt Nam được trồng nhiều ở vùng nào?",
        "Cà phê được trồng nhiều nhất ở Tây Nguyên, đặc biệt là tỉnh Đắk Lắk.",
    ),
    ("Chữ Quốc ngữ dùng bảng chữ cái nào?", "Chữ Quốc ngữ dùng bảng chữ cái Latinh với các dấu thanh."),
    ("Tiếng Việt có bao nhiêu thanh điệu?", "Tiếng Việt chuẩn có sáu thanh điệu: ngang, huyền, sắc, hỏi, ngã, nặng."),
    ("Hang Sơn Đoòng nằm ở đâu?", "Hang Sơn Đoòng nằm trong Vườn quốc gia Phong Nha - Kẻ Bàng, tỉnh Quảng Bình."),
    ("Bánh chưng thường được làm vào dịp nào?", "Bánh chưng thường được gói vào dịp Tết Nguyên Đán."),
    ("Việt Nam có đường bờ biển dài khoảng bao nhiêu?", "Đường bờ biển Việt Nam dài khoảng 3.260 ki-lô-mét."),
    ("Quốc hoa của Việt Nam thường được xem là hoa gì?", "Hoa sen thường được xem là quốc hoa của Việt Nam."),
    ("Nhạc cụ đàn bầu có mấy dây?", "Đàn bầu là nhạc cụ truyền thống chỉ có một dây."),
    (
        "Múa rối nước là loại hình nghệ thuật gì?",
        "Múa rối nước là nghệ thuật dân gian, con rối được điều khiển trên mặt nước.",
    ),
    ("Ngày Quốc khánh Việt Nam là ngày nào?", "Ngày Quốc khánh Việt Nam là ngày 2 tháng 9."),
    ("Đà Lạt nổi tiếng với đặc điểm khí hậu nào?", "Đà Lạt nổi tiếng với khí hậu mát mẻ quanh năm."),
    ("Cầu Vàng ở Đà Nẵng có gì đặc biệt?", "Cầu Vàng ở Bà Nà được đỡ bởi hai bàn tay khổng lồ bằng đá giả."),
]
SYSTEM_VI = "Bạn là trợ lý trả lời ngắn gọn, chính xác bằng tiếng Việt."

TOPICS = [
    "billing",
    "password reset",
    "shipping delay",
    "refund",
    "account upgrade",
    "invoice copy",
    "address change",
    "cancellation",
    "two-factor login",
    "data export",
]
CHANNELS = ["email", "chat", "phone", "web form"]
TONES = ["polite", "frustrated", "brief", "detailed"]


def _write(path: Path, records: list[object], raw_lines: list[bytes] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        for line in raw_lines or []:
            f.write(line + b"\n")


def nova_vi_qa() -> list[dict]:
    return [
        {
            "schemaVersion": SCHEMA,
            "system": [{"text": SYSTEM_VI}],
            "messages": [{"role": "user", "content": [{"text": q}]}, {"role": "assistant", "content": [{"text": a}]}],
        }
        for q, a in VI_QA
    ]


def openai_vi_qa() -> list[dict]:
    return [
        {
            "messages": [
                {"role": "system", "content": SYSTEM_VI},
                {"role": "user", "content": q},
                {"role": "assistant", "content": a},
            ]
        }
        for q, a in VI_QA[:12]
    ]


def titan_support() -> list[dict]:
    records = []
    for i in range(120):
        topic, channel, tone = TOPICS[i % 10], CHANNELS[(i // 10) % 4], TONES[(i // 40) % 4]
        records.append(
            {
                "prompt": f"Classify this {tone} {channel} ticket #{1000 + i} and draft a one-line reply: customer writes about {topic}.",
                "completion": f"Category: {topic}. Reply: Thanks for contacting us by {channel}; we are looking into your {topic} request (ticket #{1000 + i}).",
            }
        )
    return records


def cpt_domain() -> list[dict]:
    return [
        {
            "input": f"Runbook section {i}: when the {topic} queue exceeds its threshold, the on-call engineer checks the {channel} integration, "
            f"confirms the backlog in the dashboard, and follows escalation step {i % 3 + 1}."
        }
        for i, (topic, channel) in enumerate((t, c) for t in TOPICS for c in CHANNELS)
    ]


def distillation_prompts() -> list[dict]:
    return [
        {
            "schemaVersion": SCHEMA,
            "system": [{"text": "You are a concise support agent."}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "text": f"A {tone} customer asks via {channel} about {topic}. How should we answer? (case {i})"
                        }
                    ],
                }
            ],
        }
        for i, (topic, channel, tone) in enumerate((t, c, o) for t in TOPICS for c in CHANNELS for o in TONES[:3])
    ]


def broken() -> tuple[list[dict], list[bytes]]:
    good = nova_vi_qa()[:8]
    records: list[dict] = [
        good[0],
        {
            "schemaVersion": SCHEMA,
            "messages": [
                {"role": "user", "content": [{"text": "Xin chào"}]},
                {"role": "user", "content": [{"text": "Bạn có đó không?"}]},
            ],
        },
        {
            "schemaVersion": SCHEMA,
            "messages": [
                {"role": "user", "content": [{"text": "User: Hà Nội ở đâu?"}]},
                {"role": "assistant", "content": [{"text": "Ở miền Bắc."}]},
            ],
        },
        {
            "schemaVersion": SCHEMA,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "Mô tả ảnh này"},
                        {
                            "image": {
                                "format": "png",
                                "source": {"s3Location": {"uri": "s3://tuneforge-data/media/anh.png"}},
                            }
                        },
                    ],
                },
                {"role": "assistant", "content": [{"text": "Một con mèo."}]},
            ],
        },
        {
            "schemaVersion": SCHEMA,
            "messages": [
                {"role": "user", "content": [{"text": ""}]},
                {"role": "assistant", "content": [{"text": "Trống"}]},
            ],
        },
        {
            "schemaVersion": SCHEMA,
            "messages": [
                {"role": "user", "content": "Chuỗi thay vì danh sách"},
                {"role": "assistant", "content": [{"text": "Sai kiểu"}]},
            ],
        },
        {"prompt": "Thủ đô?", "completion": "Hà Nội"},
        good[0],
    ]
    raw = [
        b'{"schemaVersion": "bedrock-conversation-2024", "messages": [',  # truncated JSON
        b'{"prompt": "Caf\xe9 con leche", "completion": "x"}',  # a Latin-1 byte, not UTF-8
    ]
    return records, raw


# Evaluation sets: held-out questions worded differently from the training prompts, with the answer a
# good model gives. They live under evaluation/ of the data bucket (profile.evaluation.dataset_key).
def evaluation_vi_qa() -> list[dict]:
    return [
        {"prompt": f"Cho tôi hỏi: {question[0].lower()}{question[1:]}", "reference": answer}
        for question, answer in VI_QA[::2]
    ]


def evaluation_release_notes() -> list[dict]:
    return [
        {"prompt": record["prompt"].replace("Classify this", "Please classify this"), "reference": record["completion"]}
        for record in titan_support()[::12]
    ]


def evaluation_domain() -> list[dict]:
    return [
        {
            "prompt": f"What does the on-call engineer do when the {topic} queue exceeds its threshold?",
            "reference": f"The on-call engineer checks the {channel} integration, confirms the backlog in the dashboard, and follows the escalation step.",
        }
        for topic, channel in list(zip(TOPICS, CHANNELS * 3, strict=False))[:8]
    ]


def evaluation_distilled() -> list[dict]:
    return [
        {
            "prompt": f"A {tone} customer asks via {channel} about {topic}. How should we answer?",
            "reference": f"Acknowledge the {topic} request, apologise for the trouble, and give the next step and a time frame.",
        }
        for topic, channel, tone in list(zip(TOPICS, CHANNELS * 3, TONES * 3, strict=False))[:8]
    ]


# Multimodal: Vietnamese questions about small generated pictures (a coloured shape and a digit), for Nova
# Lite fine-tuning with images. PNGs are written here with zlib and struct, so nothing is downloaded and a
# rerun writes the same bytes. Training records name their images in the dev stage's data bucket (config:
# account 123456789012, us-east-1), where the folder upload puts them; the evaluation set names copies of the
# same pictures under evaluation/, so a candidate that learned a picture recognises it by its content.
DEV_DATA_BUCKET = "tuneforge-dev-data-123456789012-us-east-1"
VQA_FOLDER = "incoming/vqa-vi/hinh-hoc/"
VQA_EVALUATION_IMAGES = "evaluation/vqa-vi/images/"
COLOURS = {
    "do": ((220, 38, 38), "đỏ"),
    "xanh-la": ((22, 163, 74), "xanh lá"),
    "xanh-duong": ((37, 99, 235), "xanh dương"),
    "vang": ((234, 179, 8), "vàng"),
}
SHAPES = {"tron": "hình tròn", "vuong": "hình vuông", "tam-giac": "hình tam giác"}
PICTURES = [
    ("do", "tron", 3),
    ("xanh-duong", "vuong", 7),
    ("xanh-la", "tam-giac", 1),
    ("vang", "tron", 5),
    ("do", "vuong", 8),
    ("xanh-duong", "tam-giac", 2),
    ("xanh-la", "tron", 9),
    ("vang", "vuong", 4),
]
# 3x5 bitmaps of the digits, one string per row.
DIGITS = {
    1: ("010", "110", "010", "010", "111"),
    2: ("111", "001", "111", "100", "111"),
    3: ("111", "001", "111", "001", "111"),
    4: ("101", "101", "111", "001", "001"),
    5: ("111", "100", "111", "001", "111"),
    7: ("111", "001", "010", "010", "010"),
    8: ("111", "101", "111", "101", "111"),
    9: ("111", "101", "111", "001", "111"),
}
VQA_QUESTIONS = (
    ("Hình trong ảnh này có màu gì?", "Hình trong ảnh có màu {colour}."),
    ("Trong ảnh là hình gì?", "Trong ảnh là một {shape}."),
    ("Chữ số nào được viết trong ảnh?", "Chữ số trong ảnh là số {digit}."),
)
SYSTEM_VQA = "Bạn trả lời ngắn gọn bằng tiếng Việt về hình ảnh được gửi kèm."


def png(width: int, height: int, pixel) -> bytes:
    """An RGB PNG (ISO/IEC 15948: signature, IHDR, one IDAT of filter-0 rows, IEND) of ``pixel(x, y)``."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def picture(colour: str, shape: str, digit: int) -> bytes:
    """96x64: the shape on the left, the digit in black on the right, on white."""
    rgb = COLOURS[colour][0]
    glyph = DIGITS[digit]

    def inside(x: int, y: int) -> bool:
        if shape == "tron":
            return (x - 32) ** 2 + (y - 32) ** 2 <= 24**2
        if shape == "vuong":
            return 10 <= x < 54 and 10 <= y < 54
        return 8 <= y < 56 and abs(x - 32) <= (y - 8) // 2  # a triangle pointing up

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if inside(x, y):
            return rgb
        gx, gy = (x - 66) // 6, (y - 17) // 6
        if 0 <= gx < 3 and 0 <= gy < 5 and x >= 66 and y >= 17 and glyph[gy][gx] == "1":
            return (17, 24, 39)
        return (255, 255, 255)

    return png(96, 64, pixel)


def picture_name(colour: str, shape: str, digit: int) -> str:
    return f"{colour}-{shape}-{digit}.png"


def _vqa_answer(template: str, colour: str, shape: str, digit: int) -> str:
    return template.format(colour=COLOURS[colour][1], shape=SHAPES[shape], digit=digit)


def vqa_training() -> list[dict]:
    """Nova Lite fine-tuning with images: bedrock-conversation-2024, the image before the question."""
    return [
        {
            "schemaVersion": SCHEMA,
            "system": [{"text": SYSTEM_VQA}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "image": {
                                "format": "png",
                                "source": {
                                    "s3Location": {
                                        "uri": f"s3://{DEV_DATA_BUCKET}/{VQA_FOLDER}images/{picture_name(*p)}"
                                    }
                                },
                            }
                        },
                        {"text": question},
                    ],
                },
                {"role": "assistant", "content": [{"text": _vqa_answer(answer, *p)}]},
            ],
        }
        for p in PICTURES
        for question, answer in VQA_QUESTIONS
    ]


def vqa_evaluation() -> list[dict]:
    """Two questions per picture, worded differently from training, about copies of the same pictures."""
    return [
        {
            "prompt": f"Cho tôi hỏi: {question[0].lower()}{question[1:]}",
            "images": [f"s3://{DEV_DATA_BUCKET}/{VQA_EVALUATION_IMAGES}{picture_name(*p)}"],
            "reference": _vqa_answer(answer, *p),
        }
        for i, p in enumerate(PICTURES)
        for question, answer in (VQA_QUESTIONS[i % 3], VQA_QUESTIONS[(i + 1) % 3])
    ]


def write_vqa() -> None:
    folder = HERE / "multimodal" / "vqa-vi"
    _write(folder / "train.jsonl", vqa_training())
    (folder / "manifest.json").write_text('{"training": "train.jsonl"}\n')
    _write(HERE / "evaluation" / "vqa-vi.jsonl", vqa_evaluation())
    for target in (folder / "images", HERE / "evaluation" / "vqa-vi" / "images"):
        target.mkdir(parents=True, exist_ok=True)
        for p in PICTURES:
            (target / picture_name(*p)).write_bytes(picture(*p))


def main() -> None:
    _write(HERE / "evaluation" / "support-qa-vi.jsonl", evaluation_vi_qa())
    _write(HERE / "evaluation" / "release-notes.jsonl", evaluation_release_notes())
    _write(HERE / "evaluation" / "domain-pretrain.jsonl", evaluation_domain())
    _write(HERE / "evaluation" / "distilled-support.jsonl", evaluation_distilled())
    _write(HERE / "fine-tuning" / "nova-micro-vi-qa.jsonl", nova_vi_qa())
    _write(HERE / "fine-tuning" / "openai-chat-vi-qa.jsonl", openai_vi_qa())
    _write(HERE / "fine-tuning" / "titan-support-prompt-completion.jsonl", titan_support())
    _write(HERE / "continued-pre-training" / "titan-runbooks.jsonl", cpt_domain())
    _write(HERE / "distillation" / "support-prompts.jsonl", distillation_prompts())
    write_vqa()
    records, raw = broken()
    _write(HERE / "broken" / "nova-micro-broken.jsonl", records, raw)


if __name__ == "__main__":
    main()
