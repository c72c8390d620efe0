"""Example grader: Vietnamese arithmetic word problems with a numeric answer (profile: module: graders/vi_arithmetic.py).

The right number scores 1; a wrong number with as many digits as the answer scores 0.2 (the right size, e.g.
a slip in one digit); anything else 0. Numbers are read as the built-in numeric_tolerance grader reads them
("1.234" and "1,234" are 1234 or 1.234; "3,5" is 3.5; the last number in the response is the answer).
"""

from lambdas.domain.grader_contract import GraderMetric, GraderSample, GraderScore
from lambdas.domain.graders import numbers_in, reference_number


def grade(sample: GraderSample) -> float | GraderScore:
    expected = reference_number(sample.reference_answer)
    found = numbers_in(sample.response)
    if not expected or not found:
        return 0.0
    if any(got == want for got in found[-1] for want in expected):
        score = 1.0
    else:
        digits = {len(str(abs(n)).replace(".", "")) for n in expected}
        score = 0.2 if any(len(str(abs(n)).replace(".", "")) in digits for n in found[-1]) else 0.0
    return GraderScore(
        id=sample.id,
        aggregate_reward_score=score,
        metrics_list=[GraderMetric(name="vi_arithmetic", value=score, type="Reward")],
    )
